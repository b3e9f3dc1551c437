"""Deleting an appointment works whatever is attached to it, over the API and from the desk, in every
status; Frappe's Deleted Document keeps it, and restoring it brings back what belonged to it."""

import json
import re

import frappe
import pytest
from frappe.core.doctype.deleted_document.deleted_document import restore
from frappe.utils import get_datetime, now_datetime

from crm_appointments.core import status_workflow as workflow
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.notify import reminders
from crm_appointments.rest import idempotency
from tests import factories
from tests.factories import USERS, make_contact

URL = "/api/crm/appointment"
DT = "CRM Appointment"
PASSWORD = "Pytest-Passw0rd!"


@pytest.fixture
def party(committed):
	name = make_contact("Delete", "Party", "delete-party@example.org")
	yield name
	frappe.db.rollback()
	since = {"creation": (">=", committed)}
	for doctype in ("ToDo", "DocShare", "User Permission", "Email Queue", "Deleted Document"):
		frappe.db.delete(doctype, since)
	frappe.db.delete("Deleted Document", {"deleted_doctype": DT})  # restored ones included
	frappe.db.delete("Comment", {**since, "reference_doctype": ("in", [DT, "Event", "Contact"])})
	frappe.db.delete("Communication", {**since, "communication_medium": ("in", ["Email", "Meeting"])})
	frappe.db.commit()
	frappe.delete_doc("Contact", name, force=True, ignore_permissions=True)
	frappe.db.commit()


def attach_everything(doc):
	"""What the app, its users and its API attach to an appointment: a reminder (its row, its email's
	Communication and Email Queue entry), an assignment, a comment, a share, a User Permission and an
	idempotency record."""
	now = now_datetime()
	row = reminders.claim(doc.name, 1440, doc.scheduled_time, now)
	email_queue, recipients = appointment_mail.send_reminder(doc, 1440)
	assert email_queue
	frappe.db.set_value(
		reminders.REMINDER, row, {"email_queue": email_queue, "recipients": ", ".join(recipients)}
	)
	from frappe.desk.form.assign_to import add as assign

	assign({"assign_to": [USERS["manager"]], "doctype": DT, "name": doc.name, "description": "Call"})
	doc.add_comment("Comment", "A note to keep")
	frappe.share.add(DT, doc.name, USERS["nobody"], read=1, notify=0)
	frappe.get_doc(
		{"doctype": "User Permission", "user": USERS["user"], "allow": DT, "for_value": doc.name}
	).insert(ignore_permissions=True)
	claim, _ = idempotency.claim(f"delete-test-{doc.name}", "fingerprint")
	idempotency.finish(claim, 200, json.dumps({"id": doc.name}))
	frappe.db.commit()
	return row, email_queue


def attached(name):
	return {
		"reminders": frappe.db.count(reminders.REMINDER, {"appointment": name}),
		"communications": frappe.db.count("Communication", {"reference_doctype": DT, "reference_name": name}),
		"todos": frappe.db.count("ToDo", {"reference_type": DT, "reference_name": name}),
		"comments": frappe.db.count(
			"Comment", {"reference_doctype": DT, "reference_name": name, "comment_type": "Comment"}
		),
		"shares": frappe.db.count("DocShare", {"share_doctype": DT, "share_name": name}),
		"unsent emails": frappe.db.count(
			"Email Queue", {"reference_doctype": DT, "reference_name": name, "status": "Not Sent"}
		),
	}


def manager_session(api):
	from frappe.utils.password import update_password

	update_password(USERS["manager"], PASSWORD)
	frappe.db.commit()
	login = api.post("/api/method/login", json={"usr": USERS["manager"], "pwd": PASSWORD})
	assert login.status_code == 200, login.get_data(as_text=True)
	cookie = {"Cookie": f"sid={re.search(r'sid=([^;]+)', login.headers['Set-Cookie']).group(1)}"}
	desk = api.get("/app", headers=cookie)
	csrf = re.search(r'csrf_token = "([^"]+)"', desk.get_data(as_text=True)).group(1)
	return {**cookie, "X-Frappe-CSRF-Token": csrf}


def delete_over(path, api, keys, name):
	if path == "api":
		response = api.delete(f"{URL}/{name}", key=keys["manager"])
		assert response.status_code == 200, response.get_data(as_text=True)
		assert response.get_json() == {"id": name, "deleted": True}
		return
	headers = manager_session(api)
	if path == "desk form":
		response = api.post(
			"/api/method/frappe.client.delete", headers=headers, json={"doctype": DT, "name": name}
		)
	else:  # the list view's bulk delete
		response = api.post(
			"/api/method/frappe.desk.reportview.delete_items",
			headers=headers,
			json={"doctype": DT, "items": json.dumps([name])},
		)
	assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["api", "desk form", "desk list"])
@pytest.mark.parametrize("status", workflow.VALUES)
def test_an_appointment_with_everything_attached_is_deleted_and_restored_with_it(
	api, keys, party, status, path
):
	doc = factories.in_status(status, appointment_with="Contact", party=party)
	row, email_queue = attach_everything(doc)
	event = doc.calendar_event
	before = attached(doc.name)
	assert all(before.values()), before

	delete_over(path, api, keys, doc.name)

	assert not frappe.db.exists(DT, doc.name)
	assert not any(attached(doc.name).values())
	assert not frappe.db.exists(
		"Email Queue", email_queue
	)  # a reminder for a deleted appointment stays unsent
	if event:
		assert not frappe.db.exists("Event", event)
		assert not frappe.db.exists("Communication", {"reference_doctype": "Event", "reference_name": event})
	# The User Permission stays: the user stays narrowed (to nothing, while it is deleted).
	assert frappe.db.exists("User Permission", {"allow": DT, "for_value": doc.name})
	deleted = frappe.db.get_value("Deleted Document", {"deleted_doctype": DT, "deleted_name": doc.name})
	assert deleted

	frappe.set_user(USERS["manager"])
	frappe.clear_messages()
	restore(deleted)
	messages = list(frappe.message_log)
	frappe.db.commit()
	frappe.set_user("Administrator")

	back = frappe.get_doc(DT, doc.name)
	assert (back.status, back.owner, back.party) == (doc.status, doc.owner, party)
	assert get_datetime(back.creation) == get_datetime(doc.creation)
	assert attached(doc.name) == {
		**before,
		# An unsent reminder comes back only while the appointment is still ahead; else the message says so.
		"unsent emails": 1 if status in workflow.LIVE else 0,
	}
	assert frappe.db.get_value(reminders.REMINDER, row, "email_queue") == email_queue
	if status not in workflow.LIVE:
		assert "Email Queue" in " ".join(str(m) for m in messages)
	assert back.calendar_event == event
	if event:
		participants = frappe.get_all(
			"Event Participants", {"parent": event}, ["reference_doctype", "reference_docname"]
		)
		assert {(p.reference_doctype, p.reference_docname) for p in participants} == {
			(DT, doc.name),
			("Contact", party),
		}
		assert frappe.db.exists("Communication", {"reference_doctype": "Event", "reference_name": event})
	frappe.set_user(USERS["user"])
	assert frappe.has_permission(DT, "read", doc=doc.name)
	assert frappe.get_list(DT, pluck="name") == [doc.name]  # still narrowed by the User Permission
