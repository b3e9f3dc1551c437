"""What goes with an appointment when it is deleted, and comes back when it is restored.

Deleting an appointment moves the records attached to it into Frappe's Deleted Document beside it:
its reminder rows, its Communications (the reminder and cancellation emails), assignments (ToDo),
comments, versions and shares, the reminder emails still waiting in the Email Queue, and its Event
with the Event's own timeline entries. They leave without running their own delete hooks and without
Frappe's delayed clean-up job, so nothing acts later on a name that might by then belong to something
else. User Permissions that name the appointment stay as they are: the user stays narrowed to it
(a permission naming a deleted appointment grants nothing), and it is in force again on restore.

Restoring the appointment from Deleted Document keeps its id and brings these records back under
their own names; what cannot come back (a name taken meanwhile, an unsent reminder whose moment has
passed) is said in a message, and its copy stays in Deleted Document.
"""

import json

import frappe
from frappe import _
from frappe.model.delete_doc import add_to_deleted_document, delete_from_table
from frappe.utils import get_datetime, now_datetime

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT as DOCTYPE
from crm_appointments.core.names import REMINDER

# What is attached to a record of any DocType: (DocType, field naming the DocType, field naming the record).
ATTACHED = (
	("Communication", "reference_doctype", "reference_name"),
	("ToDo", "reference_type", "reference_name"),
	("Comment", "reference_doctype", "reference_name"),
	("Version", "ref_doctype", "docname"),
	("DocShare", "share_doctype", "share_name"),
)
UNSENT = "Not Sent"  # an Email Queue row not sent yet


def attached_to(doctype: str, name: str) -> list[tuple[str, str]]:
	"""The (DocType, name) of every record attached to this one."""
	found = []
	if doctype == DOCTYPE:
		found += [(REMINDER, n) for n in frappe.get_all(REMINDER, {"appointment": name}, pluck="name")]
		found += [
			("Email Queue", n)
			for n in frappe.get_all(
				"Email Queue",
				{"reference_doctype": doctype, "reference_name": name, "status": UNSENT},
				pluck="name",
			)
		]
	for kind, doctype_field, name_field in ATTACHED:
		rows = frappe.get_all(kind, {doctype_field: doctype, name_field: name}, pluck="name")
		found += [(kind, n) for n in rows]
	return found


def take_away(doctype: str, name: str, keep_copy: bool = True):
	"""Remove a record, its child rows and what is attached to it, without running their hooks;
	with `keep_copy`, each goes to Deleted Document first."""
	for kind, attached in attached_to(doctype, name):
		take_away(kind, attached, keep_copy)
	if not frappe.db.exists(doctype, name):
		return
	doc = frappe.get_doc(doctype, name)
	if keep_copy:
		add_to_deleted_document(doc)
	delete_from_table(doctype, name, [], doc)
	if doctype == "Communication":
		frappe.db.delete("Communication Link", {"parent": name, "parenttype": "Communication"})


def stash(appointment):
	"""The appointment is being deleted: move what is attached to it into Deleted Document."""
	for kind, name in attached_to(DOCTYPE, appointment.name):
		take_away(kind, name)


# -- User Permissions: kept through the delete ----------------------------------------------------


def set_user_permissions_aside(appointment):
	"""Frappe refuses to delete a record a User Permission names. Take them out of the table for the
	moment of the delete (in the same transaction) and put them back after: they stay as they were."""
	names = frappe.get_all("User Permission", {"allow": DOCTYPE, "for_value": appointment.name}, pluck="name")
	appointment.flags.user_permissions = [frappe.get_doc("User Permission", n) for n in names]
	for name in names:
		frappe.db.delete("User Permission", {"name": name})


def put_user_permissions_back(appointment):
	for permission in appointment.flags.user_permissions or []:
		permission.db_insert()


# -- restoring -----------------------------------------------------------------------------------


def deleted_copy(doc) -> str | None:
	"""The Deleted Document `doc` is being restored from (Frappe's restore inserts its data as it
	was kept, id included), or None for a new appointment."""
	if not doc.name or frappe.db.exists(DOCTYPE, doc.name):
		return None
	for row in frappe.get_all(
		"Deleted Document",
		{"deleted_doctype": DOCTYPE, "deleted_name": doc.name, "restored": 0},
		["name", "data"],
		order_by="creation desc",
	):
		kept = json.loads(row.data)
		if all(kept.get(f) == doc.get(f) for f in ("customer_email", "customer_name", "status")):
			return row.name
	return None


def kept_copies(kinds: list[str], mentioning: str) -> list[tuple[str, dict]]:
	"""Unrestored Deleted Documents of these DocTypes whose data mentions `mentioning`."""
	rows = frappe.get_all(
		"Deleted Document",
		filters={
			"deleted_doctype": ("in", kinds),
			"restored": 0,
			# Names here are the app's (letters, digits, _ and -); belongs_to then checks the fields.
			"data": ("like", f"%{mentioning}%"),
		},
		fields=["name", "data"],
		order_by="creation asc",
	)
	return [(row.name, json.loads(row.data)) for row in rows]


def belongs_to(data: dict, doctype: str, name: str) -> bool:
	if data.get("doctype") == REMINDER:
		return doctype == DOCTYPE and data.get("appointment") == name
	if data.get("doctype") == "Email Queue":
		return data.get("reference_doctype") == doctype and data.get("reference_name") == name
	for kind, doctype_field, name_field in ATTACHED:
		if data.get("doctype") == kind:
			return data.get(doctype_field) == doctype and data.get(name_field) == name
	return False


def bring_back(row: str, data: dict, not_restored: list[str]) -> bool:
	"""Insert a kept copy as it was, under its own name; False (and a line for the message) when that
	name is taken."""
	doc = frappe.get_doc(data)
	if frappe.db.exists(doc.doctype, doc.name):
		not_restored.append(
			_("{0} {1}: the name is taken by another record").format(_(doc.doctype), doc.name)
		)
		return False
	doc.db_insert()
	for child in doc.get_all_children():
		child.db_insert()
	frappe.db.set_value("Deleted Document", row, {"restored": 1, "new_name": doc.name}, update_modified=False)
	return True


def restore_attached(doctype: str, name: str, not_restored: list[str], appointment=None):
	kinds = [kind for kind, _f, _n in ATTACHED] + ([REMINDER, "Email Queue"] if doctype == DOCTYPE else [])
	for row, data in kept_copies(kinds, name):
		if not belongs_to(data, doctype, name):
			continue
		if data["doctype"] == "Email Queue" and not still_ahead(appointment):
			not_restored.append(
				_(
					"Email Queue {0}: a reminder that was not sent before the delete, and the appointment is no longer ahead"
				).format(data["name"])
			)
			continue
		if bring_back(row, data, not_restored):
			restore_attached(data["doctype"], data["name"], not_restored)


def still_ahead(appointment) -> bool:
	return bool(
		appointment
		and workflow.value_of(appointment.status) in workflow.LIVE
		and get_datetime(appointment.scheduled_time) > now_datetime()
	)


def restore(appointment, event: str | None) -> list[str]:
	"""Bring back what was attached to a restored appointment, and its Event (`event`: the name it had).
	Returns what could not come back, one line each."""
	not_restored = []
	if event:
		copies = [(row, data) for row, data in kept_copies(["Event"], event) if data.get("name") == event]
		if copies and bring_back(*copies[-1], not_restored):
			restore_attached("Event", event, not_restored)
			appointment.db_set("calendar_event", event, update_modified=False)
		elif not copies:
			not_restored.append(_("Event {0}: no copy of it was kept").format(event))
	restore_attached(DOCTYPE, appointment.name, not_restored, appointment)
	return not_restored
