"""Who may be put on an appointment's mail: an assignment is a write, its assignees get the reminder
and cancellation emails (the customer's name, the invitation with their address), so opening one
needs permission to write the appointment, and mail goes only to users who may read it. What the app
puts into the host's notifications is text. As the desk user with no CRM role who would try it, over
the live server, and as the staff who assign."""

import json

import frappe
import pytest
import requests
from frappe.desk.form import assign_to

from crm_appointments.core.names import APPOINTMENT
from crm_appointments.notify import emails as appointment_mail
from tests import factories
from tests.factories import OUTSIDER, USERS

pytestmark = pytest.mark.slow


@pytest.fixture
def appointment(committed):
	doc = factories.make(status="scheduled", customer_name="Ada Lovelace", customer_email="ada@example.com")
	frappe.db.commit()
	return doc


def assignees(name: str) -> list[str]:
	frappe.db.rollback()
	return json.loads(frappe.db.get_value(APPOINTMENT, name, "_assign") or "[]")


def test_a_desk_user_without_a_crm_role_cannot_assign_themself_an_appointment(appointment, live_server):
	response = requests.post(
		f"{live_server}/api/resource/ToDo",
		json={
			"allocated_to": OUTSIDER,
			"reference_type": APPOINTMENT,
			"reference_name": appointment.name,
			"description": "mine now",
		},
		headers={"Authorization": factories.frappe_token(OUTSIDER)},
		timeout=30,
	)

	assert response.status_code == 403, response.text[:300]
	assert OUTSIDER not in assignees(appointment.name)
	assert not frappe.db.exists("ToDo", {"reference_name": appointment.name, "allocated_to": OUTSIDER})
	assert OUTSIDER not in " ".join(
		appointment_mail.recipients(frappe.get_doc(APPOINTMENT, appointment.name))
	)


def test_nor_through_frappes_assign_to_which_asks_only_for_read(appointment, as_user):
	frappe.share.add(APPOINTMENT, appointment.name, OUTSIDER, read=1)  # may read, not write
	frappe.set_user(OUTSIDER)
	with pytest.raises(frappe.PermissionError):
		assign_to.add({"assign_to": [OUTSIDER], "doctype": APPOINTMENT, "name": appointment.name})


def test_a_crm_user_may_assign_a_colleague_who_then_gets_the_reminders(appointment, as_user):
	as_user("user")
	assign_to.add({"assign_to": [USERS["manager"]], "doctype": APPOINTMENT, "name": appointment.name})
	frappe.set_user("Administrator")
	doc = frappe.get_doc(APPOINTMENT, appointment.name)
	assert USERS["manager"] in json.loads(doc._assign)
	assert USERS["manager"] in appointment_mail.recipients(doc)


def test_mail_goes_only_to_assignees_who_may_read_the_appointment(appointment):
	"""An assignment made before the rule (or written around it) puts nobody on the mail who may not
	read the appointment."""
	frappe.db.set_value(APPOINTMENT, appointment.name, "_assign", json.dumps([OUTSIDER, USERS["user"]]))
	doc = frappe.get_doc(APPOINTMENT, appointment.name)

	to = appointment_mail.recipients(doc)

	assert USERS["user"] in to and OUTSIDER not in to
	assert "ada@example.com" in to


def test_closing_ones_own_assignment_needs_no_write_permission(appointment, as_user):
	"""Only opening an assignment is refused; the assignee may still close theirs."""
	factories.host("user")
	doc = frappe.get_doc(APPOINTMENT, appointment.name)
	doc.host = USERS["user"]
	doc.save()
	todo = frappe.get_doc(
		"ToDo", {"reference_name": doc.name, "allocated_to": USERS["user"], "status": "Open"}
	)
	frappe.get_doc("User", USERS["user"]).remove_roles("CRM Appointment User")
	try:
		as_user("user")
		todo.status = "Closed"
		todo.save(ignore_permissions=True)
	finally:
		frappe.set_user("Administrator")
		frappe.get_doc("User", USERS["user"]).add_roles("CRM Appointment User")


def test_the_hosts_notification_shows_the_customers_markup_as_text(committed):
	factories.host("user")
	frappe.flags.in_test = True  # Frappe makes the notification now, not in a background job
	try:
		doc = factories.make(
			status="scheduled",
			customer_name='Eve <img src="https://tracker.example/p.gif"> <a href="https://evil.example">pay</a>',
			host=USERS["user"],
		)
	finally:
		frappe.flags.in_test = False
	notification = frappe.get_last_doc(
		"Notification Log", filters={"document_type": APPOINTMENT, "document_name": doc.name}
	)

	for text in (notification.subject, notification.email_content or ""):
		assert "<img" not in text and "<a href" not in text, text
	assert "&lt;img src=&quot;https://tracker.example/p.gif&quot;&gt;" in notification.subject
