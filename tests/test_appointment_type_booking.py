"""Booking appointment types over the live server (contract.md, "Appointment types"): each type's
duration, interval and buffers in the slots and the overlap rule, its hosts and who picks, its
questions, where it takes place, its most a day per host, and the refusals.

Two hosts, the test user and the manager, work 09:00-17:00 Berlin every day. The types:
- `intro`: 15 minutes, any free host, by phone (the customer's number);
- `demo`: 45 minutes, 15 minutes kept free before and after, the customer picks the host (both),
  a video room per appointment, a required question and a Select;
- `fitting`: 60 minutes in the shop, only the manager, at most one a day.
"""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
import pytest

from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE
from tests import factories, test_api_bookings
from tests.factories import USERS
from tests.test_api_bookings import error, guest, mail_to, parts

pytestmark = pytest.mark.slow

base = test_api_bookings.base  # the fixture
BERLIN = ZoneInfo("Europe/Berlin")
HOURS = [(d, "09:00", "17:00") for d in range(7)]
SHOP = "Hauptstraße 5, 10115 Berlin"


def at(day_offset: int, hour: int, minute: int = 0) -> str:
	local = datetime.combine(date.today() + timedelta(days=day_offset), datetime.min.time()).replace(
		hour=hour, minute=minute, tzinfo=BERLIN
	)
	return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(n: int) -> str:
	return (date.today() + timedelta(days=n)).isoformat()


def make_type(**fields):
	return frappe.get_doc({"doctype": APPOINTMENT_TYPE, **fields}).insert(ignore_permissions=True)


@pytest.fixture
def shop(committed):
	"""The two hosts and the three types (see the module's docstring); public booking on."""
	for kind in ("user", "manager"):
		factories.host(kind, hours=HOURS, time_zone="Europe/Berlin")
	frappe.db.commit()
	handles = {kind: frappe.db.get_value("CRM Appointment Host", USERS[kind], "slug") for kind in USERS}
	make_type(title="Intro", slug="intro", duration=15, location_kind="Phone")
	make_type(
		title="Demo",
		slug="demo",
		duration=45,
		buffer_before=15,
		buffer_after=15,
		host_choice="Customer picks",
		location_kind="Video",
		questions=[
			{"label": "Company", "kind": "Data", "required": 1},
			{"label": "Team size", "kind": "Select", "options": "1-10\n11-50\n51+"},
		],
	)
	make_type(
		title="Fitting",
		slug="fitting",
		duration=60,
		max_per_day=1,
		location_kind="In person",
		location=SHOP,
		hosts=[{"host": USERS["manager"]}],
	)
	frappe.db.commit()
	with factories.booking_settings(
		enable_public_booking=1, minimum_notice=120, booking_horizon=30, buffer_minutes=0, slot_interval=0
	):
		yield handles


def slots(base, kind: str, n: int, session=None, **params) -> list[str]:
	answer = (session or guest()).get(
		f"{base}/slots", params={"start": day(n), "end": day(n), "type": kind, **params}, timeout=30
	)
	assert answer.status_code == 200, answer.text
	return [s["start"] for s in answer.json()["data"]]


def book(base, session=None, **fields):
	body = {"customer_name": "Ada Lovelace", "customer_email": "ada@example.org", **fields}
	return (session or guest()).post(f"{base}/bookings", json=body, timeout=60)


def demo_answers(**more):
	return {"Company": "Analytical Engines Ltd", **more}


# -- slots ----------------------------------------------------------------------------------------------


def test_each_type_offers_starts_of_its_own_length_from_its_own_hosts(shop, base):
	intro, demo, fitting = (slots(base, kind, 5) for kind in ("intro", "demo", "fitting"))
	assert intro[:3] == [at(5, 9), at(5, 9, 15), at(5, 9, 30)]
	assert intro[-1] == at(5, 16, 45)
	# 45 minutes from 09:00, with room for the 15 minutes after it inside the day's hours or not: the
	# buffers keep time free between appointments, not inside the hours.
	assert demo[:3] == [at(5, 9), at(5, 9, 45), at(5, 10, 30)]
	assert fitting == [at(5, h) for h in range(9, 17)]


def test_a_type_nobody_may_book_is_a_400_naming_type_whether_it_exists_or_not(shop, base):
	make_type(title="Internal", slug="internal", public=0)
	frappe.db.commit()
	for kind in ("internal", "no-such-type"):
		answer = guest().get(f"{base}/slots", params={"start": day(5), "end": day(5), "type": kind})
		assert answer.status_code == 400 and error(answer)["param"] == "type", answer.text
		answer = book(base, start=at(5, 9), type=kind)
		assert answer.status_code == 400 and error(answer)["param"] == "type", answer.text


# -- booking: hosts, questions, location -----------------------------------------------------------------


def test_the_customer_books_the_host_they_pick_with_their_answers_and_a_room_of_their_own(shop, base):
	start = at(6, 10, 30)  # a demo's starts step by 45 minutes from 09:00
	answer = book(
		base,
		start=start,
		type="demo",
		host=shop["manager"],
		answers=demo_answers(**{"Team size": "11-50"}),
		time_zone="Europe/Berlin",
	)

	assert answer.status_code == 200, answer.text
	body = answer.json()
	assert body["appointment_type"] == "demo" and body["duration"] == 45
	assert body["location"].startswith("https://meet.jit.si/crm-") and len(body["location"]) > 40
	frappe.db.rollback()
	doc = frappe.get_doc(APPOINTMENT, body["id"])
	assert doc.host == USERS["manager"]
	assert json.loads(doc.answers) == [
		{"question": "Company", "answer": "Analytical Engines Ltd"},
		{"question": "Team size", "answer": "11-50"},
	]
	other = book(base, start=start, type="demo", host=shop["manager"], answers=demo_answers())
	assert other.status_code == 409 and error(other)["param"] == "start"
	again = book(base, start=start, type="demo", host=shop["user"], answers=demo_answers())
	assert again.status_code == 200, again.text
	assert again.json()["location"] != body["location"]  # a new room each time
	# The room is in the confirmation mail and in the invitation's LOCATION.
	message, _ = mail_to(body["id"], "Booked")
	text, invitation = parts(message)
	assert body["location"] in text
	assert invitation.vevent.location.value == body["location"]


@pytest.mark.parametrize(
	"answers, says",
	[
		({}, "Company"),
		({"Company": "  "}, "Company"),
		({"Company": "X", "Budget": "lots"}, "Budget"),
		({"Company": "X", "Team size": "200"}, "Team size"),
	],
)
def test_missing_unknown_or_wrong_answers_are_a_400_naming_answers_and_book_nothing(
	shop, base, answers, says
):
	answer = book(base, start=at(6, 9), type="demo", host=shop["user"], answers=answers)
	assert answer.status_code == 400, answer.text
	assert error(answer)["param"] == "answers" and says in error(answer)["message"]
	frappe.db.rollback()
	assert not frappe.db.exists(APPOINTMENT, {"customer_email": "ada@example.org"})


def test_a_host_not_in_the_type_or_not_the_customers_to_pick_is_a_400_naming_host(shop, base):
	refused = [
		book(base, start=at(6, 9), type="fitting", host=shop["user"]),  # fitting: the manager only
		book(base, start=at(6, 9), type="intro", host=shop["user"]),  # intro: any free host
		book(base, start=at(6, 9), type="demo", host="nobody-by-that-name", answers=demo_answers()),
		book(base, start=at(6, 9), type="demo", host=USERS["user"], answers=demo_answers()),  # a user id
	]
	for answer in refused:
		assert answer.status_code == 400 and error(answer)["param"] == "host", answer.text
	listed = guest().get(
		f"{base}/slots", params={"start": day(6), "end": day(6), "type": "intro", "host": shop["user"]}
	)
	assert listed.status_code == 400 and error(listed)["param"] == "host"


def test_a_phone_type_needs_the_customers_number_and_takes_place_on_it(shop, base):
	missing = book(base, start=at(6, 9), type="intro")
	assert missing.status_code == 400 and error(missing)["param"] == "customer_phone_number"
	answer = book(base, start=at(6, 9), type="intro", customer_phone_number="+49 30 1234567")
	assert answer.status_code == 200, answer.text
	assert answer.json()["location"] == "+49 30 1234567"


def test_an_in_person_type_takes_place_at_its_address_in_every_mail_and_the_event(shop, base):
	answer = book(base, start=at(6, 11), type="fitting")
	assert answer.status_code == 200, answer.text
	assert answer.json()["location"] == SHOP
	frappe.db.rollback()
	doc = frappe.get_doc(APPOINTMENT, answer.json()["id"])
	assert SHOP in frappe.db.get_value("Event", doc.calendar_event, "description")
	message, _ = mail_to(doc.name, "Booked")
	assert SHOP in parts(message)[0]


def test_no_type_given_books_the_oldest_public_type_as_before_types(shop, base):
	answer = book(base, start=at(6, 9))
	assert answer.status_code == 200, answer.text
	assert answer.json()["appointment_type"] == "appointment"


# -- buffers and the day's limit ------------------------------------------------------------------------


def test_each_appointment_keeps_its_own_types_buffers_free_in_the_slots_and_the_overlap_rule(shop, base):
	demo = book(base, start=at(7, 12), type="demo", host=shop["manager"], answers=demo_answers())
	assert demo.status_code == 200, demo.text
	# The manager holds 11:45-13:00 (15 minutes either side of 12:00-12:45). An intro of 15 minutes
	# by the manager fits up to 11:45 and from 13:00; the demo's own buffer before counts too.
	manager_intros = slots(base, "intro", 7, session=None)
	assert at(7, 11, 30) in manager_intros and at(7, 12) in manager_intros  # the test user is free
	frappe.db.rollback()
	frappe.db.set_value("CRM Appointment Host", USERS["user"], "enabled", 0)
	frappe.db.commit()
	try:
		only_manager = slots(base, "intro", 7)
		assert at(7, 11, 30) in only_manager
		assert not {at(7, 11, 45), at(7, 12), at(7, 12, 30), at(7, 12, 45)} & set(only_manager)
		assert at(7, 13) in only_manager
		taken = book(base, start=at(7, 12, 45), type="intro", customer_phone_number="+49 1")
		assert taken.status_code == 409 and error(taken)["param"] == "start"
		fits = book(base, start=at(7, 13), type="intro", customer_phone_number="+49 1")
		assert fits.status_code == 200, fits.text
		# A demo needs its 15 minutes before it free: 13:15 is taken by the intro until 13:15,
		# so the next demo start the manager can take is 13:30.
		demos = slots(base, "demo", 7, host=shop["manager"])
		assert at(7, 13, 15) not in demos
	finally:
		frappe.db.rollback()
		frappe.db.set_value("CRM Appointment Host", USERS["user"], "enabled", 1)
		frappe.db.commit()


def test_a_full_day_is_refused_to_customers_and_staff_are_only_warned(shop, base):
	first = book(base, start=at(8, 9), type="fitting")
	assert first.status_code == 200, first.text
	assert slots(base, "fitting", 8) == []
	assert slots(base, "fitting", 9)[0] == at(9, 9)
	second = book(base, start=at(8, 14), type="fitting")
	assert second.status_code == 409 and error(second)["param"] == "start"

	frappe.db.rollback()
	frappe.set_user(USERS["manager"])
	frappe.clear_messages()
	doc = frappe.get_doc(
		{
			"doctype": APPOINTMENT,
			"appointment_type": "fitting",
			"customer_name": "Walk-in",
			"customer_email": "walkin@example.org",
			"scheduled_time": test_api_bookings.site_time(at(8, 15)),
			"status": "Scheduled",
			"host": USERS["manager"],
		}
	).insert()
	assert doc.duration == 60 and doc.location == SHOP  # from the type
	warnings = [m.get("message", "") if isinstance(m, dict) else m for m in frappe.local.message_log]
	assert any("at most 1" in w for w in warnings), warnings
	frappe.set_user("Administrator")
	frappe.db.commit()


def test_twenty_guests_racing_for_a_types_last_slot_give_exactly_one_booking(shop, base):
	from tests.test_concurrency import at_once

	start = at(10, 10)
	answers = at_once(
		20, lambda i: book(base, start=start, type="fitting", customer_email=f"fit{i}@example.org")
	)

	assert sorted(a.status_code for a in answers) == [200] + [409] * 19, [
		a.text[:200] for a in answers if a.status_code not in (200, 409)
	]
	frappe.db.rollback()
	assert frappe.db.count(APPOINTMENT, {"customer_email": ("like", "fit%@example.org")}) == 1


# -- what the desk and the host see -----------------------------------------------------------------------


def test_the_answers_reach_the_hosts_notification_escaped(shop, base):
	answer = book(
		base,
		start=at(11, 9),
		type="demo",
		host=shop["user"],
		answers=demo_answers(Company='<img src=x onerror="alert(1)">'),
	)
	assert answer.status_code == 200, answer.text
	frappe.db.rollback()
	todo = frappe.get_all(
		"ToDo",
		filters={"reference_type": APPOINTMENT, "reference_name": answer.json()["id"]},
		pluck="description",
	)
	assert todo and "&lt;img src=x" in todo[0] and "<img" not in todo[0]
	assert "https://meet.jit.si/" in todo[0]
