"""The public routes' limits hold against a client that writes its own X-Forwarded-For, and there are
limits no change of address passes: bookings and emails per customer address, moves per manage token.
Over the live server, as the guest who would try (rest/rate_limits.py)."""

import random
from contextlib import contextmanager

import frappe
import pytest
import requests
from frappe.installer import update_site_config

from crm_appointments.rest import rate_limits
from tests import factories
from tests.test_api_bookings import berlin, book, error, guest, mail_to, parts, token_in

pytestmark = pytest.mark.slow


@contextmanager
def site_config(key: str, value):
	"""The live server reads the site config on each request."""
	before = frappe.get_site_config().get(key)
	update_site_config(key, value)
	try:
		yield
	finally:
		update_site_config(key, before if before is not None else "None")


def random_address() -> str:
	return ".".join(["10", *(str(random.randint(1, 254)) for _ in range(3))])


@pytest.fixture
def open_booking(committed):
	factories.host("user", hours=[(d, "00:00", "00:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	with factories.booking_settings(enable_public_booking=1, booking_duration=30, slot_interval=30):
		yield


def test_a_new_x_forwarded_for_on_each_request_does_not_pass_the_limit(open_booking, live_server):
	"""Served directly (no proxy named in crm_trusted_proxies), the client is the connection's peer."""
	limit, seconds = rate_limits.LIMITS["bookings"]
	with site_config("crm_trusted_proxies", []):
		answers = [
			requests.post(
				f"{live_server}/api/crm/bookings",
				json={"colour": "red"},
				headers={"X-Forwarded-For": random_address()},
				timeout=30,
			)
			for _ in range(limit + 1)
		]
	assert [a.status_code for a in answers] == [400] * limit + [429]
	assert error(answers[-1])["type"] == "rate_limit_error"
	assert 0 < int(answers[-1].headers["Retry-After"]) <= seconds


def test_behind_a_trusted_proxy_addresses_a_client_prepends_are_not_believed(open_booking, live_server):
	"""The proxy (127.0.0.1 here) appends the address it saw; whatever the client wrote before it is
	ignored: the right-most address that is not a trusted proxy is the client."""
	limit, _seconds = rate_limits.LIMITS["bookings"]
	client = random_address()
	answers = [
		requests.post(
			f"{live_server}/api/crm/bookings",
			json={"colour": "red"},
			headers={"X-Forwarded-For": f"{random_address()}, {client}"},
			timeout=30,
		)
		for _ in range(limit + 1)
	]
	assert [a.status_code for a in answers] == [400] * limit + [429]
	# Another client behind the same proxy is counted apart.
	other = requests.post(
		f"{live_server}/api/crm/bookings",
		json={"colour": "red"},
		headers={"X-Forwarded-For": random_address()},
		timeout=30,
	)
	assert other.status_code == 400


def test_one_email_address_gets_at_most_five_bookings_an_hour_from_any_number_of_addresses(
	open_booking, live_server
):
	base = f"{live_server}/api/crm"
	limit, seconds = rate_limits.LIMITS["bookings_per_email"]
	answers = [
		book(base, start=berlin(2, 9 + i), customer_email="Flooded@Example.org") for i in range(limit + 1)
	]

	assert [a.status_code for a in answers] == [200] * limit + [429], [a.text[:200] for a in answers]
	assert int(answers[-1].headers["Retry-After"]) <= seconds
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment", {"customer_email": "flooded@example.org"}) == limit
	# Another address books as before.
	assert book(base, start=berlin(2, 20), customer_email="someone.else@example.org").status_code == 200


def test_the_emails_to_one_address_are_limited_whatever_route_sends_them(open_booking, live_server):
	base = f"{live_server}/api/crm"
	with site_config("crm_booking_rate_limits", {"emails_per_address": [3, 3600]}):
		first = book(base, start=berlin(2, 9), customer_email="inbox@example.org")
		assert first.status_code == 200, first.text
		message, _ = mail_to(first.json()["id"], "Booked")
		token = token_in(parts(message)[0])
		moves = [
			guest().post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(2, 10 + i)}, timeout=30)
			for i in range(3)
		]
	# The booking's email, two moves' emails: the third move would be a fourth email.
	assert [m.status_code for m in moves] == [200, 200, 429], [m.text[:200] for m in moves]
	frappe.db.rollback()
	assert frappe.db.count("Email Queue", {"reference_name": first.json()["id"]}) == 3


def test_a_manage_token_moves_its_booking_at_most_five_times_an_hour(open_booking, live_server):
	base = f"{live_server}/api/crm"
	limit, _seconds = rate_limits.LIMITS["moves_per_token"]
	first = book(base, start=berlin(2, 9), customer_email="mover@example.org")
	assert first.status_code == 200, first.text
	message, _ = mail_to(first.json()["id"], "Booked")
	token = token_in(parts(message)[0])

	moves = [
		guest().post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(2, 10 + i)}, timeout=30)
		for i in range(limit + 1)
	]

	assert [m.status_code for m in moves] == [200] * limit + [429], [m.text[:200] for m in moves]
	assert error(moves[-1])["type"] == "rate_limit_error"


def test_staff_who_may_create_appointments_are_not_limited(open_booking, live_server, keys):
	limit, _seconds = rate_limits.LIMITS["bookings_per_email"]
	session = requests.Session()
	session.headers["Authorization"] = f"Bearer {keys['user']}"
	answers = [
		book(
			f"{live_server}/api/crm",
			session=session,
			start=berlin(3, 9 + i),
			customer_email="staff@example.org",
		)
		for i in range(limit + 1)
	]
	assert [a.status_code for a in answers] == [200] * (limit + 1)


def test_a_desk_user_without_a_crm_role_is_limited_like_a_guest(open_booking, live_server):
	limit, _seconds = rate_limits.LIMITS["bookings_per_email"]
	token = factories.frappe_token("nobody")
	answers = [
		requests.post(
			f"{live_server}/api/crm/bookings",
			json={"customer_name": "N", "customer_email": "n@example.org", "start": berlin(4, 9 + i)},
			headers={"Authorization": token},
			timeout=30,
		)
		for i in range(limit + 1)
	]
	assert [a.status_code for a in answers][-1] == 429, [a.text[:200] for a in answers]
