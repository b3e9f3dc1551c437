"""An appointment's host is its assignee: Frappe's *Assigned To*, kept in step with `host`.

Setting the host assigns the appointment to them (a ToDo in their list, Frappe's assignment
notification); changing it hands the assignment over; clearing it cancels it; the appointment
becoming final closes it (completed) or cancels it (cancelled, no show).

The desk sidebar's Assign To works on ToDos directly, past the appointment's rules, and may assign
several users at once: for an appointment it is refused with a message pointing at the Host field
(`refuse_direct_assignment`, a ToDo hook). The host's own ToDo may still be closed by them when done.
"""

import frappe
from frappe import _
from frappe.desk.form import assign_to

from crm_appointments import ics
from crm_appointments.crm_appointments import status_workflow as workflow
from crm_appointments.doctypes import APPOINTMENT

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
					"description": ics.appointment_summary(appointment),
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


def refuse_direct_assignment(todo, method=None):
	"""ToDo validate: an appointment's assignment is its host's, set through the Host field."""
	if todo.reference_type != APPOINTMENT or frappe.flags.crm_host_assigning:
		return
	host = frappe.db.get_value(APPOINTMENT, todo.reference_name, "host")
	if host is None and not frappe.db.exists(APPOINTMENT, todo.reference_name):
		return  # the appointment is going (deleting, uninstalling): its ToDos go with it
	before = todo.get_doc_before_save()
	if todo.status == "Open" and todo.allocated_to != host and (not before or before.status != "Open"):
		message = _("An appointment is assigned to its host. Set the Host field on the appointment instead.")
	elif todo.status == "Cancelled" and todo.allocated_to == host and before and before.status != "Cancelled":
		message = _(
			"{0} is this appointment's host. Change or clear the Host field on the appointment instead."
		).format(frappe.bold(host))
	else:
		return
	frappe.throw(message, title=_("Assign through the Host field"))
