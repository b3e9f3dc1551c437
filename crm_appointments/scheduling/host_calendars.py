"""Hosts and their live appointments, read from the database into availability's HostCalendar.

Appointments are stored with naive datetimes in the site's time zone (Frappe's way); everything
handed to availability is aware UTC.

The overlap rule's reads, and why they are made the way they are:
- Every save that may give a host time takes the host's row first (`lock_hosts`), so two saves for
  one host run one after the other; saves for different hosts do not wait for each other. All the
  host rows a write will take are taken in one statement, in name order, before the appointment's
  row: the host it has (read as committed now: `committed_host`) and every host it may get. A host
  row taken after the appointment's would let two writes wait for each other in a circle.
- The second of two such saves must see what the first committed. Under InnoDB's repeatable read a
  plain read shows the transaction's snapshot, which may be older than that commit; a locking read
  over the (host, scheduled_time) range would show it, but also takes gap locks at the ends of the
  range, which reach into the neighbouring host's part of the index: two hosts with nothing booked
  past the range (new hosts) then lock the same gap, both insert into it and deadlock. So
  `busy_intervals(..., locking=True)` finds the candidates on a connection of its own (what is
  committed now) and in this transaction (its own unsaved changes), and reads those rows by name
  with a locking read, which locks just the rows, no gaps.
"""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import cint, get_datetime

from crm_appointments.core import frappe_adapter
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, HOST, HOST_HOURS, HOST_TIME_OFF, ROLES
from crm_appointments.core.settings import (
	MAX_DURATION,
)
from crm_appointments.scheduling import availability, caldav_busy, event_busy, timing
from crm_appointments.scheduling.availability import HostCalendar, Interval, WeeklyBlock
from crm_appointments.scheduling.held_locks import note_host_locks
from crm_appointments.scheduling.timezones import as_utc, site_zone, zone_of

LIVE_LABELS = tuple(workflow.label_of(v) for v in workflow.LIVE)
# Stored times are naive in the site's zone; a day on each side covers any offset change.
SLACK = timedelta(days=1)
NAIVE_EPOCH = datetime(1970, 1, 1)


# A host who can take appointments: the host record enabled, and its user an enabled desk user (System
# User) with one of the app's roles. Someone who left (their user disabled, or their roles taken away)
# is not offered in the slots, gets no booking, is not picked for a new appointment and their calendar
# feed goes dark, though their host record may still say enabled. `h` is the host's table; the values
# are {"crm_roles": ROLES}. The one definition, used by every place that asks (`active_hosts`, the
# feed's query).
ACTIVE_HOST = """h.enabled = 1 and exists (select 1 from `tabUser` u where u.name = h.user
	and u.enabled = 1 and u.user_type = 'System User'
	and exists (select 1 from `tabHas Role` r
		where r.parenttype = 'User' and r.parent = u.name and r.role in %(crm_roles)s))"""


def active_hosts(names=None) -> list[str]:
	"""The hosts who can take appointments (see ACTIVE_HOST): all, or those of `names`; by name."""
	if names is not None and not names:
		return []
	narrowed = " and h.name in %(names)s" if names is not None else ""
	return frappe.db.sql_list(
		f"select h.name from `tab{HOST}` h where {ACTIVE_HOST}{narrowed} order by h.name",
		{"crm_roles": ROLES, "names": list(names or ())},
	)


def is_active_host(host: str | None) -> bool:
	return bool(host) and bool(active_hosts([host]))


def host_name(host: str | None) -> str | None:
	"""The host's full name (their user id when they have none); None for no host."""
	if not host:
		return None
	return frappe.db.get_value(HOST, host, "full_name") or host


def why_not_active(host: str) -> str | None:
	"""Why this host cannot take appointments, in words for the desk; None when they can. Whether they
	can is ACTIVE_HOST's to decide; this only explains a refusal."""
	from frappe import _

	if is_active_host(host):
		return None
	record = frappe.db.get_value(HOST, host, ["enabled", "user"], as_dict=True)
	if not record:
		return _("There is no such host.")
	if not record.enabled:
		return _("The host is disabled.")
	user = frappe.db.get_value("User", record.user, ["enabled", "user_type"], as_dict=True)
	if not user or not user.enabled:
		return _("Their user is disabled.")
	if user.user_type != "System User":
		return _("Their user is no longer a desk user.")
	return _("Their user has no CRM Appointment role.")


def to_site(moment: datetime) -> datetime:
	"""An aware datetime as Frappe stores it: naive, in the site's time zone."""
	return moment.astimezone(site_zone()).replace(tzinfo=None)


def as_time(value) -> time:
	"""A Time field's value (MariaDB hands out timedelta; documents may hold strings)."""
	if isinstance(value, timedelta):
		seconds = int(value.total_seconds()) % 86400
		return time(seconds // 3600, seconds // 60 % 60, seconds % 60)
	if isinstance(value, time):
		return value
	return get_datetime(f"2000-01-01 {value}").time()


def blocks_of(rows) -> list[WeeklyBlock]:
	return [
		WeeklyBlock(availability.WEEKDAYS.index(r.day_of_week), as_time(r.from_time), as_time(r.to_time))
		for r in rows
		if r.day_of_week in availability.WEEKDAYS
	]


def lock_hosts(hosts) -> None:
	"""Take the hosts' rows for update, in name order: every save that may change what a host holds
	takes its host first (CRM Appointment's check_if_latest), so racing saves for one host run one
	after the other, and never wait for each other the other way round."""
	names = sorted({h for h in hosts if h})
	if names:
		note_host_locks()
		frappe.db.sql(
			f"select name from `tab{HOST}` where name in %(names)s order by name for update", {"names": names}
		)


def lock_host_if_free(host: str) -> bool:
	"""Take the host's row for update unless another open transaction holds it (SKIP LOCKED): whether
	this transaction holds it now. Never waits."""
	note_host_locks()
	return bool(frappe.db.sql(f"select name from `tab{HOST}` where name = %s for update skip locked", host))


def committed_host(appointment: str) -> str | None:
	"""The appointment's host as committed now: not this transaction's snapshot, which may be older
	than a host change another save has committed since (see lock_hosts)."""
	rows = committed_now(f"select host from `tab{APPOINTMENT}` where name = %(name)s", {"name": appointment})
	return rows[0][0] if rows else None


# The live appointments of some hosts that start in a range (values: range_values), found through the
# (host, scheduled_time) index (CRM Appointment's on_doctype_update), or among the names given.
IN_RANGE = """host in %(hosts)s and status in %(live)s and scheduled_time >= %(lowest)s
	and scheduled_time < %(highest)s and name != %(exclude)s"""
BY_RANGE = f"`tab{APPOINTMENT}` force index (host_scheduled_time_index) where {IN_RANGE}"
BY_NAME = f"`tab{APPOINTMENT}` force index (primary) where name in %(names)s and {IN_RANGE}"


def range_values(
	hosts, since: datetime, until: datetime, widest: tuple[int, int], exclude: str | None = None
) -> dict:
	"""The query values for the appointments that may hold time of [since, until): those that start
	up to the longest appointment and the widest buffer after one before it, or up to the widest
	buffer before one after it (`widest`: timing.widest_buffers)."""
	before, after = widest
	return {
		"hosts": list(hosts),
		"live": LIVE_LABELS,
		"lowest": to_site(since) - timedelta(minutes=MAX_DURATION + after) - SLACK,
		"highest": to_site(until) + timedelta(minutes=before) + SLACK,
		"exclude": exclude or "",
	}


def busy_intervals(
	hosts: list[str],
	since: datetime,
	until: datetime,
	buffer: int | None = None,
	exclude: str | None = None,
	locking=False,
) -> dict[str, list[Interval]]:
	"""What the hosts' live appointments hold of [since, until), by host: each padded by its own
	type's buffers (timing.held); one with no type by `buffer` after it (default the settings').

	`locking` (for a save that holds the hosts' rows, see lock_hosts) reads the latest committed rows
	and this transaction's own changes, not the snapshot, and locks the rows read (see the module's
	docstring)."""
	if not hosts:
		return {}
	buffers = timing.buffers_by_type()
	if buffer is not None:
		buffers[None] = (0, buffer)
	values = range_values(hosts, since, until, timing.widest(buffers), exclude)
	if locking:
		names = {r[0] for r in committed_now(f"select name from {BY_RANGE}", values)}
		names.update(frappe.db.sql_list(f"select name from {BY_RANGE}", values))
		rows = (
			frappe.db.sql(
				f"select host, scheduled_time, duration, appointment_type from {BY_NAME} lock in share mode",
				{**values, "names": sorted(names)},
			)
			if names
			else ()
		)
	else:
		rows = joined_rows(values)
		if rows is None:
			rows = frappe.db.sql(
				f"select host, scheduled_time, duration, appointment_type from {BY_RANGE}", values
			)
	busy = {h: [] for h in hosts}
	zone = site_zone()
	no_type = buffers[None]
	for host, scheduled_time, duration, appointment_type in rows:
		start = scheduled_time.replace(tzinfo=zone).astimezone(UTC)  # as_utc, for thousands of rows
		held = timing.held(start, cint(duration), buffers.get(appointment_type or None, no_type))
		if availability.clash(held, (since, until)):
			busy[host].append(held)
	return busy


def joined_rows(values: dict) -> list[tuple] | None:
	"""The appointments of BY_RANGE as (host, scheduled_time, duration, appointment_type), read as one
	row per host with their starts (as microseconds), durations and types joined: a month of a busy
	calendar is thousands of rows, and reading each as a row of its own costs several times as much.
	None when a host's list came back cut short (longer than the server's group_concat_max_len)."""
	found = []
	for host, count, joined in frappe.db.sql(
		f"""select host, count(*), group_concat(timestampdiff(microsecond, '1970-01-01', scheduled_time),
		' ', ifnull(duration, 0), ' ', ifnull(appointment_type, '') order by scheduled_time separator ',')
		from {BY_RANGE} group by host""",
		values,
	):
		items = (joined.decode() if isinstance(joined, bytes) else joined or "").split(",")
		if len(items) != count:
			return None
		for item in items:
			microseconds, duration, appointment_type = item.split(" ", 2)
			found.append(
				(
					host,
					NAIVE_EPOCH + timedelta(microseconds=int(microseconds)),
					int(duration),
					appointment_type or None,
				)
			)
	return found


def full_days(
	hosts: list[str], appointment_type: str, limit: int, since: datetime, until: datetime, zones: dict
) -> dict[str, list[Interval]]:
	"""The days of [since, until), whole days in each host's zone (`zones`), on which the host holds
	`limit` or more live appointments of the type: no slot of the type starts on them."""
	if not hosts or limit <= 0:
		return {}
	rows = frappe.db.sql(
		f"""select host, scheduled_time from `tab{APPOINTMENT}` force index (host_scheduled_time_index)
		where host in %(hosts)s and status in %(live)s and appointment_type = %(type)s
		and scheduled_time >= %(lowest)s and scheduled_time < %(highest)s""",
		{
			"hosts": list(hosts),
			"live": LIVE_LABELS,
			"type": appointment_type,
			"lowest": to_site(since) - SLACK,
			"highest": to_site(until) + SLACK,
		},
	)
	counts: dict[tuple[str, date], int] = {}
	for host, scheduled_time in rows:
		day = as_utc(scheduled_time).astimezone(zones[host]).date()
		counts[(host, day)] = counts.get((host, day), 0) + 1
	found: dict[str, list[Interval]] = {}
	for (host, day), count in sorted(counts.items()):
		if count >= limit:
			zone = zones[host]
			found.setdefault(host, []).append(
				(availability.day_start(day, zone), availability.day_start(day + timedelta(days=1), zone))
			)
	return found


def held_that_day(host: str, appointment_type: str, start: datetime, zone: ZoneInfo, exclude: str) -> int:
	"""How many live appointments of the type the host holds on the day of `start` in `zone`, as
	committed now and in this transaction (for a save under the host's lock, see lock_hosts)."""
	day = start.astimezone(zone).date()
	since, until = availability.day_start(day, zone), availability.day_start(day + timedelta(days=1), zone)
	query = f"""select name from `tab{APPOINTMENT}` force index (host_scheduled_time_index)
		where host = %(host)s and status in %(live)s and appointment_type = %(type)s
		and scheduled_time >= %(since)s and scheduled_time < %(until)s and name != %(exclude)s"""
	values = {
		"host": host,
		"live": LIVE_LABELS,
		"type": appointment_type,
		"since": to_site(since),
		"until": to_site(until),
		"exclude": exclude or "",
	}
	names = {r[0] for r in committed_now(query, values)}
	names.update(frappe.db.sql_list(query, values))
	return len(names)


def committed_now(query: str, values: dict) -> tuple:
	"""A read outside this transaction, on a connection of its own: what is committed now, whatever
	this transaction's snapshot is. The connection is kept for the thread's next read (opening one
	costs more than the read); each read ends its own transaction, so the next sees what is committed
	then. A connection the server has since closed is replaced once."""
	db = own_connection()
	for attempt in (1, 2):
		try:
			rows = db.sql(query, values)
		except Exception:
			db.close()  # the next sql() connects anew
			if attempt == 2:
				raise
			continue
		db.rollback()
		return rows


_own = threading.local()


def own_connection():
	"""This thread's second connection to the site's database (see committed_now)."""
	conf = frappe.local.conf
	key = (conf.db_socket, conf.db_host, conf.db_port, conf.db_name)
	if getattr(_own, "db", None) is None or _own.key != key:
		if getattr(_own, "db", None) is not None:
			_own.db.close()
		_own.db = frappe_adapter.new_database_connection(conf)
		_own.key = key
	return _own.db


def calendars(
	hosts: list[str] | None,
	since: datetime,
	until: datetime,
	buffer: int,
	buffer_before: int = 0,
	per_day: tuple[str, int] | None = None,
) -> list[HostCalendar]:
	"""The hosts who can take appointments (all, or those named: `active_hosts`), with their hours,
	time off and busy time around [since, until), for slots there that hold `buffer_before` minutes
	before them and `buffer` after. `per_day` (a type and its most a day per host): the days on which
	a host has reached it are closed."""
	active = active_hosts(hosts)
	if not active:
		return []
	records = frappe.get_all(
		HOST, filters={"name": ["in", active]}, fields=["name", "time_zone"], order_by="name"
	)
	names = [r.name for r in records]
	if not names:
		return []
	hours = frappe.get_all(
		HOST_HOURS,
		filters={"parenttype": HOST, "parent": ["in", names]},
		fields=["parent", "day_of_week", "from_time", "to_time"],
		order_by="idx",
	)
	time_off = frappe.get_all(
		HOST_TIME_OFF,
		filters={
			"parenttype": HOST,
			"parent": ["in", names],
			"to_datetime": [">", to_site(since) - SLACK],
			# A slot starting just before `until` runs up to the longest duration past it.
			"from_datetime": ["<", to_site(until) + timedelta(minutes=MAX_DURATION) + SLACK],
		},
		fields=["parent", "from_datetime", "to_datetime"],
	)
	# The busy time that can touch a slot: up to a slot's length and buffer past the range's end.
	busy = busy_intervals(
		names, since - timedelta(minutes=buffer_before), until + timedelta(minutes=MAX_DURATION + buffer)
	)
	zones = {r.name: zone_of(r.time_zone) for r in records}
	closed = full_days(names, *per_day, since, until, zones) if per_day else {}
	# Their own Frappe Events (meetings) block them too, unpadded (event_busy.py), and the events of
	# their CalDAV calendar (caldav_busy.py: cached; read when not). A host whose calendar cannot be
	# read offers nothing: the whole range is closed, and the calendar says why.
	outside = outside_window(since, until, buffer, buffer_before)
	meetings = event_busy.busy(names, *outside, zones)
	caldav, unreadable = caldav_busy.busy_and_unreadable(names, *outside, zones)
	for host in unreadable:
		closed[host] = [*closed.get(host, []), outside]
	return [
		HostCalendar(
			host=r.name,
			zone=zones[r.name],
			blocks=blocks_of([h for h in hours if h.parent == r.name]),
			time_off=[
				(as_utc(t.from_datetime), as_utc(t.to_datetime)) for t in time_off if t.parent == r.name
			],
			busy=busy[r.name] + meetings.get(r.name, []) + caldav.get(r.name, []),
			closed=closed.get(r.name, []),
			unreadable=unreadable.get(r.name),
		)
		for r in records
	]


def outside_window(since: datetime, until: datetime, buffer: int, buffer_before: int = 0) -> tuple:
	"""The stretch of outside busy time that can touch slots starting in [since, until): a slot's
	buffer before it, its longest length and its buffer after."""
	return (since - timedelta(minutes=buffer_before), until + timedelta(minutes=MAX_DURATION + buffer))


def read_outside_again(
	hosts: list[str], since: datetime, until: datetime, buffer: int, buffer_before: int = 0
) -> None:
	"""Read the hosts' outside calendars (CalDAV) again now, around slots in [since, until), into the
	cache `calendars` reads: a booking does so before it takes any row lock, so a meeting added in the
	last minutes still blocks it."""
	if hosts:
		caldav_busy.busy(hosts, *outside_window(since, until, buffer, buffer_before), fresh=True)


def calendar_of(host_doc) -> HostCalendar:
	"""One host's hours and time off from its document (no busy time): for the outside-hours warning."""
	return HostCalendar(
		host=host_doc.name,
		zone=zone_of(host_doc.time_zone),
		blocks=blocks_of(host_doc.working_hours),
		time_off=[(as_utc(t.from_datetime), as_utc(t.to_datetime)) for t in host_doc.time_off],
	)
