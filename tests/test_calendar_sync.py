"""The Frappe Event kept in step with each appointment."""

from datetime import timedelta

import frappe
import pytest
from frappe.utils import get_datetime

from tests.factories import USERS, future, let_time_pass, make, stored


def event_of(doc):
	name = stored(doc, "calendar_event")
	return frappe.get_doc("Event", name) if name else None


def test_a_draft_has_no_event():
	assert event_of(make(status="draft")) is None


@pytest.mark.parametrize("status", ["scheduled", "confirmed"])
def test_a_live_appointment_gets_an_event_from_its_start_and_duration(status):
	start = future(days=2)
	doc = make(status=status, scheduled_time=start, duration=45)
	event = event_of(doc)
	assert (get_datetime(event.starts_on), get_datetime(event.ends_on)) == (
		start,
		start + timedelta(minutes=45),
	)
	assert event.status == "Open"
	assert ("CRM Appointment", doc.name) in [
		(p.reference_doctype, p.reference_docname) for p in event.event_participants
	]


def test_scheduling_a_draft_creates_the_event():
	doc = make(status="draft")
	doc.status = "scheduled"
	doc.save()
	assert event_of(doc) is not None


def test_the_party_is_a_participant():
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": "Party",
			"email_ids": [{"email_id": "party@example.org", "is_primary": 1}],
		}
	).insert()
	doc = make(status="scheduled", appointment_with="Contact", party=contact.name)
	participants = [(p.reference_doctype, p.reference_docname) for p in event_of(doc).event_participants]
	assert ("Contact", contact.name) in participants


def test_rescheduling_moves_the_event():
	doc = make(status="scheduled")
	event = event_of(doc)
	new_start = future(days=9)
	doc.scheduled_time = new_start
	doc.save()
	moved = event_of(doc)
	assert moved.name == event.name
	assert get_datetime(moved.starts_on) == new_start


@pytest.mark.parametrize(
	("status", "event_status"),
	[("cancelled", "Cancelled"), ("no_show", "Cancelled"), ("completed", "Closed")],
)
def test_closing_the_appointment_closes_or_cancels_the_event(status, event_status):
	doc = make(status="scheduled")
	if status != "cancelled":
		let_time_pass(doc)
	doc.status = status
	doc.save()
	assert event_of(doc).status == event_status


def test_deleting_the_appointment_deletes_the_event():
	doc = make(status="scheduled")
	event = stored(doc, "calendar_event")
	frappe.delete_doc("CRM Appointment", doc.name)
	assert not frappe.db.exists("Event", event)


def test_the_event_is_the_apps_to_set():
	doc = make(status="scheduled")
	other = frappe.get_doc({"doctype": "Event", "subject": "Other", "starts_on": future()}).insert()
	doc.calendar_event = other.name
	from crm_appointments.exceptions import InvalidFieldError

	with pytest.raises(InvalidFieldError):
		doc.save()


@pytest.fixture
def event_rights_for_system_managers_only():
	"""Event's permissions as a site can set them in Role Permissions Manager (Custom DocPerm): only
	System Managers, so the `All` role, which every user has, gives none."""
	frappe.get_doc(
		{
			"doctype": "Custom DocPerm",
			"parent": "Event",
			"parenttype": "DocType",
			"parentfield": "permissions",
			"role": "System Manager",
			"permlevel": 0,
			**{right: 1 for right in ("read", "write", "create", "delete")},
		}
	).insert(ignore_permissions=True)
	frappe.clear_cache(doctype="Event")
	yield
	frappe.db.rollback()
	frappe.clear_cache(doctype="Event")


def test_a_user_without_event_permissions_still_gets_the_event(
	event_rights_for_system_managers_only, as_user
):
	user = USERS["user"]
	assert not any(frappe.has_permission("Event", right, user=user) for right in ("read", "create", "write"))
	as_user("user")
	doc = make(status="scheduled")
	doc.scheduled_time = future(days=5)
	doc.save()
	frappe.set_user("Administrator")
	assert get_datetime(event_of(doc).starts_on) == get_datetime(doc.scheduled_time)
