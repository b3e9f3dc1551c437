"""Hosts and their live appointments, read from the database into availability's HostCalendar.

Appointments are stored with naive datetimes in the site's time zone (Frappe's way); everything
handed to availability is aware UTC. Reads that decide a booking (the overlap rule) lock: see
`lock_hosts` and `busy_intervals(..., locking=True)`.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import cint, get_datetime

from crm_appointments import availability
from crm_appointments.availability import HostCalendar, Interval, WeeklyBlock
from crm_appointments.crm_appointments import status_workflow as workflow
from crm_appointments.crm_appointments.doctype.crm_appointment_settings.crm_appointment_settings import (
	MAX_DURATION,
)
from crm_appointments.doctypes import APPOINTMENT, HOST, HOST_HOURS, HOST_TIME_OFF
from crm_appointments.timezones import as_utc, site_zone

LIVE_LABELS = tuple(workflow.label_of(v) for v in workflow.LIVE)
# Stored times are naive in the site's zone; a day on each side covers any offset change.
SLACK = timedelta(days=1)


def to_site(moment: datetime) -> datetime:
	"""An aware datetime as Frappe stores it: naive, in the site's time zone."""
	return moment.astimezone(site_zone()).replace(tzinfo=None)


def zone_of(time_zone: str | None) -> ZoneInfo:
	return ZoneInfo(time_zone) if time_zone else site_zone()


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
		frappe.db.sql(
			f"select name from `tab{HOST}` where name in %(names)s order by name for update", {"names": names}
		)


def busy_intervals(
	hosts: list[str], since: datetime, until: datetime, buffer: int, exclude: str | None = None, locking=False
) -> dict[str, list[Interval]]:
	"""What the hosts' live appointments hold (with the buffer) of [since, until), by host.

	`locking` reads the latest committed rows (a locking read), not the transaction's snapshot, which
	may be older than the commit of the save that held the host's lock before this one."""
	if not hosts:
		return {}
	rows = frappe.db.sql(
		f"""select host, scheduled_time, duration from `tab{APPOINTMENT}`
		where host in %(hosts)s and status in %(live)s
		and scheduled_time >= %(lowest)s and scheduled_time < %(highest)s and name != %(exclude)s
		{"lock in share mode" if locking else ""}""",
		{
			"hosts": list(hosts),
			"live": LIVE_LABELS,
			"lowest": to_site(since) - timedelta(minutes=MAX_DURATION + buffer) - SLACK,
			"highest": to_site(until) + SLACK,
			"exclude": exclude or "",
		},
		as_dict=True,
	)
	busy = {h: [] for h in hosts}
	for row in rows:
		held = availability.occupied(as_utc(row.scheduled_time), cint(row.duration), buffer)
		if availability.clash(held, (since, until)):
			busy[row.host].append(held)
	return busy


def calendars(hosts: list[str] | None, since: datetime, until: datetime, buffer: int) -> list[HostCalendar]:
	"""The enabled hosts (all, or those named), with their hours, time off and busy time around
	[since, until)."""
	filters = {"enabled": 1}
	if hosts is not None:
		filters["name"] = ["in", hosts or [""]]
	records = frappe.get_all(HOST, filters=filters, fields=["name", "time_zone"], order_by="name")
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
	busy = busy_intervals(names, since, until + timedelta(minutes=MAX_DURATION + buffer), buffer)
	return [
		HostCalendar(
			host=r.name,
			zone=zone_of(r.time_zone),
			blocks=blocks_of([h for h in hours if h.parent == r.name]),
			time_off=[
				(as_utc(t.from_datetime), as_utc(t.to_datetime)) for t in time_off if t.parent == r.name
			],
			busy=busy[r.name],
		)
		for r in records
	]


def calendar_of(host_doc) -> HostCalendar:
	"""One host's hours and time off from its document (no busy time): for the outside-hours warning."""
	return HostCalendar(
		host=host_doc.name,
		zone=zone_of(host_doc.time_zone),
		blocks=blocks_of(host_doc.working_hours),
		time_off=[(as_utc(t.from_datetime), as_utc(t.to_datetime)) for t in host_doc.time_off],
	)
