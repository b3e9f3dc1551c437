"""A host's own Frappe Events as busy time (contract.md, "Outside calendars"): their open Events (they
own it, or they are among its participants, as a user or as a host) that are not an appointment's
own Event block their slots and the overlap rule.

Repeats are expanded by Frappe's own calendar code (`frappe.desk.doctype.event.event.get_events`:
daily, weekly on chosen days, monthly, yearly, until a date), so an Event blocks exactly the times
the desk's calendar shows it at. An all-day Event blocks whole days in the host's time zone; a timed
one its start to its end (one with no end, an hour). Frappe's Google Calendar integration brings a
user's Google events in as such Events, owned by the user: they count with no more set-up.

get_events shows a user the Events they own, public ones and ones shared with them: a private Event
of someone else's that names the host as a participant, unshared, is not theirs to see and does not
count.
"""

from datetime import datetime, timedelta

import frappe
from frappe.utils import get_datetime, getdate

from crm_appointments.core.names import APPOINTMENT, HOST
from crm_appointments.scheduling import availability
from crm_appointments.scheduling.timezones import as_utc, site_zone

NO_END = timedelta(hours=1)
SLACK = timedelta(days=1)

# The open Events of some hosts (as owner, or as a participant) that may fall in a range, other than
# an appointment's own. Repeating ones started before the range's end; others that meet it.
CANDIDATES = f"""select e.name, e.owner as host from `tabEvent` e
	where e.owner in %(hosts)s and {{common}}
	union
	select e.name, p.reference_docname as host from `tabEvent` e
	join `tabEvent Participants` p on p.parent = e.name and p.parenttype = 'Event'
	where p.reference_doctype in ('{HOST}', 'User') and p.reference_docname in %(hosts)s and {{common}}"""
COMMON = f"""e.status = 'Open'
	and (e.starts_on < %(until)s and (e.repeat_this_event = 1 or coalesce(e.ends_on, e.starts_on) >= %(since)s))
	and not exists (select 1 from `tab{APPOINTMENT}` a where a.calendar_event = e.name)
	and not exists (select 1 from `tabEvent Participants` q where q.parent = e.name
		and q.parenttype = 'Event' and q.reference_doctype = '{APPOINTMENT}')"""


def busy(hosts: list[str], since: datetime, until: datetime, zones: dict) -> dict[str, list]:
	"""What the hosts' own Events hold of [since, until) (aware UTC), by host; `zones` their zones."""
	if not hosts:
		return {}
	low, high = site_time(since) - SLACK, site_time(until) + SLACK
	rows = frappe.db.sql(
		CANDIDATES.format(common=COMMON),
		{"hosts": list(hosts), "since": low, "until": high},
		as_dict=True,
	)
	names_of: dict[str, set] = {}
	for row in rows:
		names_of.setdefault(row.host, set()).add(row.name)
	found = {h: [] for h in hosts}
	for host, names in names_of.items():
		zone = zones.get(host) or site_zone()
		for event in expanded(names, host, low, high):
			held = interval_of(event, zone)
			if held and availability.clash(held, (since, until)):
				found[host].append(held)
	return found


def site_time(moment: datetime) -> datetime:
	return moment.astimezone(site_zone()).replace(tzinfo=None)


def expanded(names, user: str, low: datetime, high: datetime) -> list:
	"""The Events named, with their repeats in [low, high] (site times), as the user sees them
	(Frappe's get_events)."""
	from frappe.desk.doctype.event.event import get_events

	fmt = "%Y-%m-%d %H:%M:%S"
	return get_events(
		low.strftime(fmt), high.strftime(fmt), user=user, filters={"name": ["in", sorted(names)]}
	)


def interval_of(event, zone) -> tuple | None:
	"""The UTC interval an (expanded) Event holds: whole days in `zone` when all day."""
	start = get_datetime(event.starts_on)
	end = get_datetime(event.ends_on) if event.ends_on else None
	if event.all_day:
		first, last = getdate(start), getdate(end) if end else getdate(start)
		if last < first:
			last = first
		return (availability.day_start(first, zone), availability.day_start(last + timedelta(days=1), zone))
	start = as_utc(start)
	end = as_utc(end) if end else start + NO_END
	return (start, end) if end > start else None
