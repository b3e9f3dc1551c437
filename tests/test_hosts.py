"""Hosts: the host field, its assignment, and the overlap rule through the ORM."""

from datetime import timedelta

import frappe
import pytest
from frappe.desk.form import assign_to

from crm_appointments.core.exceptions import DoubleBookingError, InvalidFieldError
from tests import factories
from tests.factories import USERS, future

HOST = USERS["user"]
OTHER = USERS["manager"]


@pytest.fixture(autouse=True)
def hosts():
	factories.host("user")
	factories.host("manager")


def open_assignees(doc):
	return sorted(
		frappe.get_all(
			"ToDo",
			filters={"reference_type": doc.doctype, "reference_name": doc.name, "status": "Open"},
			pluck="allocated_to",
		)
	)


def test_setting_the_host_assigns_the_appointment_to_them():
	doc = factories.make(status="scheduled", host=HOST)
	assert open_assignees(doc) == [HOST]
	event = frappe.get_doc("Event", doc.calendar_event)
	assert ("CRM Appointment Host", HOST) in [
		(p.reference_doctype, p.reference_docname) for p in event.event_participants
	]


def test_changing_the_host_hands_the_assignment_over_and_clearing_it_cancels_it():
	doc = factories.make(status="scheduled", host=HOST)
	doc.host = OTHER
	doc.save()
	assert open_assignees(doc) == [OTHER]
	doc.host = None
	doc.save()
	assert open_assignees(doc) == []


def test_a_final_appointment_closes_its_hosts_assignment():
	doc = factories.make(status="scheduled", host=HOST)
	doc.move_to("cancelled")
	assert open_assignees(doc) == []
	assert (
		frappe.db.get_value("ToDo", {"reference_name": doc.name, "allocated_to": HOST}, "status")
		== "Cancelled"
	)


def test_assigning_a_host_in_the_sidebar_makes_them_the_host_and_removing_them_clears_it():
	doc = factories.make(status="scheduled")
	assign_to.add({"assign_to": [HOST], "doctype": doc.doctype, "name": doc.name})
	doc.reload()
	assert doc.host == HOST
	assert open_assignees(doc) == [HOST]
	assign_to.remove(doc.doctype, doc.name, HOST)
	doc.reload()
	assert doc.host is None
	assert open_assignees(doc) == []


def test_anyone_else_assigned_in_the_sidebar_is_an_extra_assignee_not_the_host():
	doc = factories.make(status="scheduled", host=HOST)
	assign_to.add({"assign_to": [OTHER], "doctype": doc.doctype, "name": doc.name})
	doc.reload()
	assert doc.host == HOST
	assert open_assignees(doc) == sorted([HOST, OTHER])
	assign_to.remove(doc.doctype, doc.name, OTHER)
	doc.reload()
	assert doc.host == HOST


def test_a_sidebar_assignment_that_would_double_book_the_host_is_refused_with_the_reason():
	start = future(days=2)
	factories.make(status="scheduled", host=HOST, scheduled_time=start)
	doc = factories.make(status="scheduled", scheduled_time=start)
	with pytest.raises(DoubleBookingError):
		assign_to.add({"assign_to": [HOST], "doctype": doc.doctype, "name": doc.name})


def test_a_host_must_be_a_host_and_enabled_to_take_new_appointments():
	with pytest.raises(InvalidFieldError) as raised:
		factories.make(status="scheduled", host=USERS["nobody"])
	assert raised.value.fieldname == "host"
	factories.host("manager", enabled=0)
	with pytest.raises(InvalidFieldError, match="disabled"):
		factories.make(status="scheduled", host=OTHER)


def test_two_live_appointments_of_one_host_cannot_overlap():
	start = future(days=2)
	factories.make(status="scheduled", host=HOST, scheduled_time=start, duration=60)
	with pytest.raises(DoubleBookingError) as raised:
		factories.make(status="confirmed", host=HOST, scheduled_time=start + timedelta(minutes=59))
	assert raised.value.fieldname == "scheduled_time"
	assert "Ada" not in str(raised.value)
	# Touching is fine; another host, a draft or a final one never clash.
	factories.make(status="scheduled", host=HOST, scheduled_time=start + timedelta(minutes=60))
	factories.make(status="scheduled", host=OTHER, scheduled_time=start)
	factories.make(status="draft", host=HOST, scheduled_time=start)


def test_reschedule_duration_host_change_and_coming_back_to_live_are_checked():
	start = future(days=2)
	factories.make(status="scheduled", host=HOST, scheduled_time=start, duration=60)
	later = factories.make(status="scheduled", host=HOST, scheduled_time=start + timedelta(hours=2))
	with pytest.raises(DoubleBookingError):
		later.reschedule(start + timedelta(minutes=30))
	later.reload()
	with pytest.raises(DoubleBookingError):
		later.reschedule(start - timedelta(minutes=30), 31)
	other = factories.make(status="scheduled", host=OTHER, scheduled_time=start)
	other.host = HOST
	with pytest.raises(DoubleBookingError):
		other.save()
	draft = factories.make(status="draft", host=HOST, scheduled_time=start)
	with pytest.raises(DoubleBookingError):
		draft.move_to("scheduled")


def test_the_buffer_counts_after_each_appointment():
	settings = frappe.get_single("CRM Appointment Settings")
	settings.buffer_minutes = 15
	settings.save()
	start = future(days=2)
	factories.make(status="scheduled", host=HOST, scheduled_time=start, duration=30)
	with pytest.raises(DoubleBookingError, match="15 minutes"):
		factories.make(status="scheduled", host=HOST, scheduled_time=start + timedelta(minutes=40))
	factories.make(status="scheduled", host=HOST, scheduled_time=start + timedelta(minutes=45))


def test_saving_notes_of_an_appointment_that_already_overlaps_is_not_refused():
	start = future(days=2)
	first = factories.make(status="scheduled", host=HOST, scheduled_time=start)
	second = factories.make(status="scheduled", host=HOST, scheduled_time=start + timedelta(hours=1))
	# Made before the rule existed: written around it.
	frappe.db.set_value(second.doctype, second.name, "scheduled_time", first.scheduled_time)
	second.reload()
	second.customer_details = "notes"
	second.save()


def test_the_weekly_summary_reads_like_a_week():
	doc = factories.host(
		"user",
		hours=[(0, "09:00", "12:00"), (0, "13:00", "17:00"), (5, "22:00", "02:00")],
		time_zone="Europe/Berlin",
	)
	assert doc.weekly_summary == "Mon 09:00\u201312:00, 13:00\u201317:00\nSat 22:00\u201302:00 (next day)"


def test_overlapping_blocks_and_a_bad_time_zone_are_refused():
	with pytest.raises(frappe.ValidationError, match="overlap"):
		factories.host("user", hours=[(0, "09:00", "12:00"), (0, "11:00", "13:00")])
	with pytest.raises(frappe.ValidationError, match="overlap"):
		factories.host("user", hours=[(6, "22:00", "03:00"), (0, "02:00", "05:00")])
	with pytest.raises(frappe.ValidationError, match="time zone"):
		factories.host("user", time_zone="Mars/Olympus")


def test_a_user_without_a_crm_role_cannot_be_a_host():
	with pytest.raises(frappe.ValidationError, match=r"desk user|CRM Appointment User"):
		factories.host("nobody")
