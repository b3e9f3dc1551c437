"""Self-service booking over the live server, as a guest: book an offered slot, the emails, the
manage link (read, cancel, reschedule), the refusals (a taken or unoffered start, the honeypot,
unknown fields, a wrong token, booking switched off) and the rate limit.

Each test's guest has an address of its own (X-Forwarded-For, which Frappe takes as the client's
address), so the per-address rate limits of one test do not reach another.
"""

import email as email_lib
import random
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
import pytest
import requests
import vobject

from crm_appointments.booking import manage_links
from crm_appointments.calendars import ics
from tests import factories
from tests.factories import USERS

pytestmark = pytest.mark.slow

BERLIN = ZoneInfo("Europe/Berlin")
BOOKING_KEYS = ["id", "status", "scheduled_time", "duration", "host_name", "appointment_type", "location"]
MANAGED_KEYS = [*BOOKING_KEYS, "customer_name"]


def guest() -> requests.Session:
	session = requests.Session()
	session.headers["X-Forwarded-For"] = ".".join(["10", *(str(random.randint(1, 254)) for _ in range(3))])
	return session


def error(response) -> dict:
	assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
	body = response.json()
	assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "param"}, body
	return body["error"]


def day(n: int) -> str:
	return (date.today() + timedelta(days=n)).isoformat()


def berlin(day_offset: int, hour: int, minute: int = 0) -> str:
	"""An ISO start at a Berlin wall-clock time, in UTC with Z."""
	local = datetime.combine(date.today() + timedelta(days=day_offset), datetime.min.time()).replace(
		hour=hour, minute=minute, tzinfo=BERLIN
	)
	return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def open_booking(committed):
	"""One host, 09:00-12:00 Berlin every day; public booking on, hour-long bookings."""
	factories.host("user", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	with factories.booking_settings(enable_public_booking=1, booking_duration=60, slot_interval=0):
		yield


@pytest.fixture
def base(live_server):
	return f"{live_server}/api/crm"


def book(base, session=None, **fields):
	body = {"customer_name": "Grace Hopper", "customer_email": "grace@example.org", **fields}
	return (session or guest()).post(f"{base}/bookings", json=body, timeout=30)


def slots_of(base, n: int, session=None) -> list[dict]:
	response = (session or guest()).get(
		f"{base}/slots", params={"start": day(n), "end": day(n), "time_zone": "Europe/Berlin"}, timeout=30
	)
	assert response.status_code == 200, response.text
	return response.json()["data"]


def mail_to(doc_name: str, subject_start: str):
	"""The MIME message queued for the appointment whose subject starts so."""
	frappe.db.rollback()
	for row in frappe.get_all(
		"Email Queue",
		filters={"reference_doctype": "CRM Appointment", "reference_name": doc_name},
		fields=["name", "message"],
		order_by="creation desc",
	):
		message = email_lib.message_from_string(row.message)
		if str(email_lib.header.make_header(email_lib.header.decode_header(message["Subject"]))).startswith(
			subject_start
		):
			recipients = frappe.get_all(
				"Email Queue Recipient", filters={"parent": row.name}, pluck="recipient"
			)
			return message, recipients
	raise AssertionError(f"no mail {subject_start!r} for {doc_name}")


def parts(message):
	html = invitation = None
	for part in message.walk():
		if part.get_filename() == "appointment.ics":
			invitation = vobject.readOne(part.get_payload(decode=True).decode())
		elif part.get_content_type() == "text/html" and html is None:
			html = part.get_payload(decode=True).decode()
	return html, invitation


def token_in(html: str) -> str:
	match = re.search(r"/book/manage/([A-Za-z0-9_-]+)", html)
	assert match, html
	return match.group(1)


# -- booking ------------------------------------------------------------------------------------------


def test_a_guest_books_an_offered_slot_and_gets_the_invitation_and_a_private_manage_link(open_booking, base):
	offered = slots_of(base, 3)
	assert [datetime.fromisoformat(s["start"]).astimezone(BERLIN).hour for s in offered] == [9, 10, 11]

	response = book(
		base, start=offered[1]["start"], customer_phone_number="+49 30 1234", time_zone="America/New_York"
	)

	assert response.status_code == 200, response.text
	body = response.json()
	assert list(body) == BOOKING_KEYS
	assert body["status"] == "scheduled"
	assert body["scheduled_time"] == offered[1]["start"]
	assert body["duration"] == 60
	assert body["host_name"] == frappe.db.get_value("CRM Appointment Host", USERS["user"], "full_name")
	frappe.db.rollback()
	doc = frappe.get_doc("CRM Appointment", body["id"])
	assert (doc.host, doc.status, doc.customer_phone_number) == (USERS["user"], "Scheduled", "+49 30 1234")
	# The host's assignment (their ToDo and notification) came with the host.
	assert frappe.db.exists(
		"ToDo", {"reference_name": doc.name, "allocated_to": USERS["user"], "status": "Open"}
	)
	# The slot is taken: no longer offered.
	assert offered[1] not in slots_of(base, 3)

	message, recipients = mail_to(doc.name, "Booked")
	assert recipients == ["grace@example.org"]  # the link is the customer's alone
	html, invitation = parts(message)
	token = token_in(html)
	assert len(token) >= 32
	assert doc.manage_token_hash == manage_links.token_hash(token) != token
	assert "America/New_York" in html  # the time as the customer reads it
	assert invitation.vevent.uid.value == ics.uid(doc)  # the UID later reminders and updates use
	assert invitation.vevent.sequence.value == "0"
	# The timeline's copy of the mail leaves the link out.
	content = frappe.db.get_value("Communication", {"reference_name": doc.name}, "content")
	assert token not in content and "private manage link" in content


def test_a_taken_start_is_a_409_naming_start_that_tells_nothing_of_the_other_booking(open_booking, base):
	start = slots_of(base, 4)[0]["start"]
	assert book(base, start=start, customer_name="First Customer").status_code == 200

	again = book(base, start=start, customer_name="Second Customer", customer_email="second@example.org")

	assert again.status_code == 409
	problem = error(again)
	assert (problem["type"], problem["param"]) == ("conflict_error", "start")
	assert "First" not in problem["message"] and "grace" not in problem["message"]
	assert "@" not in problem["message"]


@pytest.mark.parametrize(
	"start",
	[
		pytest.param(lambda: berlin(5, 13), id="outside hours"),
		pytest.param(lambda: berlin(5, 9, 10), id="between two slot starts"),
		pytest.param(lambda: berlin(45, 9), id="beyond the horizon"),
		pytest.param(lambda: berlin(-1, 9), id="in the past"),
	],
)
def test_a_start_the_slots_do_not_offer_is_a_409(open_booking, base, start):
	response = book(base, start=start())
	assert response.status_code == 409, response.text
	assert error(response)["param"] == "start"


def test_a_start_inside_the_minimum_notice_is_a_409(open_booking, base):
	factories.host("user", time_zone="Europe/Berlin")  # every hour of every day
	frappe.db.commit()
	soon = (datetime.now(ZoneInfo("UTC")) + timedelta(hours=1)).replace(minute=0, second=0)
	response = book(base, start=soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
	assert response.status_code == 409, response.text


def test_the_free_host_with_fewest_appointments_that_day_then_booked_least_recently_gets_it(
	open_booking, base
):
	factories.host("manager", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	# The user host already holds 09:00 on day 6 (booked by staff).
	factories.make(
		status="scheduled", host=USERS["user"], scheduled_time=site_time(berlin(6, 9)), duration=30
	)
	frappe.db.commit()
	first = book(base, start=berlin(6, 11)).json()
	assert first["host_name"] == frappe.db.get_value("CRM Appointment Host", USERS["manager"], "full_name")
	# Both now hold one that day: the one booked least recently (the user host) gets the next.
	second = book(base, start=berlin(6, 10), customer_email="b@example.org").json()
	assert second["host_name"] == frappe.db.get_value("CRM Appointment Host", USERS["user"], "full_name")


def test_an_idempotency_key_replays_the_first_booking(open_booking, base):
	session = guest()
	start = slots_of(base, 7)[0]["start"]
	headers = {"Idempotency-Key": "book-once-1"}
	body = {"customer_name": "Once", "customer_email": "once@example.org", "start": start}
	first = session.post(f"{base}/bookings", json=body, headers=headers, timeout=30)
	second = session.post(f"{base}/bookings", json=body, headers=headers, timeout=30)
	assert first.status_code == second.status_code == 200
	assert first.json() == second.json()
	assert second.headers.get("Idempotent-Replayed") == "true"
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment", {"customer_email": "once@example.org"}) == 1


# -- refusals -----------------------------------------------------------------------------------------


def test_the_honeypot_field_filled_in_is_refused_and_books_nothing(open_booking, base):
	start = slots_of(base, 3)[0]["start"]
	response = book(base, start=start, website="http://spam.example", customer_email="bot@example.org")
	assert response.status_code == 400
	assert error(response)["type"] == "invalid_request_error"
	frappe.db.rollback()
	assert not frappe.db.exists("CRM Appointment", {"customer_email": "bot@example.org"})
	# Left empty, as a person's browser sends it, it is no obstacle.
	assert book(base, start=start, website="").status_code == 200


@pytest.mark.parametrize(
	("fields", "param"),
	[
		({"status": "confirmed"}, "status"),
		({"host": "crm-test-manager@example.com"}, "host"),
		({"colour": "red"}, "colour"),
		({"start": None}, "start"),
		({"start": "tomorrow at nine"}, "start"),
		({"time_zone": "Mars/Olympus"}, "time_zone"),
		({"customer_email": "not an address"}, "customer_email"),
		({"customer_name": "x" * 141}, "customer_name"),
		({"customer_phone_number": 12345}, "customer_phone_number"),
	],
)
def test_unknown_and_malformed_fields_are_a_400_naming_them(open_booking, base, fields, param):
	body = {"start": berlin(3, 9), **fields}
	response = book(base, **body)
	assert response.status_code == 400, response.text
	assert error(response)["param"] == param


def test_while_booking_is_off_a_guest_gets_404_a_desk_user_without_the_role_403(committed, base, keys):
	factories.host("user", time_zone="Europe/Berlin")
	frappe.db.commit()
	with factories.booking_settings(enable_public_booking=0):
		assert book(base, start=berlin(3, 9)).status_code == 404
		nobody = requests.post(
			f"{base}/bookings",
			json={"customer_name": "N", "customer_email": "n@example.org", "start": berlin(3, 9)},
			headers={"Authorization": f"Bearer {keys['nobody']}"},
			timeout=30,
		)
		assert nobody.status_code == 403
		assert (
			guest().get(f"{base}/slots", params={"start": day(3), "end": day(3)}, timeout=30).status_code
			== 404
		)


def test_guests_past_the_limit_get_429_with_retry_after_and_other_addresses_do_not(open_booking, base):
	from crm_appointments.rest.rate_limits import LIMITS

	limit, seconds = LIMITS["bookings"]
	session = guest()
	answers = [session.post(f"{base}/bookings", json={"colour": "red"}, timeout=30) for _ in range(limit)]
	assert {a.status_code for a in answers} == {400}
	refused = session.post(f"{base}/bookings", json={"colour": "red"}, timeout=30)
	assert refused.status_code == 429
	assert error(refused)["type"] == "rate_limit_error"
	assert 0 < int(refused.headers["Retry-After"]) <= seconds
	# Another address is counted apart.
	assert guest().post(f"{base}/bookings", json={"colour": "red"}, timeout=30).status_code == 400


# -- the manage link ----------------------------------------------------------------------------------


@pytest.fixture
def booked(open_booking, base):
	"""(booking id, manage token) of a guest's booking at 09:00 Berlin in three days."""
	response = book(base, start=berlin(3, 9))
	assert response.status_code == 200, response.text
	name = response.json()["id"]
	message, _ = mail_to(name, "Booked")
	return name, token_in(parts(message)[0])


def test_the_manage_link_shows_the_booking(booked, base):
	name, token = booked
	response = guest().get(f"{base}/bookings/{token}", timeout=30)
	assert response.status_code == 200
	body = response.json()
	assert list(body) == MANAGED_KEYS
	assert (body["id"], body["status"], body["customer_name"]) == (name, "scheduled", "Grace Hopper")


@pytest.mark.parametrize("path", ["", "/cancel", "/reschedule"])
def test_a_wrong_token_is_a_404_that_says_nothing_more(booked, base, path):
	name, token = booked
	answers = [
		guest().request(
			"GET" if not path else "POST",
			f"{base}/bookings/{wrong}{path}",
			json={"start": berlin(3, 10)},
			timeout=30,
		)
		for wrong in (token[:-1], manage_links.new_token(), name, manage_links.token_hash(token))
	]
	assert {a.status_code for a in answers} == {404}
	assert len({a.text for a in answers}) == 1


def test_cancelling_with_a_reason_keeps_it_in_the_timeline_and_mails_the_customer(booked, base):
	name, token = booked
	response = guest().post(f"{base}/bookings/{token}/cancel", json={"reason": "Flight delayed"}, timeout=30)
	assert response.status_code == 200, response.text
	assert response.json()["status"] == "cancelled"
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", name, "status") == "Cancelled"
	comments = frappe.get_all(
		"Comment", filters={"reference_name": name, "comment_type": "Comment"}, pluck="content"
	)
	assert any("Flight delayed" in c for c in comments)
	message, recipients = mail_to(name, "Cancelled")
	assert "grace@example.org" in recipients
	assert parts(message)[1].vevent.status.value == "CANCELLED"
	# Final now: neither cancel nor reschedule again.
	assert guest().post(f"{base}/bookings/{token}/cancel", timeout=30).status_code == 409
	again = guest().post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(3, 10)}, timeout=30)
	assert again.status_code == 409


def test_rescheduling_moves_it_to_another_free_slot_and_sends_the_update(booked, base):
	name, token = booked
	frappe.db.set_value("CRM Appointment", name, "status", "Confirmed")  # the customer had confirmed
	frappe.db.commit()
	response = guest().post(
		f"{base}/bookings/{token}/reschedule",
		json={"start": berlin(3, 11), "time_zone": "Asia/Tokyo"},
		timeout=30,
	)
	assert response.status_code == 200, response.text
	assert response.json()["scheduled_time"] == berlin(3, 11)
	assert response.json()["status"] == "scheduled"  # a confirmed booking that moves goes back
	starts = [s["start"] for s in slots_of(base, 3)]
	assert berlin(3, 9) in starts and berlin(3, 11) not in starts
	message, recipients = mail_to(name, "Moved")
	html, invitation = parts(message)
	assert recipients == ["grace@example.org"] and "Asia/Tokyo" in html and token in html
	frappe.db.rollback()
	doc = frappe.get_doc("CRM Appointment", name)
	assert invitation.vevent.uid.value == ics.uid(doc)
	assert int(invitation.vevent.sequence.value) == doc.calendar_sequence >= 1


def test_rescheduling_to_a_taken_or_unoffered_start_is_a_409_and_changes_nothing(booked, base):
	name, token = booked
	assert book(base, start=berlin(3, 10), customer_email="other@example.org").status_code == 200
	for start in (berlin(3, 10), berlin(3, 13)):
		response = guest().post(f"{base}/bookings/{token}/reschedule", json={"start": start}, timeout=30)
		assert response.status_code == 409
		assert error(response)["param"] == "start"
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", name, "scheduled_time") == site_time(berlin(3, 9))
	# Its own time does not count against it: the same start again is accepted.
	assert (
		guest()
		.post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(3, 9)}, timeout=30)
		.status_code
		== 200
	)


def test_once_started_a_booking_can_be_neither_cancelled_nor_moved(booked, base):
	name, token = booked
	factories.let_time_pass(frappe.get_doc("CRM Appointment", name))
	frappe.db.commit()
	assert guest().post(f"{base}/bookings/{token}/cancel", json={}, timeout=30).status_code == 409
	moved = guest().post(f"{base}/bookings/{token}/reschedule", json={"start": berlin(3, 10)}, timeout=30)
	assert moved.status_code == 409
	assert guest().get(f"{base}/bookings/{token}", timeout=30).status_code == 200


def test_manage_bodies_are_checked_like_any_other(booked, base):
	_name, token = booked
	response = guest().post(
		f"{base}/bookings/{token}/cancel", json={"reason": "x", "status": "draft"}, timeout=30
	)
	assert (response.status_code, error(response)["param"]) == (400, "status")
	response = guest().post(f"{base}/bookings/{token}/reschedule", json={}, timeout=30)
	assert (response.status_code, error(response)["param"]) == (400, "start")


def site_time(iso_z: str):
	"""An ISO UTC start as the database stores it (naive, in the site's zone)."""
	from crm_appointments.scheduling.host_calendars import to_site

	return to_site(datetime.fromisoformat(iso_z.replace("Z", "+00:00")))


# -- races --------------------------------------------------------------------------------------------


def test_twenty_guests_racing_for_the_last_free_slot_exactly_one_gets_it(open_booking, base):
	from tests.test_concurrency import at_once

	start = berlin(8, 10)
	assert start in [s["start"] for s in slots_of(base, 8)]

	answers = at_once(20, lambda i: book(base, start=start, customer_email=f"racer{i}@example.org"))

	statuses = sorted(a.status_code for a in answers)
	assert statuses == [200] + [409] * 19, [a.text for a in answers if a.status_code not in (200, 409)]
	assert all(error(a)["param"] == "start" for a in answers if a.status_code == 409)
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment", {"customer_email": ("like", "racer%@example.org")}) == 1


@pytest.mark.parametrize("round", range(3))
def test_with_two_hosts_two_of_the_racing_guests_get_the_slot_one_with_each(open_booking, base, round):
	from tests.test_concurrency import at_once

	factories.host("manager", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	start = berlin(9 + round, 10)

	answers = at_once(10, lambda i: book(base, start=start, customer_email=f"pair{i}@example.org"))

	assert sorted(a.status_code for a in answers) == [200, 200] + [409] * 8
	frappe.db.rollback()
	hosts = frappe.get_all(
		"CRM Appointment", filters={"customer_email": ("like", "pair%@example.org")}, pluck="host"
	)
	assert sorted(hosts) == sorted([USERS["user"], USERS["manager"]])


@pytest.mark.parametrize("round", range(3))
def test_two_guests_moving_bookings_of_two_hosts_into_one_slot_at_once_both_get_it(open_booking, base, round):
	"""Each booking keeps its own host, who is free then; each may also take the other host, so each
	reschedule takes both hosts' rows, in one order, before its appointment's: neither waits for the
	other in a circle (a deadlock's 503)."""
	from tests.test_concurrency import at_once

	factories.host("manager", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	tokens = []
	for i in range(2):
		response = book(base, start=berlin(12 + round, 9), customer_email=f"mover{i}@example.org")
		assert response.status_code == 200, response.text
		message, _ = mail_to(response.json()["id"], "Booked")
		tokens.append(token_in(parts(message)[0]))
	target = berlin(12 + round, 11)

	answers = at_once(
		2,
		lambda i: guest().post(f"{base}/bookings/{tokens[i]}/reschedule", json={"start": target}, timeout=30),
	)

	assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
	frappe.db.rollback()
	moved = frappe.get_all(
		"CRM Appointment",
		filters={"customer_email": ("like", "mover%@example.org"), "scheduled_time": site_time(target)},
		pluck="host",
	)
	assert sorted(moved) == sorted([USERS["user"], USERS["manager"]])


# -- who may reach the routes ---------------------------------------------------------------------------


def test_a_desk_user_narrowed_by_user_permissions_books_while_booking_is_off_and_sees_no_more(
	committed, base, keys
):
	"""Booking while it is off is staff work (create permission); the answer is the booking's summary,
	whatever the staff member may read afterwards."""
	factories.host("manager", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	other = factories.commit(factories.make(status="draft"))
	with (
		factories.booking_settings(enable_public_booking=0, booking_duration=60),
		factories.user_permission("user", other.name),
	):
		response = requests.post(
			f"{base}/bookings",
			json={
				"customer_name": "Staff Booked",
				"customer_email": "staff.booked@example.org",
				"start": berlin(3, 9),
			},
			headers={"Authorization": f"Bearer {keys['user']}"},
			timeout=30,
		)
		assert response.status_code == 200, response.text
		assert list(response.json()) == BOOKING_KEYS
		# The booking is not among what the narrowed user may read.
		read = requests.get(
			f"{base}/appointment/{response.json()['id']}",
			headers={"Authorization": f"Bearer {keys['user']}"},
			timeout=30,
		)
		assert read.status_code == 404


def test_the_manage_token_hash_is_never_in_the_api_object(booked, base, keys):
	name, _token = booked
	obj = requests.get(
		f"{base}/appointment/{name}", headers={"Authorization": f"Bearer {keys['manager']}"}, timeout=30
	).json()
	assert obj["id"] == name
	assert not any("token" in key for key in obj)
	listed = requests.get(
		f"{base}/appointment", headers={"Authorization": f"Bearer {keys['manager']}"}, timeout=30
	).json()
	assert not any("token" in key for item in listed["data"] for key in item)


def test_saving_the_settings_clears_the_cached_booking_page(committed, live_server):
	from crm_appointments.core.names import SETTINGS

	page = requests.get(f"{live_server}/book", timeout=30)
	assert page.status_code == 200
	settings = frappe.get_single(SETTINGS)
	title, enabled = settings.booking_page_title, settings.enable_public_booking
	try:
		settings.booking_page_title, settings.enable_public_booking = "Talk to us", 1
		settings.save()
		frappe.db.commit()
		assert "Talk to us" in requests.get(f"{live_server}/book", timeout=30).text
	finally:
		settings.reload()
		settings.booking_page_title, settings.enable_public_booking = title, enabled
		settings.save()
		frappe.db.commit()
	assert "Talk to us" not in requests.get(f"{live_server}/book", timeout=30).text


def test_two_guests_at_different_addresses_may_use_the_same_idempotency_key(open_booking, base):
	starts = [s["start"] for s in slots_of(base, 10)]
	headers = {"Idempotency-Key": "same-key-1"}
	answers = [
		guest().post(
			f"{base}/bookings",
			json={"customer_name": f"Guest {i}", "customer_email": f"samekey{i}@example.org", "start": start},
			headers=headers,
			timeout=30,
		)
		for i, start in enumerate(starts[:2])
	]
	assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
	assert answers[0].json()["id"] != answers[1].json()["id"]
	assert "Idempotent-Replayed" not in answers[1].headers
