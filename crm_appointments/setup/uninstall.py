"""Uninstalling leaves the site as if the app had never been there, minus what users chose to keep.

Frappe drops the app's DocTypes and deletes what names its module (workspace, number cards, chart).
Before that, `before_uninstall` deals with every record elsewhere that points at the app's DocTypes
or their records, found from the DocTypes' meta (so records other apps add are covered too):

- the app's Events: deleted with their timeline entries; an Event a user added something to (another
  participant, a comment, an attachment) is kept as a plain Event, the appointment taken off it;
- Communications about an appointment: deleted, or, when also linked to something else (the party's
  timeline), kept with the appointment taken off; unsent reminder emails are deleted, sent ones kept
  without the reference;
- assignments, comments, versions, shares, views, follows, notifications, User Permissions, Deleted
  Documents, and any record that cannot be without the DocType it names (a report, a print format,
  a custom field, a property setter, a saved filter, a Kanban board, ...): deleted;
- child rows (timeline links, DocType links, workspace links, ...): deleted;
- any other field naming the app's DocTypes or their records: emptied; a custom Link field to them
  is deleted.

Records are removed without their hooks and without Frappe's delayed clean-up jobs, which would act
later on names Frappe may by then have given to something else.
"""

import frappe

from crm_appointments.core.names import APPOINTMENT
from crm_appointments.records.deletion import UNSENT, take_away

APP = "crm_appointments"
# Attached records that mean nothing without what they are attached to.
DELETE = {
	"ToDo",
	"Comment",
	"Version",
	"DocShare",
	"View Log",
	"Document Follow",
	"Notification Log",
	"Activity Log",
	"Access Log",
	"User Permission",
	"Deleted Document",
	"List Filter",
	"Kanban Board",
}


def our_doctypes() -> set[str]:
	modules = frappe.get_all("Module Def", {"app_name": APP}, pluck="name")
	return set(frappe.get_all("DocType", {"module": ("in", modules)}, pluck="name"))


def before_uninstall():
	ours = our_doctypes()
	for event in app_events(ours):
		remove_or_detach_event(event, ours)
	for name in frappe.get_all("Communication", {"reference_doctype": ("in", list(ours))}, pluck="name"):
		remove_or_detach_communication(name, ours)
	for row in frappe.get_all("Email Queue", {"reference_doctype": ("in", list(ours))}, ["name", "status"]):
		if row.status == UNSENT:
			take_away("Email Queue", row.name, keep_copy=False)
	frappe.db.delete("Deleted Document", {"deleted_doctype": ("in", list(ours))})
	frappe.db.delete("__UserSettings", {"doctype": ("in", list(ours))})
	frappe.db.delete("Custom DocPerm", {"parent": ("in", list(ours))})
	frappe.db.delete("Singles", {"doctype": ("in", list(ours))})  # the settings, were they kept
	frappe.db.delete("__Auth", {"doctype": ("in", list(ours))})  # Password fields (webhook secrets)
	sweep(ours)


def app_events(ours: set[str]) -> list[str]:
	return frappe.get_all(
		"Event Participants",
		{"parenttype": "Event", "reference_doctype": ("in", list(ours))},
		pluck="parent",
		distinct=True,
	)


def remove_or_detach_event(name: str, ours: set[str]):
	if not frappe.db.exists("Event", name):
		return
	if not user_added_to(name, ours):
		take_away("Event", name, keep_copy=False)
		return
	frappe.db.delete("Event Participants", {"parent": name, "reference_doctype": ("in", list(ours))})
	for communication in frappe.get_all(
		"Communication", {"reference_doctype": "Event", "reference_name": name}, pluck="name"
	):
		frappe.db.delete("Communication Link", {"parent": communication, "link_doctype": ("in", list(ours))})


def user_added_to(event: str, ours: set[str]) -> bool:
	"""Whether someone put something of their own on one of the app's Events: a participant besides
	the appointment and its party, a comment, an attachment."""
	participants = frappe.get_all(
		"Event Participants",
		{"parent": event, "parenttype": "Event"},
		["reference_doctype", "reference_docname"],
	)
	appointments = [p.reference_docname for p in participants if p.reference_doctype == APPOINTMENT]
	parties = {
		(row.appointment_with, row.party)
		for row in frappe.get_all(APPOINTMENT, {"name": ("in", appointments)}, ["appointment_with", "party"])
	}
	if any(
		p.reference_doctype not in ours and (p.reference_doctype, p.reference_docname) not in parties
		for p in participants
	):
		return True
	return bool(
		frappe.db.exists(
			"Comment", {"reference_doctype": "Event", "reference_name": event, "comment_type": "Comment"}
		)
		or frappe.db.exists("File", {"attached_to_doctype": "Event", "attached_to_name": event})
	)


def remove_or_detach_communication(name: str, ours: set[str]):
	elsewhere = frappe.db.exists(
		"Communication Link", {"parent": name, "link_doctype": ("not in", list(ours))}
	)
	if not elsewhere:
		take_away("Communication", name, keep_copy=False)
		return
	frappe.db.set_value(
		"Communication", name, {"reference_doctype": None, "reference_name": None}, update_modified=False
	)
	frappe.db.delete("Communication Link", {"parent": name, "link_doctype": ("in", list(ours))})


# -- everything else, from the meta ---------------------------------------------------------------


def pointers(ours: set[str]):
	"""(DocType, meta, field, kind) for every field on the site that can name one of `ours` (kind
	"doctype": a Link to DocType, or the field a Dynamic Link takes its DocType from) or one of their
	records (kind "record": a Link to one of them)."""
	for doctype in frappe.get_all("DocType", {"is_virtual": 0, "name": ("not in", list(ours))}, pluck="name"):
		meta = frappe.get_meta(doctype)
		seen = set()
		for field in meta.get_link_fields():
			if field.options == "DocType":
				seen.add(field.fieldname)
				yield doctype, meta, field, "doctype"
			elif field.options in ours:
				yield doctype, meta, field, "record"
		for field in meta.get_dynamic_link_fields():
			source = meta.get_field(field.options)
			if source and source.fieldname not in seen:
				seen.add(source.fieldname)
				yield doctype, meta, source, "doctype"


def sweep(ours: set[str]):
	for doctype, meta, field, kind in pointers(ours):
		if meta.issingle:
			values = {"value": ("in", list(ours))} if kind == "doctype" else {}
			frappe.db.delete("Singles", {"doctype": doctype, "field": field.fieldname, **values})
			continue
		if not frappe.db.table_exists(doctype):
			continue
		if kind == "doctype":
			names_doctype(doctype, meta, field, ours)
		else:
			names_record(doctype, meta, field)


def names_doctype(doctype, meta, field, ours: set[str]):
	"""Rows whose `field` names one of our DocTypes."""
	filters = {field.fieldname: ("in", list(ours))}
	if meta.istable:
		filters["parenttype"] = ("not in", list(ours))  # our DocTypes' own rows go with them
		frappe.db.delete(doctype, filters)
		return
	if doctype in DELETE or field.reqd:
		delete_rows(doctype, meta, filters)
		return
	# Anything else keeps the record and loses the pointer (and the record name paired with it).
	paired = [f.fieldname for f in meta.get_dynamic_link_fields() if f.options == field.fieldname]
	frappe.db.set_value(doctype, filters, dict.fromkeys([field.fieldname, *paired]), update_modified=False)


def names_record(doctype, meta, field):
	"""A Link to one of our DocTypes: emptied, and a custom field of that kind deleted."""
	frappe.db.set_value(
		doctype, {field.fieldname: ("is", "set")}, field.fieldname, None, update_modified=False
	)
	if getattr(field, "is_custom_field", False):
		for name in frappe.get_all(
			"Custom Field", {"dt": doctype, "fieldname": field.fieldname}, pluck="name"
		):
			frappe.delete_doc(
				"Custom Field", name, ignore_permissions=True, force=True, delete_permanently=True
			)


def delete_rows(doctype, meta, filters):
	"""Delete the matching records and their child rows, in bulk (versions can be many)."""
	names = frappe.get_all(doctype, filters, pluck="name")
	for start in range(0, len(names), 1000):
		chunk = names[start : start + 1000]
		for table in meta.get_table_fields():
			frappe.db.delete(table.options, {"parenttype": doctype, "parent": ("in", chunk)})
		frappe.db.delete(doctype, {"name": ("in", chunk)})
