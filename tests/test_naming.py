"""Appointment ids: `appointment_` and a random lowercase alphanumeric part, unguessable, never reused."""

import re

import frappe

from crm_appointments.crm_appointments.doctype.crm_appointment import crm_appointment as controller
from tests.factories import appointment, make

ID_PATTERN = re.compile(r"^appointment_[a-z0-9]{12,}$")


def test_an_appointment_is_named_appointment_and_a_random_part():
	assert ID_PATTERN.match(make().name)


def test_names_do_not_repeat_and_do_not_follow_a_sequence():
	names = [make(customer_email=f"n{i}@example.com").name for i in range(30)]
	assert len(set(names)) == len(names)
	assert names != sorted(names)


def test_a_name_given_by_the_caller_is_not_used():
	doc = appointment(name="appointment_chosen_by_me").insert()
	assert doc.name != "appointment_chosen_by_me"
	assert ID_PATTERN.match(doc.name)


def test_a_deleted_appointments_name_stays_out_of_use(monkeypatch):
	doc = make()
	name = doc.name
	frappe.delete_doc("CRM Appointment", name)
	assert frappe.db.exists("Deleted Document", {"deleted_doctype": "CRM Appointment", "deleted_name": name})
	# Force the collision the random part makes all but impossible: the deleted name is drawn first.
	fresh = "appointment_" + "z" * 16
	drawn = iter([name, fresh])
	monkeypatch.setattr(controller, "new_appointment_id", lambda: next(drawn))
	assert make().name == fresh


def test_a_live_appointments_name_is_never_drawn_twice(monkeypatch):
	taken = make().name
	fresh = "appointment_" + "y" * 16
	drawn = iter([taken, fresh])
	monkeypatch.setattr(controller, "new_appointment_id", lambda: next(drawn))
	assert make().name == fresh
