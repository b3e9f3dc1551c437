"""The Frappe Event kept in step with each appointment."""

from datetime import timedelta

import frappe
import pytest
from frappe.desk.form.load import get_communication_data
from frappe.utils import get_datetime

from crm_appointments.patches.v0_4 import party_timeline_entries
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


def party_contact(email="party@example.org"):
	return frappe.get_doc(
		{"doctype": "Contact", "first_name": "Party", "email_ids": [{"email_id": email, "is_primary": 1}]}
	).insert()


def timeline_of(doctype, name):
	"""What a page shows in its timeline, as the desk loads it (for whoever may read the page)."""
	return [(c.reference_doctype, c.reference_name) for c in get_communication_data(doctype, name)]


def participants_of(doc):
	return sorted((p.reference_doctype, p.reference_docname) for p in event_of(doc).event_participants)


def test_the_party_is_a_participant_whose_page_shows_nothing_of_the_appointment():
	"""Frappe writes the Event's timeline entry (its time and description) on the party Contact's
	page, for every reader of the Contact; the app takes it off again after each save of the Event."""
	contact = party_contact()
	doc = make(status="scheduled", appointment_with="Contact", party=contact.name)
	assert participants_of(doc) == [("CRM Appointment", doc.name), ("Contact", contact.name)]
	assert timeline_of("Contact", contact.name) == []
	assert ("Event", doc.calendar_event) in timeline_of("CRM Appointment", doc.name)
	doc.reschedule(future(days=12))  # the Event is saved again
	assert timeline_of("Contact", contact.name) == []
	doc.move_to("cancelled")
	assert timeline_of("Contact", contact.name) == []
	assert ("Event", doc.calendar_event) in timeline_of("CRM Appointment", doc.name)


def test_a_participant_added_by_hand_stays_when_the_app_updates_the_event():
	party, new_party, guest = (party_contact(f"{who}@example.org") for who in ("party", "new", "guest"))
	doc = make(status="scheduled", appointment_with="Contact", party=party.name)
	event = event_of(doc)
	event.add_participant("Contact", guest.name)
	event.save(ignore_permissions=True)
	doc.reload()
	doc.party = new_party.name
	doc.scheduled_time = future(days=11)
	doc.save()
	assert participants_of(doc) == sorted(
		[("CRM Appointment", doc.name), ("Contact", new_party.name), ("Contact", guest.name)]
	)
	assert get_datetime(event_of(doc).starts_on) == get_datetime(doc.scheduled_time)
	# Who was added by hand keeps the entry Frappe writes; the party's page shows none.
	assert ("Event", event.name) in timeline_of("Contact", guest.name)
	assert timeline_of("Contact", new_party.name) == []


def test_the_patch_takes_the_entries_made_before_off_the_partys_page():
	contact, guest = party_contact(), party_contact("guest@example.org")
	doc = make(status="scheduled", appointment_with="Contact", party=contact.name)
	event = event_of(doc)
	event.add_participant("Contact", guest.name)
	event.save(ignore_permissions=True)
	# As Frappe wrote it before the app took it off (its own method, without the Event's hooks).
	event.create_communication(
		next(p for p in event.event_participants if p.reference_docname == contact.name)
	)
	assert ("Event", event.name) in timeline_of("Contact", contact.name)

	party_timeline_entries.execute()

	assert timeline_of("Contact", contact.name) == []
	assert ("Event", event.name) in timeline_of("Contact", guest.name)
	assert ("Event", event.name) in timeline_of("CRM Appointment", doc.name)
	assert participants_of(doc) == sorted(
		[("CRM Appointment", doc.name), ("Contact", contact.name), ("Contact", guest.name)]
	)


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
	from crm_appointments.core.exceptions import InvalidFieldError

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
