"""The slot arithmetic (crm_appointments/availability.py) against a brute-force reference.

The reference knows nothing of availability.py's shortcuts: it walks UTC minute by minute, reads the
host's wall clock with zoneinfo at each minute, takes a block's start where its start time is first
shown and its end where its end time is last shown (a time the clock skips: the minute it jumps over
it), and checks every minute of each candidate slot against the hours, the time off and the busy
time. Every zone offset and every change of one falls on a whole minute, so minutes are exact.

Hypothesis draws hosts in zones with half- and quarter-hour offsets and DST changes (Lord Howe's
is half an hour), weekly blocks (several a day, some across midnight) and ranges of a few days, half
of them around a DST change of one of the zones.
"""

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_appointments.scheduling import availability
from crm_appointments.scheduling.availability import HostCalendar, SlotQuery, WeeklyBlock

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = (
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",
	"Asia/Kolkata",
	"Asia/Kathmandu",
	"America/Sao_Paulo",
	"Pacific/Chatham",
	"UTC",
)
FIRST_YEAR, LAST_YEAR = 2017, 2031  # Sao Paulo still changed its clocks in 2017-2019
PROPERTIES = settings(max_examples=80, deadline=None, database=None)


def changes_of(name: str) -> list[date]:
	"""The UTC days on which the zone's offset changes (days where it differs at 00:00 and 24:00)."""
	zone = ZoneInfo(name)
	days, day = [], date(FIRST_YEAR, 1, 1)
	offset = datetime.combine(day, time(0), UTC).astimezone(zone).utcoffset()
	while day.year <= LAST_YEAR:
		following = datetime.combine(day + timedelta(days=1), time(0), UTC).astimezone(zone).utcoffset()
		if following != offset:
			days.append(day)
		day, offset = day + timedelta(days=1), following
	return days


CHANGES = sorted({d for name in ZONES for d in changes_of(name)})


# -- the reference -------------------------------------------------------------------------------------


class Clock:
	"""The wall clock of one zone over a stretch of UTC minutes, read minute by minute."""

	def __init__(self, zone: ZoneInfo, since: datetime, until: datetime):
		self.minutes = []
		self.walls = []
		self.shown: dict[datetime, list[datetime]] = {}
		moment = since
		while moment <= until:
			wall = moment.astimezone(zone).replace(tzinfo=None)
			self.minutes.append(moment)
			self.walls.append(wall)
			self.shown.setdefault(wall, []).append(moment)
			moment += MINUTE

	def days(self) -> list[date]:
		"""The local days this stretch covers whole, with the day after (where a block may end)."""
		seen = sorted({w.date() for w in self.walls})
		return seen[1:-2]

	def first(self, wall: datetime) -> datetime:
		return self.shown[wall][0] if wall in self.shown else self.jump_over(wall)

	def last(self, wall: datetime) -> datetime:
		return self.shown[wall][-1] if wall in self.shown else self.jump_over(wall)

	def jump_over(self, wall: datetime) -> datetime:
		"""The minute at which the clock, showing a time before `wall` a minute earlier, shows one after."""
		for i in range(1, len(self.walls)):
			if self.walls[i - 1] < wall < self.walls[i]:
				return self.minutes[i]
		raise AssertionError(f"{wall} is neither shown nor skipped in the walked stretch")


@dataclass
class Reference:
	"""One host's calendar, the brute-force way."""

	calendar: HostCalendar
	since: datetime  # the stretch of interest (slot starts)
	until: datetime

	def __post_init__(self):
		self.clock = Clock(self.calendar.zone, self.since - timedelta(days=3), self.until + timedelta(days=3))
		self.windows = []  # (start, end) of each block on each day, in the order found
		for day in self.clock.days():
			for block in self.calendar.blocks:
				if block.weekday != day.weekday():
					continue
				start = self.clock.first(datetime.combine(day, block.start))
				end_day = day + timedelta(days=1) if block.end <= block.start else day
				end = self.clock.last(datetime.combine(end_day, block.end))
				if start < end:
					self.windows.append((start, end))
		self.hours = {m for start, end in self.windows for m in minutes(start, end)}
		self.off = {m for start, end in self.calendar.time_off for m in minutes(start, end)}
		self.busy = {m for start, end in self.calendar.busy for m in minutes(start, end)}

	def in_hours(self, start: datetime, duration: int) -> bool:
		"""Every minute of [start, start + duration) is in some block and in no time off."""
		span = minutes(start, start + timedelta(minutes=duration))
		return all(m in self.hours and m not in self.off for m in span)

	def free_starts(self, query: SlotQuery) -> list[datetime]:
		found = set()
		step = timedelta(minutes=query.interval)
		for window_start, window_end in self.windows:
			start = window_start
			while start < window_end:  # each step from the block's start, inside the block
				if (
					query.since <= start < query.until
					and query.earliest <= start <= query.latest
					and self.in_hours(start, query.duration)
					and not any(a <= start < b for a, b in self.calendar.closed)
					and not any(
						m in self.busy
						for m in minutes(
							start - timedelta(minutes=query.buffer_before),
							start + timedelta(minutes=query.duration + query.buffer),
						)
					)
				):
					found.add(start)
				start += step
		return sorted(found)


def minutes(start: datetime, end: datetime):
	"""The whole UTC minutes in [start, end) (start is on a minute)."""
	moment = start
	while moment < end:
		yield moment
		moment += MINUTE


# -- strategies ------------------------------------------------------------------------------------------

FIVE = timedelta(minutes=5)


@st.composite
def weekly_blocks(draw) -> list[WeeklyBlock]:
	"""Blocks that never overlap in wall time (they may touch), some across midnight, several a day:
	consecutive stretches on the week's circle of 5-minute marks, each at most a day long."""
	week = 7 * 288
	mark = draw(st.integers(0, week - 1))
	end_of_week = mark + week
	blocks = []
	for _ in range(draw(st.integers(1, 8))):
		gap = draw(st.one_of(st.just(0), st.integers(1, 400)))
		length = draw(st.one_of(st.integers(1, 60), st.integers(61, 288)))
		start, end = mark + gap, mark + gap + length
		if end > end_of_week:
			break
		blocks.append(WeeklyBlock(start // 288 % 7, at(start % 288), at(end % 288)))
		mark = end
	return blocks


def at(mark: int) -> time:
	return time(mark * 5 // 60, mark * 5 % 60)


@st.composite
def ranges(draw) -> tuple[datetime, datetime]:
	"""A stretch of one to three days, half the time around a change of clocks."""
	day = draw(
		st.one_of(
			st.sampled_from(CHANGES),
			st.dates(date(FIRST_YEAR, 1, 10), date(LAST_YEAR, 12, 20)),
		)
	)
	since = datetime.combine(day, time(0), UTC) + FIVE * draw(st.integers(-432, 288))
	return since, since + FIVE * draw(st.integers(1, 3 * 288))


def spans_around(draw, since: datetime, until: datetime, most: int, longest: int) -> list:
	spans = []
	for _ in range(draw(st.integers(0, most))):
		start = since + FIVE * draw(st.integers(-288, (until - since) // FIVE + 288))
		spans.append((start, start + FIVE * draw(st.integers(1, longest // 5))))
	return spans


@st.composite
def cases(draw, hosts=(1, 3)):
	since, until = draw(ranges())
	duration = 5 * draw(st.integers(1, 48))
	buffer = 5 * draw(st.integers(0, 12))
	earliest = since + FIVE * draw(st.integers(-288, 288))
	if draw(st.booleans()):  # now + notice is rarely on a whole minute
		earliest += timedelta(seconds=draw(st.integers(1, 59)), microseconds=draw(st.integers(0, 999999)))
	query = SlotQuery(
		since=since,
		until=until,
		duration=duration,
		interval=5 * draw(st.integers(1, 48)),
		buffer=buffer,
		earliest=earliest,
		latest=earliest + FIVE * draw(st.integers(0, 4 * 288)),
		buffer_before=5 * draw(st.integers(0, 6)),
	)
	calendars = []
	for number in range(draw(st.integers(*hosts))):
		# Each live appointment padded by its own type's buffers (before, after).
		busy = [
			(
				start - FIVE * draw(st.integers(0, 6)),
				start + FIVE * draw(st.integers(0, 12)) + (end - start),
			)
			for start, end in spans_around(draw, since, until, 4, 240)
		]
		calendars.append(
			HostCalendar(
				host=f"host{number}@example.com",
				zone=ZoneInfo(draw(st.sampled_from(ZONES))),
				blocks=draw(weekly_blocks()),
				time_off=spans_around(draw, since, until, 2, 1440),
				busy=busy,
				closed=spans_around(draw, since, until, 1, 1440),
			)
		)
	return calendars, query


# -- the properties --------------------------------------------------------------------------------------


@PROPERTIES
@given(cases())
def test_free_starts_are_the_brute_force_ones(case):
	calendars, query = case
	for calendar in calendars:
		expected = Reference(calendar, query.since, query.until).free_starts(query)
		assert availability.free_starts(calendar, query) == expected, calendar


@PROPERTIES
@given(cases())
def test_slots_are_the_starts_where_any_host_is_free(case):
	calendars, query = case
	starts = sorted({s for c in calendars for s in Reference(c, query.since, query.until).free_starts(query)})
	length = timedelta(minutes=query.duration)
	assert availability.slots(calendars, query) == [(s, s + length) for s in starts]


@PROPERTIES
@given(cases(hosts=(2, 3)), st.data())
def test_free_hosts_are_the_hosts_free_at_a_start(case, data):
	calendars, query = case
	references = [Reference(c, query.since, query.until) for c in calendars]
	offered = sorted({s for r in references for s in r.free_starts(query)})
	if offered:
		start = data.draw(st.sampled_from(offered))
		expected = [r.calendar.host for r in references if start in r.free_starts(query)]
		assert availability.free_hosts(calendars, start, query) == expected
	# A start off every block's steps, or outside the range, has no free host.
	stray = query.since + timedelta(minutes=data.draw(st.integers(-1440, 4 * 1440)))
	expected = [r.calendar.host for r in references if stray in r.free_starts(_around(query, stray))]
	assert availability.free_hosts(calendars, stray, query) == expected


def _around(query: SlotQuery, start: datetime) -> SlotQuery:
	return SlotQuery(
		start,
		start + MINUTE,
		query.duration,
		query.interval,
		query.buffer,
		query.earliest,
		query.latest,
		query.buffer_before,
	)


@PROPERTIES
@given(cases(hosts=(1, 1)), st.data())
def test_within_hours_is_inside_the_hours_and_outside_time_off(case, data):
	(calendar,), query = case
	reference = Reference(calendar, query.since, query.until)
	for _ in range(20):
		start = query.since + FIVE * data.draw(st.integers(0, (query.until - query.since) // FIVE - 1))
		duration = 5 * data.draw(st.integers(1, 288))
		assert availability.within_hours(calendar, start, duration) == reference.in_hours(start, duration), (
			start,
			duration,
		)


@PROPERTIES
@given(st.sampled_from(ZONES), ranges(), st.data())
def test_first_and_last_instant_are_the_first_and_last_showing(name, stretch, data):
	zone = ZoneInfo(name)
	clock = Clock(zone, stretch[0] - timedelta(days=1), stretch[1] + timedelta(days=1))
	for _ in range(20):
		moment = stretch[0] + MINUTE * data.draw(st.integers(0, (stretch[1] - stretch[0]) // MINUTE))
		# a wall time near the stretch: one the clock shows, or skips, or shows twice
		wall = moment.astimezone(zone).replace(tzinfo=None) + MINUTE * data.draw(st.integers(-90, 90))
		assert availability.first_instant(wall, zone) == clock.first(wall)
		assert availability.last_instant(wall, zone) == clock.last(wall)


# -- examples worked by hand ---------------------------------------------------------------------------------

BERLIN, KOLKATA, LORD_HOWE = (
	ZoneInfo("Europe/Berlin"),
	ZoneInfo("Asia/Kolkata"),
	ZoneInfo("Australia/Lord_Howe"),
)
# Berlin: 2030-03-31 02:00 CET -> 03:00 CEST (at 01:00 UTC); 2030-10-27 03:00 CEST -> 02:00 CET (01:00 UTC).
SPRING, AUTUMN = date(2030, 3, 31), date(2030, 10, 27)
# Lord Howe: 2030-10-06 02:00 -> 02:30 (+10:30 -> +11, 15:30 UTC the day before);
# 2030-04-07 02:00 -> 01:30 (+11 -> +10:30, 15:00 UTC the day before).
HOWE_SPRING, HOWE_AUTUMN = date(2030, 10, 6), date(2030, 4, 7)


def utc(text: str) -> datetime:
	return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local_starts(calendar: HostCalendar, since: str, until: str, duration=60, interval=60) -> list[str]:
	query = SlotQuery(utc(since), utc(until), duration, interval, 0, utc(since), utc(until))
	return [
		s.astimezone(calendar.zone).strftime("%d %H:%M %Z") for s in availability.free_starts(calendar, query)
	]


def host_in(zone: ZoneInfo, *blocks: tuple[int, str, str]) -> HostCalendar:
	return HostCalendar(
		"host@example.com",
		zone,
		[WeeklyBlock(d, time.fromisoformat(a), time.fromisoformat(b)) for d, a, b in blocks],
	)


def test_the_berlin_clock_assumptions_of_these_examples_hold():
	assert SPRING.weekday() == AUTUMN.weekday() == HOWE_SPRING.weekday() == HOWE_AUTUMN.weekday() == 6
	assert datetime(2030, 3, 31, 0, 59, tzinfo=UTC).astimezone(BERLIN).strftime("%H:%M") == "01:59"
	assert datetime(2030, 3, 31, 1, 0, tzinfo=UTC).astimezone(BERLIN).strftime("%H:%M") == "03:00"
	assert datetime(2030, 10, 27, 1, 0, tzinfo=UTC).astimezone(BERLIN).strftime("%H:%M %Z") == "02:00 CET"


@pytest.mark.parametrize(
	("day", "blocks", "expected"),
	[
		# 01:00-04:00 on the day 02:00-03:00 is skipped: two real hours.
		(SPRING, [(6, "01:00", "04:00")], ["31 01:00 CET", "31 03:00 CEST"]),
		# 22:00 Saturday to 02:00 Sunday, a time skipped: it ends at the jump, 03:00 CEST.
		(SPRING, [(5, "22:00", "02:00")], ["30 22:00 CET", "30 23:00 CET", "31 00:00 CET", "31 01:00 CET"]),
		# 01:00-04:00 on the day 02:00-03:00 comes twice: four real hours.
		(AUTUMN, [(6, "01:00", "04:00")], ["27 01:00 CEST", "27 02:00 CEST", "27 02:00 CET", "27 03:00 CET"]),
		# 22:00 Saturday to 02:00 Sunday ends at the second 02:00: five real hours.
		(
			AUTUMN,
			[(5, "22:00", "02:00")],
			["26 22:00 CEST", "26 23:00 CEST", "27 00:00 CEST", "27 01:00 CEST", "27 02:00 CEST"],
		),
		# Both blocks together: 22:00-02:00 and 01:00-04:00 overlap; each steps from its own start.
		(
			AUTUMN,
			[(5, "22:00", "02:00"), (6, "01:00", "04:00")],
			[
				"26 22:00 CEST",
				"26 23:00 CEST",
				"27 00:00 CEST",
				"27 01:00 CEST",
				"27 02:00 CEST",
				"27 02:00 CET",
				"27 03:00 CET",
			],
		),
	],
)
def test_berlin_blocks_on_the_days_the_clocks_change(day, blocks, expected):
	since = (datetime.combine(day, time(0)) - timedelta(days=2)).isoformat()
	until = (datetime.combine(day, time(0)) + timedelta(days=1)).isoformat()
	assert local_starts(host_in(BERLIN, *blocks), since, until) == expected


def test_berlin_block_edges_are_first_and_last_showings():
	# Skipped 02:30: the jump (01:00 UTC) both ways. Repeated 02:30: 00:30 UTC first, 01:30 UTC last.
	assert availability.first_instant(datetime(2030, 3, 31, 2, 30), BERLIN) == utc("2030-03-31 01:00")
	assert availability.last_instant(datetime(2030, 3, 31, 2, 30), BERLIN) == utc("2030-03-31 01:00")
	assert availability.first_instant(datetime(2030, 10, 27, 2, 30), BERLIN) == utc("2030-10-27 00:30")
	assert availability.last_instant(datetime(2030, 10, 27, 2, 30), BERLIN) == utc("2030-10-27 01:30")
	# A block inside the skipped hour is empty.
	calendar = host_in(BERLIN, (6, "02:00", "02:45"))
	assert (
		availability.block_windows(calendar.blocks, BERLIN, utc("2030-03-30 00:00"), utc("2030-04-01 00:00"))
		== []
	)
	assert not availability.within_hours(calendar, utc("2030-03-31 01:00"), 5)


def test_kolkata_blocks_are_half_an_hour_off_utc():
	calendar = host_in(KOLKATA, (1, "09:00", "12:00"))  # Tuesday 2030-01-01
	query = SlotQuery(
		utc("2030-01-01 00:00"),
		utc("2030-01-02 00:00"),
		45,
		30,
		0,
		utc("2030-01-01 00:00"),
		utc("2030-01-02"),
	)
	starts = [s.strftime("%H:%M") for s in availability.free_starts(calendar, query)]
	assert starts == ["03:30", "04:00", "04:30", "05:00", "05:30"]  # 09:00 to 11:00 IST, 45 minutes each
	assert availability.within_hours(calendar, utc("2030-01-01 03:30"), 180)
	assert not availability.within_hours(calendar, utc("2030-01-01 03:00"), 60)


def test_lord_howe_half_hour_change():
	calendar = host_in(LORD_HOWE, (6, "01:00", "04:00"))
	# Spring: 02:00-02:30 is skipped; the block is two and a half real hours, 14:30-17:00 UTC.
	assert local_starts(calendar, "2030-10-04 00:00", "2030-10-07 00:00", 60, 30) == [
		"06 01:00 +1030",
		"06 01:30 +1030",
		"06 02:30 +11",
		"06 03:00 +11",
	]
	# Autumn: 01:30-02:00 comes twice; the block is three and a half real hours, 14:00-17:30 UTC.
	starts = local_starts(calendar, "2030-04-05 00:00", "2030-04-08 00:00", 60, 30)
	assert starts == [
		"07 01:00 +11",
		"07 01:30 +11",
		"07 01:30 +1030",
		"07 02:00 +1030",
		"07 02:30 +1030",
		"07 03:00 +1030",
	]
	assert availability.first_instant(datetime(2030, 10, 6, 2, 15), LORD_HOWE) == utc("2030-10-05 15:30")
	assert availability.last_instant(datetime(2030, 4, 7, 1, 45), LORD_HOWE) == utc("2030-04-06 15:15")


def test_blocks_that_touch_are_one_stretch_of_hours():
	# Every day all day, as seven blocks 00:00-00:00: an appointment across midnight is inside the hours.
	all_week = host_in(KOLKATA, *[(d, "00:00", "00:00") for d in range(7)])
	assert availability.within_hours(all_week, utc("2030-01-01 18:00"), 60)  # 23:30-00:30 IST
	assert availability.within_hours(all_week, utc("2030-01-01 00:00"), 7 * 1440)
	# 09:00-12:00 and 12:00-13:30 (Tuesday): steps of 45 from each block's start; 11:15-12:15 fits.
	calendar = host_in(KOLKATA, (1, "09:00", "12:00"), (1, "12:00", "13:30"))
	query = SlotQuery(
		utc("2030-01-01 00:00"),
		utc("2030-01-02 00:00"),
		60,
		45,
		0,
		utc("2030-01-01 00:00"),
		utc("2030-01-02"),
	)
	starts = [s.astimezone(KOLKATA).strftime("%H:%M") for s in availability.free_starts(calendar, query)]
	assert starts == ["09:00", "09:45", "10:30", "11:15", "12:00"]
	assert availability.within_hours(calendar, utc("2030-01-01 03:30"), 270)  # 09:00-13:30
	assert not availability.within_hours(calendar, utc("2030-01-01 03:30"), 275)
	# Berlin, the night the clocks go back: 22:00-02:00 Saturday and 02:00-04:00 Sunday overlap in real
	# time (the first ends at the second 02:00, the other starts at the first); together 22:00-04:00.
	night = host_in(BERLIN, (5, "22:00", "02:00"), (6, "02:00", "04:00"))
	assert availability.within_hours(night, utc("2030-10-26 20:00"), 7 * 60)
	assert not availability.within_hours(night, utc("2030-10-26 19:55"), 10)


@PROPERTIES
@given(cases(hosts=(1, 1)), st.lists(st.tuples(st.integers(0, 6), st.integers(0, 12)), max_size=6), st.data())
def test_booking_offered_starts_of_types_with_their_own_buffers_never_overlaps_once_padded(case, kinds, data):
	"""Book, one after another, a start the arithmetic offers for appointments of types with buffers of
	their own (before, after), each padded by its own: no two padded appointments ever overlap."""
	(calendar,), query = case
	booked = list(calendar.busy)
	for before, after in kinds:
		kind = dataclasses.replace(query, buffer_before=5 * before, buffer=5 * after)
		offered = availability.free_starts(dataclasses.replace(calendar, busy=booked), kind)
		if not offered:
			continue
		start = data.draw(st.sampled_from(offered))
		booked.append(availability.occupied(start, kind.duration, kind.buffer, kind.buffer_before))
	ours = booked[len(calendar.busy) :]
	for a in ours:
		assert not any(availability.clash(a, b) for b in booked if b is not a), (a, booked)
