"""An appointment's host is one of its assignees (Frappe's *Assigned To*), kept in step with `host`.

Setting the host assigns the appointment to them (a ToDo in their list, Frappe's assignment
notification); changing it hands the assignment over; clearing it cancels it; the appointment
becoming final closes it (completed) or cancels it (cancelled, no show).

The desk sidebar's Assign To is reflected back (`reflect_sidebar_assignment`, ToDo hooks):
- assigning an enabled host to an appointment that has none makes them its host (a save of the
  appointment: the overlap rule and the user's write permission decide, and a refusal refuses the
  assignment with the same message);
- removing the host's assignment clears the host;
- anyone else assigned (a colleague helping, or someone while a host is set) is an extra assignee,
  as before hosts existed: reminders go to them too. An appointment has one host.
The host may close their own ToDo when done; that leaves them the host.

Assigning is a write: an assignment puts its assignee among those the appointment's emails go to
(the customer's name, the invitation with their address), so opening one (a ToDo made or reopened
on an appointment, or handed to someone else) needs permission to write the appointment, whichever
way it comes (the sidebar, `POST /api/resource/ToDo`, Data Import): `check_assigner_may_write`.
"""

import json

import frappe
from frappe import _
from frappe.desk.form import assign_to
from frappe.utils import escape_html

from crm_appointments.calendars import ics
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT
from crm_appointments.scheduling import host_calendars

FINAL_TODO_STATUS = {"completed": "Closed", "cancelled": "Cancelled", "no_show": "Cancelled"}


def sync(appointment, before):
	"""After a save (`before`: the document as it was, None for a new one): the host's open
	assignment is there, and nobody else's from the app."""
	old_host = before.host if before else None
	status = workflow.value_of(appointment.status)
	with app_assigning():
		if old_host and old_host != appointment.host:
			close(appointment, old_host, "Cancelled")
		if not appointment.host:
			return
		if status in FINAL_TODO_STATUS:
			close(appointment, appointment.host, FINAL_TODO_STATUS[status])
		elif old_host != appointment.host or (
			before and workflow.value_of(before.status) in FINAL_TODO_STATUS
		):
			assign_to.add(
				{
					"assign_to": [appointment.host],
					"doctype": APPOINTMENT,
					"name": appointment.name,
					"description": assignment_description(appointment),
				},
				ignore_permissions=True,
			)


def close(appointment, user: str, status: str):
	for name in frappe.get_all(
		"ToDo",
		filters={
			"reference_type": APPOINTMENT,
			"reference_name": appointment.name,
			"allocated_to": user,
			"status": "Open",
		},
		pluck="name",
	):
		todo = frappe.get_doc("ToDo", name)
		todo.status = status
		todo.save(ignore_permissions=True)


class app_assigning:
	"""While the app itself writes assignments (the ToDo hook lets them through)."""

	def __enter__(self):
		self.before = frappe.flags.crm_host_assigning
		frappe.flags.crm_host_assigning = True

	def __exit__(self, *exc):
		frappe.flags.crm_host_assigning = self.before


def reflect_sidebar_assignment(todo, method=None):
	"""ToDo after_insert and on_update: an assignment made or removed outside the Host field."""
	if todo.reference_type != APPOINTMENT or frappe.flags.crm_host_assigning:
		return
	host = frappe.db.get_value(APPOINTMENT, todo.reference_name, "host")
	if host is None and not frappe.db.exists(APPOINTMENT, todo.reference_name):
		return  # the appointment is going (deleting, uninstalling): its ToDos go with it
	before = todo.get_doc_before_save()
	opened = todo.status == "Open" and (before is None or before.status != "Open")
	removed = todo.status == "Cancelled" and before is not None and before.status != "Cancelled"
	if opened and not host and host_calendars.is_active_host(todo.allocated_to):
		set_host(todo.reference_name, todo.allocated_to)
	elif removed and todo.allocated_to == host:
		set_host(todo.reference_name, None)


def set_host(name: str, host: str | None):
	appointment = frappe.get_doc(APPOINTMENT, name)
	appointment.host = host
	appointment.save()


def check_assigner_may_write(todo, method=None):
	"""ToDo validate: opening an assignment of an appointment needs write permission on it."""
	if todo.reference_type != APPOINTMENT or frappe.flags.crm_host_assigning or todo.status != "Open":
		return
	before = todo.get_doc_before_save()
	if (
		before is not None
		and before.status == "Open"
		and (before.reference_type, before.reference_name, before.allocated_to)
		== (todo.reference_type, todo.reference_name, todo.allocated_to)
	):
		return  # an open assignment edited (its date, its note): not a new one
	if not (
		todo.reference_name
		and frappe.db.exists(APPOINTMENT, todo.reference_name)
		and frappe.has_permission(APPOINTMENT, "write", doc=todo.reference_name)
	):
		frappe.throw(
			_("You may assign only appointments you may change."),
			frappe.PermissionError,
			title=_("Not permitted"),
		)


def keep_notification_plain(notification, method=None):
	"""Notification Log before_insert: Frappe writes a document's title into a notification's subject
	as HTML, unescaped (frappe/desk/doctype/notification_log: get_title_html), and the subject is the
	body of its email. An appointment's title is its customer's name, typed by a customer: markup in it
	(a tracking pixel, a link) would be drawn in the host's desk and mail. It goes in as text."""
	if notification.document_type != APPOINTMENT or not notification.document_name:
		return
	title = frappe.db.get_value(APPOINTMENT, notification.document_name, "customer_name")
	if not title or escape_html(title) == title:
		return
	for fieldname in ("subject", "email_content"):
		value = notification.get(fieldname)
		if value and title in value:
			notification.set(fieldname, value.replace(title, escape_html(title)))


def assignment_description(appointment) -> str:
	"""What the host's assignment (and its notification) says, as text (Frappe escapes it): the
	appointment, where it takes place and the customer's answers to the booking questions."""
	lines = [ics.appointment_summary(appointment)]
	if appointment.get("location"):
		lines.append(_("Where: {0}").format(appointment.location))
	lines += [f"{item['question']}: {item['answer']}" for item in answers_of(appointment)]
	return "\n".join(lines)


def answers_of(appointment) -> list[dict]:
	"""The appointment's answers as a list (stored as JSON text)."""
	answers = appointment.get("answers")
	if isinstance(answers, str):
		answers = json.loads(answers) if answers.strip() else []
	return answers or []
