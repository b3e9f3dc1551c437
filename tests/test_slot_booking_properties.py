"""A slot offered can be booked (hypothesis, on the real site through the ORM): random hosts, hours,
time off, settings and appointments in the database; whatever start the slots answer offers, a
scheduled appointment of a host free then saves, the same host at a clashing start is refused, and a
start stays offered only while some host is still free at it."""

from datetime import date, datetime, time, timedelta

import frappe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_appointments.core.exceptions import DoubleBookingError
from crm_appointments.scheduling import availability, host_calendars, slots
from harness.site_data import make_desk_user
from tests import factories
from tests.factories import USERS

EXAMPLES = settings(
	max_examples=8,
	deadline=None,
	database=None,
	suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ZONES = (None, "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC")
# Blocks that never overlap whatever subset a day gets (22:00-02:00 ends before the next 08:00).
BLOCKS = (("08:00", "12:00"), ("12:00", "13:30"), ("14:00", "17:30"), ("22:00", "02:00"))
THIRD = "crm-test-slot-host@example.com"


@pytest.fixture
def host_users():
	"""The test users with a CRM role, and one more (rolled back with the test)."""
	make_desk_user(THIRD, "Slot host", "CRM Appointment User")
	return [USERS["user"], USERS["manager"], THIRD]


def attempt(**fields):
	"""Insert an appointment in a savepoint: the document, or the DoubleBookingError that refused it."""
	frappe.db.savepoint("attempt")
	try:
		return factories.make(**fields)
	except DoubleBookingError as refused:
		frappe.db.rollback(save_point="attempt")
		return refused


@EXAMPLES
@given(st.data())
def test_every_offered_slot_can_be_booked_and_a_clashing_start_cannot(host_users, data):
	frappe.db.savepoint("example")
	try:
		book_what_is_offered(host_users, data)
	finally:
		frappe.db.rollback(save_point="example")


def book_what_is_offered(host_users, data):
	draw = data.draw
	settings_doc = frappe.get_single("CRM Appointment Settings")
	settings_doc.update(
		{
			"buffer_minutes": draw(st.sampled_from([0, 10, 15, 30])),
			"slot_interval": draw(st.sampled_from([0, 15, 20, 30])),
			"minimum_notice": draw(st.sampled_from([0, 120])),
			"booking_horizon": 60,
		}
	)
	settings_doc.save()
	buffer = settings_doc.buffer_minutes
	day = date.today() + timedelta(days=draw(st.integers(2, 40)))
	noon = datetime.combine(day, time(12))

	hosts = draw(st.lists(st.sampled_from(host_users), min_size=1, max_size=3, unique=True))
	for user in hosts:
		hours = [
			(weekday, *block)
			for weekday in range(7)
			for block in draw(st.lists(st.sampled_from(BLOCKS), max_size=3, unique=True))
		]
		off = []
		if draw(st.booleans()):
			start = noon + timedelta(minutes=15 * draw(st.integers(-96, 96)))
			off.append((start, start + timedelta(minutes=15 * draw(st.integers(1, 24)))))
		factories.host(user, hours=hours, time_zone=draw(st.sampled_from(ZONES)), time_off=off)
	for _ in range(draw(st.integers(0, 6))):
		attempt(
			status=draw(st.sampled_from(["scheduled", "confirmed", "draft"])),
			host=draw(st.sampled_from(hosts)),
			scheduled_time=noon + timedelta(minutes=5 * draw(st.integers(-120, 240))),
			duration=draw(st.sampled_from([15, 30, 60, 90])),
		)

	duration = draw(st.sampled_from([30, 45, 60]))
	zone = draw(st.sampled_from(["Asia/Kolkata", "Europe/Berlin", "Pacific/Chatham"]))
	for _ in range(3):
		offered = [start for start, _ in slots.free_slots(day, day + timedelta(days=1), zone, None, duration)]
		if not offered:
			break
		start = draw(st.sampled_from(offered))
		query = slots.query_for(start, start + timedelta(seconds=1), duration)
		calendars = host_calendars.calendars(None, start, start + timedelta(minutes=1), buffer)
		free = availability.free_hosts(calendars, start, query)
		assert free, f"{start} is offered but no host is free then"
		host = draw(st.sampled_from(free))
		stored = host_calendars.to_site(start)
		booked = attempt(status="scheduled", host=host, scheduled_time=stored, duration=duration)
		assert not isinstance(booked, DoubleBookingError), (start, host, booked)
		# The same host at any start whose held time meets this one's is refused.
		reach = (duration + buffer) // 5
		shift = timedelta(minutes=5 * draw(st.integers(-reach + 1, reach - 1)))
		clashing = attempt(status="confirmed", host=host, scheduled_time=stored + shift, duration=duration)
		assert isinstance(clashing, DoubleBookingError), (start, shift)
		# The start stays offered exactly while another host is free then.
		others = [h for h in free if h != host]
		still = [s for s, _ in slots.free_slots(day, day + timedelta(days=1), zone, None, duration)]
		assert (start in still) == bool(others)
		assert start not in [
			s for s, _ in slots.free_slots(day, day + timedelta(days=1), zone, [host], duration)
		]
