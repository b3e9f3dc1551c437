"""What the site mails a customer names only the site: the manage link is built from the site's
configured address (`host_name`), never from the request's Host; the invitation's organizer is the
address the mail is sent from, with the host's name, not the host's login; and a guest never learns
a host's user id. Over the live server, as the guest who would forge a Host or probe hosts."""

from contextlib import contextmanager, nullcontext

import frappe
import pytest
import requests
from frappe.installer import update_site_config

from crm_appointments.core import site_address
from harness.site_data import OUTBOX
from tests.factories import USERS
from tests.test_api_bookings import berlin, book, day, error, guest, mail_to, open_booking, parts  # noqa: F401

pytestmark = pytest.mark.slow


@contextmanager
def without_host_name():
	"""The site config as a site that set no address has it (one that turned booking on before the
	app refused that); the live server reads the config on each request."""
	kept = frappe.get_site_config().get("host_name")
	update_site_config("host_name", "None")
	frappe.local.conf.pop("host_name", None)
	try:
		yield
	finally:
		update_site_config("host_name", kept)
		frappe.local.conf.host_name = kept


@pytest.mark.parametrize("configured", [True, False], ids=["host_name set", "host_name unset"])
def test_a_booking_sent_with_a_forged_host_mails_the_link_on_the_sites_own_address(
	open_booking,  # noqa: F811
	live_server,
	configured,
):
	session = guest()
	session.headers.update({"Host": "evil.example", "X-Forwarded-Proto": "https"})
	session.headers["X-Frappe-Site-Name"] = frappe.local.site  # the server still finds the site
	with nullcontext() if configured else without_host_name():
		expected = site_address.url("/book/manage/")  # the site's address, or its own name
		response = book(f"{live_server}/api/crm", session=session, start=berlin(3, 10))

	assert response.status_code == 200, response.text
	html, _invitation = parts(mail_to(response.json()["id"], "Booked")[0])
	assert "evil.example" not in html
	assert f'href="{expected}' in html


def test_a_move_sent_with_a_forged_host_mails_the_link_on_the_sites_own_address(open_booking, live_server):  # noqa: F811
	from tests.test_api_bookings import token_in

	base = f"{live_server}/api/crm"
	first = book(base, start=berlin(3, 9))
	token = token_in(parts(mail_to(first.json()["id"], "Booked")[0])[0])
	session = guest()
	session.headers.update({"Host": "evil.example", "X-Frappe-Site-Name": frappe.local.site})

	moved = session.post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(3, 11)}, timeout=30)

	assert moved.status_code == 200, moved.text
	html, _invitation = parts(mail_to(first.json()["id"], "Moved")[0])
	assert "evil.example" not in html and site_address.url(f"/book/manage/{token}") in html


def test_public_booking_cannot_be_turned_on_without_the_sites_address(committed):
	conf = frappe.local.conf
	kept = conf.pop("host_name", None), conf.pop("hostname", None)
	try:
		settings = frappe.get_doc("CRM Appointment Settings")
		settings.enable_public_booking = 1
		with pytest.raises(frappe.ValidationError, match="host_name"):
			settings.save()
	finally:
		conf.host_name, conf.hostname = kept
		if conf.hostname is None:
			conf.pop("hostname")


def test_the_invitations_organizer_is_the_sending_address_with_the_hosts_name(open_booking, live_server):  # noqa: F811
	response = book(f"{live_server}/api/crm", start=berlin(3, 10))

	_html, invitation = parts(mail_to(response.json()["id"], "Booked")[0])
	organizer = invitation.vevent.organizer
	sender = frappe.db.get_value("Email Account", OUTBOX, "email_id")
	assert organizer.value.lower() == f"mailto:{sender}"
	assert organizer.params["CN"] == [frappe.db.get_value("CRM Appointment Host", USERS["user"], "full_name")]
	assert USERS["user"] not in invitation.serialize()


@pytest.mark.parametrize("host", [USERS["user"], USERS["manager"], "nobody@example.org"])
def test_a_guest_cannot_name_a_host_by_user_id_and_learns_nothing_by_trying(open_booking, live_server, host):  # noqa: F811
	response = guest().get(
		f"{live_server}/api/crm/slots", params={"start": day(3), "end": day(3), "host": host}, timeout=30
	)
	assert response.status_code == 400
	assert error(response) == {
		"type": "invalid_request_error",
		"message": "Guests cannot choose a host here.",
		"param": "host",
	}


def test_staff_still_narrow_the_slots_to_one_host(open_booking, live_server, keys):  # noqa: F811
	response = requests.get(
		f"{live_server}/api/crm/slots",
		params={"start": day(3), "end": day(3), "host": USERS["user"], "time_zone": "Europe/Berlin"},
		headers={"Authorization": f"Bearer {keys['manager']}"},
		timeout=30,
	)
	assert response.status_code == 200, response.text
	assert len(response.json()["data"]) == 3
