"""GET /api/crm/slots over Frappe's request pipeline: who may ask, what the answer looks like, and
that a slot offered can be booked."""

from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import frappe
import pytest

from tests import factories
from tests.factories import USERS
from tests.http import error_of

URL = "/api/crm/slots"


@pytest.fixture
def host(committed):
	doc = factories.host("user", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	return doc


def days_ahead(n):
	return (date.today() + timedelta(days=n)).isoformat()


def test_staff_get_free_slots_in_the_zone_asked(api, keys, host):
	day = days_ahead(3)
	response = api.get(f"{URL}?start={day}&end={day}&time_zone=Europe/Berlin&duration=60", key=keys["user"])
	assert response.status_code == 200, response.get_data(as_text=True)
	body = response.get_json()
	assert body["time_zone"] == "Europe/Berlin"
	starts = [datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in body["data"]]
	local = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in starts]
	assert local == ["09:00", "10:00", "11:00"]
	assert all(s["end"] > s["start"] for s in body["data"])


def test_a_booked_slot_is_no_longer_offered_and_every_offered_slot_can_be_booked(api, keys, host):
	day = days_ahead(4)
	ask = f"{URL}?start={day}&end={day}&duration=60&time_zone=UTC"
	slots = api.get(ask, key=keys["user"]).get_json()["data"]
	for slot in slots:
		response = api.post(
			"/api/crm/appointment",
			key=keys["manager"],
			json=factories.api_body(
				scheduled_time=slot["start"], status="scheduled", duration=60, host=USERS["user"]
			),
		)
		assert response.status_code == 200, response.get_data(as_text=True)
	assert api.get(ask, key=keys["user"]).get_json()["data"] == []
	again = api.post(
		"/api/crm/appointment",
		key=keys["manager"],
		json=factories.api_body(
			scheduled_time=slots[0]["start"], status="scheduled", duration=60, host=USERS["user"]
		),
	)
	assert again.status_code == 409
	error = error_of(again)
	assert (error["type"], error["param"]) == ("conflict_error", "scheduled_time")


def test_guests_get_404_while_booking_is_off_and_nobody_gets_403(api, keys, host):
	day = days_ahead(3)
	response = api.get(f"{URL}?start={day}&end={day}")
	assert response.status_code == 404
	assert api.get(f"{URL}?start={day}&end={day}", key=keys["nobody"]).status_code == 403


@pytest.mark.parametrize(
	("query", "param"),
	[
		("end=2030-01-01", "start"),
		("start=2030-01-01", "end"),
		("start=2030-01-10&end=2030-01-01", "end"),
		("start=2030-01-01&end=2030-03-05", "end"),
		("start=2030-1-1&end=2030-01-02", "start"),
		("start=2030-01-01&end=2030-01-02&time_zone=Mars/Olympus", "time_zone"),
		("start=2030-01-01&end=2030-01-02&duration=4", "duration"),
		("start=2030-01-01&end=2030-01-02&host=nobody@example.com", "host"),
		("start=2030-01-01&end=2030-01-02&colour=red", "colour"),
	],
)
def test_bad_parameters_are_a_400_naming_them(api, keys, host, query, param):
	response = api.get(f"{URL}?{query}", key=keys["user"])
	assert response.status_code == 400, response.get_data(as_text=True)
	assert error_of(response)["param"] == param


# -- the arithmetic through the route ----------------------------------------------------------------
# The test site's zone is Asia/Kolkata (UTC+05:30, no DST); stored times are naive in it, and a host
# without a zone of their own is in it.

SETTINGS = "CRM Appointment Settings"
HOST_DOCTYPE = "CRM Appointment Host"
BERLIN, KOLKATA, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
OTHER_HOST = USERS["manager"]


@pytest.fixture
def booking(committed):
	"""Booking settings for one test, committed (requests read them) and put back afterwards. They
	start at: notice 120 minutes, horizon 730 days, no buffer, slot interval the duration."""
	fields = ("minimum_notice", "booking_horizon", "buffer_minutes", "slot_interval", "booking_duration")
	before = {f: frappe.get_single(SETTINGS).get(f) for f in fields}

	def apply(**values):
		settings = frappe.get_single(SETTINGS)
		settings.update(values)
		settings.save()
		frappe.db.commit()

	apply(minimum_notice=120, booking_horizon=730, buffer_minutes=0, slot_interval=0)
	yield apply
	frappe.db.rollback()
	apply(**before)


def free(api, keys, start: date, end: date | None = None, **params) -> list[tuple[datetime, datetime]]:
	"""The slots answer for [start, end] as (start, end) aware datetimes."""
	query = urlencode({"start": start.isoformat(), "end": (end or start).isoformat(), **params})
	response = api.get(f"{URL}?{query}", key=keys["user"])
	assert response.status_code == 200, response.get_data(as_text=True)
	body = response.get_json()
	assert body["time_zone"] == params.get("time_zone", "Asia/Kolkata")
	return [(utc_of(s["start"]), utc_of(s["end"])) for s in body["data"]]


def utc_of(text: str) -> datetime:
	assert text.endswith("Z"), text
	return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def local(found, zone=KOLKATA, form="%H:%M") -> list[str]:
	return [start.astimezone(zone).strftime(form) for start, _ in found]


def next_weekday(weekday: int, after: int = 3) -> date:
	"""The first day with this weekday (0 is Monday) at least `after` days from today."""
	day = date.today() + timedelta(days=after)
	return day + timedelta(days=(weekday - day.weekday()) % 7)


def last_sunday(year: int, month: int) -> date:
	day = date(year, month + 1, 1) - timedelta(days=1)
	return day - timedelta(days=(day.weekday() - 6) % 7)


def next_change(month: int) -> date:
	"""The next last Sunday of March or October (Berlin's clocks change then) at least 3 days away."""
	year = date.today().year
	while last_sunday(year, month) < date.today() + timedelta(days=3):
		year += 1
	return last_sunday(year, month)


def every_day(start: str, end: str) -> list:
	return [(day, start, end) for day in range(7)]


@pytest.mark.parametrize(
	("month", "expected"),
	[
		# Spring: 02:00 CET becomes 03:00 CEST; Saturday's 22:00-02:00 ends at the jump, 03:00 CEST.
		(
			3,
			[
				"Sat 09:00 CET 08:00",
				"Sat 10:00 CET 09:00",
				"Sat 22:00 CET 21:00",
				"Sat 23:00 CET 22:00",
				"Sun 00:00 CET 23:00",
				"Sun 01:00 CET 00:00",
				"Mon 09:00 CEST 07:00",
				"Mon 10:00 CEST 08:00",
			],
		),
		# Autumn: 03:00 CEST becomes 02:00 CET; Saturday's 22:00-02:00 ends at the second 02:00.
		(
			10,
			[
				"Sat 09:00 CEST 07:00",
				"Sat 10:00 CEST 08:00",
				"Sat 22:00 CEST 20:00",
				"Sat 23:00 CEST 21:00",
				"Sun 00:00 CEST 22:00",
				"Sun 01:00 CEST 23:00",
				"Sun 02:00 CEST 00:00",
				"Mon 09:00 CET 08:00",
				"Mon 10:00 CET 09:00",
			],
		),
	],
)
def test_a_change_of_clocks_inside_the_range_keeps_the_hosts_local_hours(api, keys, booking, month, expected):
	sunday = next_change(month)
	factories.host(
		"user",
		hours=[(5, "09:00", "11:00"), (5, "22:00", "02:00"), (0, "09:00", "11:00")],
		time_zone="Europe/Berlin",
	)
	frappe.db.commit()
	found = free(
		api,
		keys,
		sunday - timedelta(days=1),
		sunday + timedelta(days=1),
		time_zone="Europe/Berlin",
		duration=60,
	)
	assert [f"{s.astimezone(BERLIN):%a %H:%M %Z} {s:%H:%M}" for s, _ in found] == expected
	assert all(end - start == timedelta(hours=1) for start, end in found)
	# The same slots whatever zone the days are counted in, as long as the range covers them.
	in_utc = free(
		api, keys, sunday - timedelta(days=2), sunday + timedelta(days=2), time_zone="UTC", duration=60
	)
	assert in_utc == found


def test_days_are_counted_in_the_zone_asked_even_half_an_hour_off(api, keys, booking):
	day = date.today() + timedelta(days=5)
	factories.host("user", hours=every_day("18:00", "20:00"), time_zone="UTC")
	frappe.db.commit()
	# A day in Kolkata runs from 18:30 UTC the day before: the block of the day before is cut at its
	# 18:30, and the day's own block at 18:30.
	found = free(api, keys, day, time_zone="Asia/Kolkata", duration=30)
	assert local(found, form="%d %H:%M") == [
		f"{day:%d} 00:00",
		f"{day:%d} 00:30",
		f"{day:%d} 01:00",
		f"{day:%d} 23:30",
	]
	assert [s.strftime("%H:%M") for s, _ in found] == ["18:30", "19:00", "19:30", "18:00"]
	assert local(free(api, keys, day, time_zone="UTC", duration=30), timezone.utc) == [
		"18:00",
		"18:30",
		"19:00",
		"19:30",
	]


def test_a_host_in_the_site_zone_gets_starts_half_an_hour_off_utc(api, keys, booking):
	day = date.today() + timedelta(days=5)
	factories.host("user", hours=every_day("09:00", "11:00"))
	frappe.db.commit()
	found = free(api, keys, day, time_zone="Asia/Kolkata", duration=60)
	assert [s.strftime("%H:%M") for s, _ in found] == ["03:30", "04:30"]
	assert local(found) == ["09:00", "10:00"]


def test_a_block_across_midnight_in_the_hosts_zone(api, keys, booking):
	friday = next_weekday(4)
	factories.host("user", hours=[(4, "22:00", "02:00")], time_zone="America/New_York")
	frappe.db.commit()
	form = "%a %H:%M"
	both = free(api, keys, friday, friday + timedelta(days=1), time_zone="America/New_York", duration=60)
	assert local(both, NEW_YORK, form) == ["Fri 22:00", "Fri 23:00", "Sat 00:00", "Sat 01:00"]
	saturday = free(api, keys, friday + timedelta(days=1), time_zone="America/New_York", duration=60)
	assert local(saturday, NEW_YORK, form) == ["Sat 00:00", "Sat 01:00"]
	# 90 minutes fit from 22:00 only: the next step, 23:30, would end after 02:00.
	longer = free(api, keys, friday, friday + timedelta(days=1), time_zone="America/New_York", duration=90)
	assert local(longer, NEW_YORK, form) == ["Fri 22:00", "Fri 23:30"]


def test_minimum_notice_and_horizon_come_from_the_settings(api, keys, booking):
	booking(minimum_notice=300, booking_horizon=2)
	factories.host("user")  # every day, all day, in the site's zone
	frappe.db.commit()
	before = datetime.now(timezone.utc)
	found = free(api, keys, date.today() - timedelta(days=1), date.today() + timedelta(days=5), duration=60)
	after = datetime.now(timezone.utc)
	starts = [s for s, _ in found]
	assert starts == [starts[0] + timedelta(hours=i) for i in range(len(starts))]
	assert {s.astimezone(KOLKATA).minute for s in starts} == {0}  # steps from the blocks' 00:00
	# The first start is the first whole hour at least 5 hours from now; the last the last one at
	# most 2 days from now.
	assert before + timedelta(minutes=300) <= starts[0] < after + timedelta(minutes=300 + 60)
	assert before + timedelta(days=2) - timedelta(hours=1) < starts[-1] <= after + timedelta(days=2)


def test_the_buffer_keeps_time_free_after_each_appointment(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=every_day("09:00", "13:00"))
	factories.make(
		status="scheduled", host=USERS["user"], scheduled_time=datetime.combine(day, time(10)), duration=60
	)
	frappe.db.commit()
	booking(slot_interval=30)
	assert local(free(api, keys, day, duration=60)) == ["09:00", "11:00", "11:30", "12:00"]
	# With 30 minutes after each: the booked one holds 10:00-11:30, and a slot at 09:00 would hold
	# until 10:30.
	booking(buffer_minutes=30)
	assert local(free(api, keys, day, duration=60)) == ["11:30", "12:00"]


def test_time_off_is_not_offered(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host(
		"user",
		hours=every_day("09:00", "13:00"),
		time_off=[(datetime.combine(day, time(10, 30)), datetime.combine(day, time(11, 15)))],
	)
	frappe.db.commit()
	booking(slot_interval=30)
	assert local(free(api, keys, day, duration=60)) == ["09:00", "09:30", "11:30", "12:00"]
	# Another day is not touched.
	assert len(free(api, keys, day + timedelta(days=1), duration=60)) == 7


def test_a_start_is_offered_while_any_host_is_free_and_host_narrows_it(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=every_day("09:00", "11:00"))
	factories.host("manager", hours=every_day("09:00", "12:00"))
	frappe.db.commit()

	def book(host, hour):
		factories.make(
			status="scheduled", host=host, scheduled_time=datetime.combine(day, time(hour)), duration=60
		)
		frappe.db.commit()

	def offered(**params):
		return local(free(api, keys, day, duration=60, **params))

	assert offered() == ["09:00", "10:00", "11:00"]
	assert offered(host=USERS["user"]) == ["09:00", "10:00"]
	assert offered(host=OTHER_HOST) == ["09:00", "10:00", "11:00"]
	book(USERS["user"], 9)
	assert offered() == ["09:00", "10:00", "11:00"]  # the other host is still free at 09:00
	assert offered(host=USERS["user"]) == ["10:00"]
	book(OTHER_HOST, 9)
	assert offered() == ["10:00", "11:00"]  # now both are taken at 09:00
	book(OTHER_HOST, 11)
	assert offered() == ["10:00"]  # the first host has no hours at 11:00
	book(OTHER_HOST, 10)
	assert offered() == ["10:00"]
	assert offered(host=OTHER_HOST) == []
	book(USERS["user"], 10)
	assert offered() == []
	# A disabled host offers nothing, and cannot be asked for.
	factories.host("manager", hours=every_day("09:00", "23:00"), enabled=0)
	frappe.db.commit()
	assert offered() == []
	response = api.get(f"{URL}?start={day}&end={day}&host={OTHER_HOST}", key=keys["user"])
	assert (response.status_code, error_of(response)["param"]) == (400, "host")


def test_duration_comes_from_the_query_or_the_settings_and_steps_by_it(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=every_day("09:00", "12:00"))
	frappe.db.commit()
	booking(booking_duration=120)
	assert local(free(api, keys, day, duration=90)) == ["09:00", "10:30"]
	assert local(free(api, keys, day, duration=45)) == ["09:00", "09:45", "10:30", "11:15"]
	found = free(api, keys, day)
	assert local(found) == ["09:00"]
	assert found[0][1] - found[0][0] == timedelta(minutes=120)


def test_the_slot_interval_setting_steps_the_starts(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=every_day("09:00", "12:00"))
	frappe.db.commit()
	booking(slot_interval=20)
	found = free(api, keys, day, duration=60)
	assert local(found) == ["09:00", "09:20", "09:40", "10:00", "10:20", "10:40", "11:00"]
	assert all(end - start == timedelta(minutes=60) for start, end in found)


def test_blocks_that_touch_are_one_stretch(api, keys, booking):
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=[*every_day("09:00", "12:00"), *every_day("12:00", "13:30")])
	frappe.db.commit()
	booking(slot_interval=45)
	# Steps of 45 minutes from 09:00 and from 12:00; 11:15-12:15 runs from one block into the next.
	assert local(free(api, keys, day, duration=60)) == ["09:00", "09:45", "10:30", "11:15", "12:00"]


def test_a_user_narrowed_to_one_host_gets_only_that_hosts_slots(api, keys, booking):
	"""Slots go by the hosts the caller may read: a User Permission on hosts narrows them, and a host
	outside it is the same 400 as one that does not exist. Guests (booking on) see every host."""
	day = date.today() + timedelta(days=4)
	factories.host("user", hours=every_day("09:00", "10:00"))
	factories.host("manager", hours=every_day("11:00", "12:00"))
	frappe.db.commit()
	query = f"{URL}?start={day}&end={day}&duration=60"

	def offered(**params):
		return local(free(api, keys, day, duration=60, **params))

	assert offered() == ["09:00", "11:00"]
	narrowing = frappe.get_doc(
		{
			"doctype": "User Permission",
			"user": USERS["user"],
			"allow": HOST_DOCTYPE,
			"for_value": USERS["user"],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		assert offered() == ["09:00"]
		assert offered(host=USERS["user"]) == ["09:00"]
		refused = api.get(f"{query}&host={OTHER_HOST}", key=keys["user"])
		assert (refused.status_code, error_of(refused)["param"]) == (400, "host")
		unknown = api.get(f"{query}&host=x@example.com", key=keys["user"])
		assert error_of(refused)["message"] == error_of(unknown)["message"].replace(
			"x@example.com", OTHER_HOST
		)
		# Others are not narrowed by it; nor is the public page's answer.
		manager = api.get(query, key=keys["manager"]).get_json()["data"]
		assert local([(utc_of(s["start"]), utc_of(s["end"])) for s in manager]) == ["09:00", "11:00"]
		frappe.db.set_single_value(SETTINGS, "enable_public_booking", 1)
		frappe.db.commit()
		guest = api.get(query).get_json()["data"]
		assert local([(utc_of(s["start"]), utc_of(s["end"])) for s in guest]) == ["09:00", "11:00"]
	finally:
		frappe.db.rollback()
		frappe.db.set_single_value(SETTINGS, "enable_public_booking", 0)
		frappe.delete_doc("User Permission", narrowing.name, ignore_permissions=True)
		frappe.db.commit()
