"""The manage page sends its token nowhere (Referrer-Policy as a header, before anything loads) and is
kept in no cache; the booking pages show the settings' title and intro escaped once; a disabled user
is refused on every route of the app, whatever credential Frappe accepts for them. Over the live
server, as the customer, the admin and the disabled user."""

import html as html_lib
import re

import frappe
import pytest
import requests

from harness.site_data import make_desk_user
from tests import factories
from tests.test_api_bookings import base, booked, day, open_booking  # noqa: F401

pytestmark = pytest.mark.slow

GONE = "crm-test-gone@example.com"


@pytest.mark.parametrize("known", [True, False], ids=["its token", "a wrong token"])
def test_the_manage_page_is_sent_with_no_referrer_and_no_cache(booked, live_server, known):  # noqa: F811
	token = booked[1] if known else "x" * 43
	response = requests.get(f"{live_server}/book/manage/{token}", timeout=30)

	assert response.status_code == (200 if known else 404)
	assert response.headers["Referrer-Policy"] == "no-referrer"
	assert response.headers["Cache-Control"] == "no-store, private"


def test_the_booking_pages_title_and_intro_are_escaped_once(committed, live_server):
	"""Saved through the settings form (Frappe's sanitiser runs on a save), shown as typed."""
	title, intro = "Tom & Jerry's <b>shop</b>", "Fish & chips, <i>fresh</i>"
	with factories.booking_settings(enable_public_booking=1):
		settings = frappe.get_doc("CRM Appointment Settings")
		settings.booking_page_title, settings.booking_intro = title, intro
		settings.save()
		frappe.db.commit()
		try:
			page = requests.get(f"{live_server}/book", timeout=30).text
		finally:
			frappe.db.set_single_value(
				"CRM Appointment Settings", {"booking_page_title": None, "booking_intro": None}
			)
			frappe.db.commit()

	heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
	shown_intro = re.search(r'<p class="book-intro">(.*?)</p>', page, re.S).group(1)
	assert html_lib.unescape(heading) == title
	assert html_lib.unescape(shown_intro) == intro
	assert "&amp;amp;" not in page


@pytest.fixture
def gone(committed):
	"""A CRM User with a Frappe token and the app's own key, then disabled."""
	from frappe.core.doctype.user.user import generate_keys

	from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key

	make_desk_user(GONE, "Gone", "CRM Appointment User")
	secret = generate_keys(GONE)["api_secret"]
	token = f"token {frappe.db.get_value('User', GONE, 'api_key')}:{secret}"
	key = issue_key(GONE, "test", "pytest gone")["key"]
	frappe.db.commit()
	try:
		yield token, f"Bearer {key}"
	finally:
		frappe.db.rollback()
		frappe.db.delete("CRM API Key", {"user": GONE})
		frappe.delete_doc("User", GONE, ignore_permissions=True, force=True)
		frappe.db.commit()


def test_a_disabled_users_frappe_token_opens_no_route_of_the_app(gone, live_server):
	token, key = gone
	routes = [
		("GET", "/api/crm/appointment"),
		("GET", f"/api/crm/slots?start={day(2)}&end={day(2)}"),
		("POST", "/api/crm/appointment"),
	]
	for method, path in routes:
		assert (
			requests.request(
				method, live_server + path, headers={"Authorization": token}, timeout=30
			).status_code
			!= 401
		)

	user = frappe.get_doc("User", GONE)
	user.enabled = 0
	user.save(ignore_permissions=True)  # as an admin unticks Enabled
	frappe.db.commit()

	for credential in (token, key):
		for method, path in routes:
			response = requests.request(
				method, live_server + path, headers={"Authorization": credential}, json={}, timeout=30
			)
			assert response.status_code == 401, (credential[:6], path, response.text[:200])
			assert response.json()["error"]["type"] == "authentication_error"
