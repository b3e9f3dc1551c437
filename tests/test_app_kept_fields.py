"""The fields that only the app writes stay the app's on every save: a CRM User cannot plant a manage
token's hash (which would let anyone with the planted token manage the booking as a guest, even after
that user is gone) nor set the invitation's SEQUENCE. Over the live server through Frappe's own
/api/resource, as the staff member who would try, and in the ORM."""

import hashlib

import frappe
import pytest
import requests

from crm_appointments.booking import manage_links
from tests import factories
from tests.test_api_bookings import base, booked, guest, open_booking  # noqa: F401

pytestmark = pytest.mark.slow

PLANTED = "planted-token-" + "x" * 40


def test_a_crm_user_cannot_plant_a_manage_token_or_set_the_sequence_through_api_resource(booked, live_server):  # noqa: F811
	name, token = booked
	before = frappe.db.get_value(
		"CRM Appointment", name, ["manage_token_hash", "calendar_sequence"], as_dict=True
	)

	response = requests.put(
		f"{live_server}/api/resource/CRM Appointment/{name}",
		json={
			"manage_token_hash": hashlib.sha256(PLANTED.encode()).hexdigest(),
			"calendar_sequence": 99,
			"customer_details": "edited",
		},
		headers={"Authorization": factories.frappe_token("user")},
		timeout=30,
	)

	assert response.status_code == 200, response.text[:300]  # the rest of the save goes through
	frappe.db.rollback()
	after = frappe.db.get_value(
		"CRM Appointment", name, ["manage_token_hash", "calendar_sequence", "customer_details"], as_dict=True
	)
	assert (after.manage_token_hash, after.calendar_sequence) == (
		before.manage_token_hash,
		before.calendar_sequence,
	)
	assert after.customer_details == "edited"
	assert guest().get(f"{live_server}/api/crm/bookings/{PLANTED}", timeout=30).status_code == 404
	assert guest().get(f"{live_server}/api/crm/bookings/{token}", timeout=30).status_code == 200


def test_a_new_appointment_gets_no_manage_token_but_from_a_booking():
	doc = factories.make(
		status="scheduled", manage_token_hash=manage_links.token_hash(PLANTED), calendar_sequence=7
	)
	assert doc.manage_token_hash is None and doc.calendar_sequence == 0
	assert manage_links.find(PLANTED) is None


def test_the_sequence_still_rises_with_each_reschedule():
	doc = factories.make(status="scheduled")
	doc.calendar_sequence = 40
	doc.reschedule(str(factories.future(days=2)))
	assert doc.calendar_sequence == 1
