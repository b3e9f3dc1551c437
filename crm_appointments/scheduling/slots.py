"""Free slots: the settings and the hosts' calendars, put through availability's arithmetic.

`GET /api/crm/slots` (api.py) and self-service booking read this; the overlap rule in the
controller uses the same `availability.occupied`/`clash`, so a slot offered here is one a save of
that host at that time accepts (unless someone books it first).
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe.utils import now_datetime

from crm_appointments.core.names import HOST
from crm_appointments.scheduling import availability, host_calendars, timing
from crm_appointments.scheduling.availability import SlotQuery
from crm_appointments.scheduling.timezones import as_utc


def query_for(
	since: datetime, until: datetime, duration: int | None = None, appointment_type: str | None = None
) -> SlotQuery:
	"""Starts in [since, until) with the type's timing (scheduling/timing.py; no type: the settings'),
	notice and horizon counted from now. A `duration` asked for replaces the type's, and then the
	slots step by it unless the type or the settings set an interval."""
	rules = timing.timing_of(appointment_type)
	now = as_utc(now_datetime())
	duration = duration or rules.duration
	return SlotQuery(
		since=since,
		until=until,
		duration=duration,
		interval=rules.interval or duration,
		buffer=rules.buffer_after,
		earliest=now + timedelta(minutes=rules.minimum_notice),
		latest=now + timedelta(days=rules.booking_horizon),
		buffer_before=rules.buffer_before,
	)


def days_range(start: date, end: date, time_zone: str) -> tuple[datetime, datetime]:
	"""From the first instant of `start` to the first of the day after `end`, in the zone."""
	zone = ZoneInfo(time_zone)
	return availability.day_start(start, zone), availability.day_start(end + timedelta(days=1), zone)


def free_slots(
	start: date,
	end: date,
	time_zone: str,
	hosts: list[str] | None = None,
	duration: int | None = None,
	appointment_type: str | None = None,
) -> list[availability.Interval]:
	"""Free starts of these hosts, or (None) of every enabled host, for the type (None: the settings'
	timing, as for an appointment with no type)."""
	since, until = days_range(start, end, time_zone)
	query = query_for(since, until, duration, appointment_type)
	if query.latest < since or query.earliest >= until:
		return []
	since, until = max(since, query.earliest), min(until, query.latest + timedelta(seconds=1))
	calendars = host_calendars.calendars(
		hosts, since, until, query.buffer, query.buffer_before, per_day_of(appointment_type)
	)
	return availability.slots(calendars, query)


def per_day_of(appointment_type: str | None) -> tuple[str, int] | None:
	"""The type and its most a day per host, when it has one."""
	limit = timing.timing_of(appointment_type).max_per_day if appointment_type else 0
	return (appointment_type, limit) if limit else None


def hosts_shown_to_caller(host: str | None = None) -> list[str] | None:
	"""The hosts who can take appointments (host_calendars.active_hosts) whose free times the session's
	user may see (only `host`, when named): for a public caller every one (None), as the public
	booking page offers them all, and never one named by id (api.list_slots refuses that); for staff
	those they may read, so a User Permission on hosts narrows the slots too. An empty list when
	`host` is not one of them, whatever the reason."""
	if frappe.session.user == "Guest":
		return None
	if not frappe.has_permission(HOST, "read"):
		return []
	readable = frappe.get_list(
		HOST, filters={"name": host} if host else {}, pluck="name", limit_page_length=0, order_by="name"
	)
	return host_calendars.active_hosts(readable)
