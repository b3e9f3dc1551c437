"""schemathesis against the booking operations of the served OpenAPI document, as a guest and as
staff, on the live server: every answer must be one the document describes."""

import os

import frappe
import pytest
from frappe.installer import update_site_config

from tests import factories
from tests.test_api_live import schemathesis

pytestmark = pytest.mark.slow

BOOKING_PATHS = "^/api/crm/(bookings|slots|appointment_types)"


@pytest.fixture
def open_booking(committed):
	factories.host("user", hours=[(d, "09:00", "17:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	# Generous limits while schemathesis runs, so it explores more than 429s (which it also meets).
	update_site_config(
		"crm_booking_rate_limits",
		{
			scope: [100000, 60]
			for scope in (
				"slots",
				"bookings",
				"manage",
				"bookings_per_email",
				"emails_per_address",
				"moves_per_token",
			)
		},
	)
	try:
		with factories.booking_settings(enable_public_booking=1, booking_duration=60):
			yield
	finally:
		update_site_config("crm_booking_rate_limits", "None")


def run(live_server, key, *args):
	output = schemathesis(
		live_server,
		key,
		"--include-path-regex",
		BOOKING_PATHS,
		"--phases",
		"examples,coverage,fuzzing",
		"--max-examples",
		os.environ.get("CRM_SCHEMATHESIS_EXAMPLES", "25"),
		*args,
	)
	print(output[-2500:])
	# The five booking operations were run, no other.
	assert "6 selected" in output or "6 total" in output, output[-2500:]
	return output


def test_schemathesis_finds_nothing_in_the_booking_operations_as_a_guest(
	api, keys, live_server, open_booking
):
	run(live_server, None)


def test_schemathesis_finds_nothing_in_the_booking_operations_as_staff(api, keys, live_server, open_booking):
	run(live_server, keys["manager"])
