"""A host's own Frappe Events block their slots and the overlap rule (contract.md, "Outside
calendars"): timed, weekly on chosen days, all day in the host's zone, as a participant; not when
closed or cancelled, not someone else's, not an appointment's own Event.

The test user is a host working all day every day in Berlin; Events are made as they would be in the
desk (the host's own, through the ORM), in the site's time zone (Asia/Kolkata) like every stored time.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
import pytest

from crm_appointments.core.exceptions import DoubleBookingError
from crm_appointments.scheduling import slots
from crm_appointments.scheduling.host_calendars import to_site
from tests import factories
from tests.factories import USERS

BERLIN = ZoneInfo("Europe/Berlin")
HOST = USERS["user"]


@pytest.fixture
def host():
	factories.host("user", time_zone="Europe/Berlin")
	with factories.booking_settings(
		minimum_notice=0, booking_horizon=60, slot_interval=0, booking_duration=60
	):
		yield HOST


def berlin(day: date, hour: int) -> datetime:
	return datetime.combine(day, datetime.min.time()).replace(hour=hour, tzinfo=BERLIN)


def ahead(days: int) -> date:
	return date.today() + timedelta(days=days)


def event(owner=HOST, **fields):
	"""An Event as its owner makes it in the desk."""
	frappe.set_user(owner)
	try:
		return frappe.get_doc(
			{"doctype": "Event", "subject": "Dentist", "event_type": "Private", **fields}
		).insert()
	finally:
		frappe.set_user("Administrator")


def starts_on(day: date, *hours: int) -> set:
	"""Which of these Berlin hours of the day the host's slots (of an hour) offer."""
	offered = {s for s, _ in slots.free_slots(day, day, "Europe/Berlin", [HOST])}
	return {h for h in hours if berlin(day, h) in offered}


def test_a_timed_event_of_the_host_blocks_its_time_and_no_more(host):
	day = ahead(5)
	assert starts_on(day, 9, 10, 11, 12) == {9, 10, 11, 12}
	event(starts_on=to_site(berlin(day, 10)), ends_on=to_site(berlin(day, 11) + timedelta(minutes=30)))
	assert starts_on(day, 9, 10, 11, 12) == {9, 12}


def test_a_weekly_event_on_chosen_days_blocks_each_of_them_until_its_last_date(host):
	first = ahead(3)
	weekday = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][first.weekday()]
	event(
		starts_on=to_site(berlin(first, 9)),
		ends_on=to_site(berlin(first, 10)),
		repeat_this_event=1,
		repeat_on="Weekly",
		repeat_till=first + timedelta(days=14),
		**{weekday: 1},
	)
	for week in range(3):
		assert starts_on(first + timedelta(days=7 * week), 9, 10) == {10}, week
	assert starts_on(first + timedelta(days=1), 9) == {9}  # not that weekday
	assert starts_on(first + timedelta(days=21), 9) == {9}  # after its last date


def test_an_all_day_event_blocks_the_whole_day_in_the_hosts_zone(host):
	day = ahead(6)
	event(starts_on=datetime.combine(day, datetime.min.time()), all_day=1)
	assert starts_on(day, 0, 9, 23) == set()
	assert starts_on(day + timedelta(days=1), 0) == {0}
	assert starts_on(day - timedelta(days=1), 23) == {23}


def test_closed_cancelled_and_other_peoples_events_do_not_block(host):
	day = ahead(7)
	at = {"starts_on": to_site(berlin(day, 9)), "ends_on": to_site(berlin(day, 10))}
	event(status="Closed", **at)
	event(status="Cancelled", **at)
	event(owner=USERS["manager"], event_type="Public", **at)
	assert starts_on(day, 9) == {9}


def test_an_event_naming_the_host_as_a_participant_blocks_them(host):
	day = ahead(8)
	event(
		owner=USERS["manager"],
		event_type="Public",
		starts_on=to_site(berlin(day, 14)),
		ends_on=to_site(berlin(day, 15)),
		event_participants=[{"reference_doctype": "CRM Appointment Host", "reference_docname": HOST}],
	)
	assert starts_on(day, 13, 14, 15) == {13, 15}


def test_a_save_over_a_meeting_is_refused_without_saying_what_it_is_and_its_own_event_never_blocks(host):
	day = ahead(9)
	event(
		subject="Secret board meeting", starts_on=to_site(berlin(day, 10)), ends_on=to_site(berlin(day, 11))
	)
	with pytest.raises(DoubleBookingError, match="another meeting") as refused:
		factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 10)), duration=30)
	assert "Secret" not in str(refused.value)
	# An appointment's own Event is the appointment: moving it within its own time is no clash.
	doc = factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 12)), duration=30)
	assert doc.calendar_event
	doc.duration = 45
	doc.save()
	assert starts_on(day, 12) == set()
