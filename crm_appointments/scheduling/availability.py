"""When a host can be booked: the arithmetic of weekly hours, time off, buffers and slots.

Everything here works on aware UTC datetimes and is free of the database, so it can be tested against
a brute-force reference (tests/test_availability_properties.py). `host_calendars.py` loads hosts and
their appointments into it; the controller's overlap rule and `GET /api/crm/slots` both call `clash`
and `occupied`, so a slot the route offers is one a save accepts.

Wall-clock times in a host's zone become real instants like this: a block starts at the first instant
the host's clock shows its start time and ends at the last instant it shows its end time. On a day the
clocks go forward, a time the clock skips is the moment of the change (a 02:00-04:00 block in Berlin
on the last Sunday of March is one hour long); on a day they go back, a repeated time starts at its
first showing and ends at its second (01:00-02:30 then lasts two and a half real hours, one more than
on other days).

A host's hours are the union of their blocks: blocks that touch or overlap (22:00-00:00 and
00:00-06:00, or two blocks the day the clocks go back) are one stretch, and an appointment inside the
stretch is inside the hours. Slot starts step by the slot interval from the start of each block, for
as long as the start is in that block and the slot fits in the hours.
"""

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[datetime, datetime]  # [start, end), aware UTC


@dataclass(frozen=True)
class WeeklyBlock:
	"""A block of hours on one weekday (0 is Monday); an end at or before the start is the next day."""

	weekday: int
	start: time
	end: time

	@property
	def crosses_midnight(self) -> bool:
		return self.end <= self.start


@dataclass
class HostCalendar:
	"""What the slot arithmetic needs about one host."""

	host: str
	zone: ZoneInfo
	blocks: list[WeeklyBlock]
	time_off: list[Interval] = field(default_factory=list)
	busy: list[Interval] = field(default_factory=list)  # occupied intervals of live appointments
	# Stretches in which no slot may start (days a type's most a day is reached, in the host's zone).
	closed: list[Interval] = field(default_factory=list)
	# Set when the host's outside calendar (CalDAV) cannot be read: {"since": aware UTC, "error": why}.
	# Such a host offers no slots (host_calendars.calendars closes the range); staff see why.
	unreadable: dict | None = None

	def __post_init__(self):
		self.busy = sorted(self.busy)
		self.busy_starts = [b[0] for b in self.busy]
		self.longest_busy = max((b[1] - b[0] for b in self.busy), default=timedelta(0))
		# The same in whole microseconds, for free_starts' loop over every step of a month.
		self.busy_starts_us = [_us(b[0]) for b in self.busy]
		self.busy_ends_us = [_us(b[1]) for b in self.busy]
		self.longest_busy_us = self.longest_busy // MICROSECOND
		self.time_off_us = [(_us(a), _us(b)) for a, b in self.time_off]
		self.closed_us = [(_us(a), _us(b)) for a, b in self.closed]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MINUTE_US = 60_000_000


def _us(moment: datetime) -> int:
	"""An aware datetime as whole microseconds since the epoch (exact, unlike a float timestamp)."""
	return (moment - EPOCH) // MICROSECOND


def _at(us: int) -> datetime:
	return EPOCH + timedelta(microseconds=us)


# -- wall clock to real time ------------------------------------------------------------------------


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
	"""The first instant (UTC) at which a clock in `zone` shows `wall` (naive); a skipped wall time is
	the instant the clock jumps over it."""
	return _instant(wall, zone, last=False)


def last_instant(wall: datetime, zone: ZoneInfo) -> datetime:
	"""The last instant (UTC) at which a clock in `zone` shows `wall`: the second showing of a
	repeated time; a skipped one is the instant of the jump."""
	return _instant(wall, zone, last=True)


def _instant(wall: datetime, zone: ZoneInfo, last: bool) -> datetime:
	earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
	later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
	if earlier.astimezone(zone).replace(tzinfo=None) == wall:
		# The clock shows it (once, or twice when the two differ).
		return max(earlier, later) if last else min(earlier, later)
	# Skipped: fold=1 reads it with the offset after the jump, fold=0 with the one before; the jump
	# lies between. Offsets change on whole seconds: find it by bisection.
	low, high = int(min(earlier, later).timestamp()), int(max(earlier, later).timestamp()) + 1
	offset_before = _offset(low, zone)
	while high - low > 1:
		middle = (low + high) // 2
		if _offset(middle, zone) == offset_before:
			low = middle
		else:
			high = middle
	return datetime.fromtimestamp(high, UTC)


def _offset(timestamp: int, zone: ZoneInfo) -> timedelta:
	return datetime.fromtimestamp(timestamp, UTC).astimezone(zone).utcoffset()


def day_start(day: date, zone: ZoneInfo) -> datetime:
	"""The first instant of a calendar day in a zone."""
	return first_instant(datetime.combine(day, time(0)), zone)


# -- hours --------------------------------------------------------------------------------------------


def block_windows(
	blocks: list[WeeklyBlock], zone: ZoneInfo, since: datetime, until: datetime
) -> list[Interval]:
	"""Each block's real interval on each day, for those that meet [since, until), in order."""
	windows = []
	first_day = since.astimezone(zone).date() - timedelta(days=1)
	last_day = until.astimezone(zone).date()
	day = first_day
	while day <= last_day:
		for block in blocks:
			if block.weekday != day.weekday():
				continue
			start = first_instant(datetime.combine(day, block.start), zone)
			end_day = day + timedelta(days=1) if block.crosses_midnight else day
			end = last_instant(datetime.combine(end_day, block.end), zone)
			if start < end and start < until and end > since:
				windows.append((start, end))
		day += timedelta(days=1)
	windows.sort()
	return windows


def joined(windows: list[Interval]) -> list[Interval]:
	"""Windows (sorted by start) with those that touch or overlap made one."""
	stretches = []
	for start, end in windows:
		if stretches and start <= stretches[-1][1]:
			stretches[-1] = (stretches[-1][0], max(stretches[-1][1], end))
		else:
			stretches.append((start, end))
	return stretches


MAX_UTC = datetime.max.replace(tzinfo=UTC)


def _inside(stretches: list[Interval], span: Interval) -> bool:
	"""Whether span lies inside one of the disjoint, sorted stretches."""
	i = bisect.bisect_right(stretches, (span[0], MAX_UTC)) - 1
	return i >= 0 and stretches[i][0] <= span[0] and span[1] <= stretches[i][1]


# -- the overlap rule -------------------------------------------------------------------------------


def occupied(start: datetime, duration: int, buffer: int, before: int = 0) -> Interval:
	"""What a live appointment holds of its host's time: its length, the buffer after it (`buffer`)
	and the one before it (`before`), in minutes."""
	return (start - timedelta(minutes=before), start + timedelta(minutes=duration + buffer))


def clash(a: Interval, b: Interval) -> bool:
	"""Two held intervals of one host may not overlap; touching is fine."""
	return a[0] < b[1] and b[0] < a[1]


def first_clash(calendar: HostCalendar, held: Interval) -> Interval | None:
	"""The earliest busy interval of the host that `held` would overlap."""
	# Busy intervals are sorted by start; none is longer than longest_busy.
	low = bisect.bisect_right(calendar.busy_starts, held[0] - calendar.longest_busy)
	high = bisect.bisect_left(calendar.busy_starts, held[1])
	for busy in calendar.busy[max(low - 1, 0) : high]:
		if clash(busy, held):
			return busy
	return None


def meets_time_off(calendar: HostCalendar, span: Interval) -> bool:
	return any(clash(off, span) for off in calendar.time_off)


def within_hours(calendar: HostCalendar, start: datetime, duration: int) -> bool:
	"""Whether [start, start + duration) lies inside the host's hours (blocks that touch or overlap are
	one stretch) and outside time off."""
	span = (start, start + timedelta(minutes=duration))
	stretches = joined(block_windows(calendar.blocks, calendar.zone, span[0], span[1]))
	return _inside(stretches, span) and not meets_time_off(calendar, span)


# -- slots --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotQuery:
	since: datetime  # starts at or after
	until: datetime  # starts before
	duration: int  # minutes
	interval: int  # minutes between starts, from the start of each block
	buffer: int  # minutes held after the appointment a slot is for
	earliest: datetime  # now + minimum notice
	latest: datetime  # now + horizon (inclusive)
	buffer_before: int = 0  # minutes held before it


def free_starts(calendar: HostCalendar, query: SlotQuery) -> list[datetime]:
	"""The starts at which this host is free for the whole duration, in order."""
	length = timedelta(minutes=query.duration)
	step = timedelta(minutes=query.interval)
	lowest = max(query.since, query.earliest)
	# A block that starts up to a day before `since` can still hold a slot in the range, and one
	# that starts after `until` can still hold the end of a slot that starts before it.
	windows = block_windows(calendar.blocks, calendar.zone, lowest - length, query.until + length)
	stretches = joined(windows)
	# The loop below runs for every step of every block (thousands for a month): it works on whole
	# microseconds, and is _inside, meets_time_off and first_clash in that form.
	stretch_starts = [_us(s) for s, _ in stretches]
	stretch_ends = [_us(e) for _, e in stretches]
	length_us, step_us = query.duration * MINUTE_US, query.interval * MINUTE_US
	# A slot holds [start - before, start + length + after): it meets a busy interval [a, b) when
	# a < start + length + after and b > start - before.
	after_us = (query.duration + query.buffer) * MINUTE_US
	before_us = query.buffer_before * MINUTE_US
	busy_starts, busy_ends = calendar.busy_starts_us, calendar.busy_ends_us
	longest, time_off, closed = calendar.longest_busy_us, calendar.time_off_us, calendar.closed_us
	latest = min(_us(query.until) - 1, _us(query.latest))  # start < until, start <= latest
	starts = set()
	for window_start, window_end in windows:
		start = window_start
		if start < lowest:  # jump to the first step at or after `lowest`
			start += step * -(-(lowest - start) // step)
		start_us = _us(start)
		last = min(_us(window_end) - 1, latest)  # start < window end
		# The window lies in one stretch of hours; a slot that runs past its end stays past it for
		# every later start of the window.
		stretch_end = stretch_ends[bisect.bisect_right(stretch_starts, start_us) - 1]
		last = min(last, stretch_end - length_us)
		while start_us <= last:
			# Whatever this start meets (time off, or a busy interval it would overlap) keeps every
			# later start before that one's end from being free too: jump past the furthest end.
			blocked_until = start_us  # what meets this start ends after it
			end_us = start_us + length_us
			for a, b in time_off:
				if a < end_us and b > blocked_until:
					blocked_until = b
			for a, b in closed:
				if a <= start_us < b and b > blocked_until:
					blocked_until = b
			# Busy intervals are sorted by start and none is longer than `longest`: only those from
			# `low` to `high` can start before this one's held end and end after its held start. One
			# that ends at b keeps every start before b + before from being free.
			held_start = start_us - before_us
			low = max(bisect.bisect_right(busy_starts, held_start - longest) - 1, 0)
			high = bisect.bisect_left(busy_starts, start_us + after_us, low)
			for k in range(low, high):
				if busy_ends[k] > held_start and busy_ends[k] + before_us > blocked_until:
					blocked_until = busy_ends[k] + before_us
			if blocked_until > start_us:
				start_us += step_us * -(-(blocked_until - start_us) // step_us)
			else:
				starts.add(start_us)
				start_us += step_us
	return [_at(s) for s in sorted(starts)]


def slots(calendars: list[HostCalendar], query: SlotQuery) -> list[Interval]:
	"""Each start at which at least one host is free, in order, with its end."""
	starts = set()
	for calendar in calendars:
		starts.update(free_starts(calendar, query))
	length = timedelta(minutes=query.duration)
	return [(start, start + length) for start in sorted(starts)]


def free_hosts(calendars: list[HostCalendar], start: datetime, query: SlotQuery) -> list[str]:
	"""The hosts free at exactly this start (a start their blocks' steps reach)."""
	return [c.host for c in calendars if start in free_starts(c, _around(query, start))]


def _around(query: SlotQuery, start: datetime) -> SlotQuery:
	return SlotQuery(
		since=start,
		until=start + timedelta(seconds=1),
		duration=query.duration,
		interval=query.interval,
		buffer=query.buffer,
		earliest=query.earliest,
		latest=query.latest,
		buffer_before=query.buffer_before,
	)
