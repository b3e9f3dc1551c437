"""The grey blocks of the desk (Find a time, the Calendar view): when hosts are busy outside the app, in
their own Frappe Events (scheduling/event_busy.py) or their CalDAV calendar (scheduling/caldav_busy.py).

Only times: a block carries no title, place, attendee or source, and overlapping or touching blocks are
merged, so it shows no more than that the host is taken then (what the free slots already tell). Only
for hosts the caller may read (their role and User Permissions decide); others are left out. A desk
user with no CRM role, and Guest, get 403. A host whose calendar cannot be read is flagged; since when
and why only to the host and Managers (the connection is theirs to see: desk/calendar_connection.py).
"""

from datetime import datetime, timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime

from crm_appointments.core.names import HOST
from crm_appointments.crm_appointments.doctype.crm_appointment_host.crm_appointment_host import (
	is_host_or_manager,
)
from crm_appointments.scheduling import caldav_busy, event_busy
from crm_appointments.scheduling.timezones import as_utc, iso_utc, zone_of

# The Calendar view asks for up to six weeks at once (its month view); a little more is allowed.
LONGEST_WINDOW = timedelta(days=62)
MOST_HOSTS = 50


@frappe.whitelist()
def busy_blocks(hosts=None, start: str | None = None, end: str | None = None) -> dict:
	"""Each readable host's outside busy time in [start, end): `{"hosts": {host: {"busy": [{"start",
	"end"}] (ISO UTC), "unreadable": null or {"since", "error"}}}}`. `hosts` a list (or JSON, or one
	name); none: every enabled host the caller may read. `start` and `end` ISO times (with an offset, or
	naive in the site's zone)."""
	if not frappe.has_permission(HOST, "read"):
		raise frappe.PermissionError(_("Only CRM users can see when hosts are busy."))
	since, until = window(start, end)
	names = readable_hosts(hosts)
	if not names:
		return {"hosts": {}}
	records = frappe.get_all(
		HOST, filters={"name": ["in", names]}, fields=["name", "user", "time_zone", "caldav_enabled"]
	)
	zones = {r.name: zone_of(r.time_zone) for r in records}
	found = {r.name: [] for r in records}
	for host, held in event_busy.busy(list(zones), since, until, zones).items():
		found[host] += held
	# Cached, or read now; a host whose read fails gets no busy time there, and is flagged.
	on_caldav = [r.name for r in records if r.caldav_enabled]
	caldav, broken = (
		caldav_busy.busy_and_unreadable(on_caldav, since, until, zones) if on_caldav else ({}, {})
	)
	for host, held in caldav.items():
		found[host] += held
	users = {r.name: r.user for r in records}
	return {
		"hosts": {
			host: {
				"busy": [
					{"start": iso_utc(a), "end": iso_utc(b)} for a, b in merged(found[host], since, until)
				],
				"unreadable": flag(broken[host], users[host]) if host in broken else None,
			}
			for host in sorted(found)
		}
	}


def window(start, end) -> tuple[datetime, datetime]:
	try:
		since, until = as_utc(get_datetime(start)), as_utc(get_datetime(end))
	except Exception:
		since = until = None
	if not since or not until or until <= since:
		frappe.throw(_("Give a start and an end after it, as ISO times."), title=_("Invalid window"))
	if until - since > LONGEST_WINDOW:
		frappe.throw(
			_("Ask for at most {0} days at once.").format(LONGEST_WINDOW.days), title=_("Invalid window")
		)
	return since, until


def readable_hosts(hosts) -> list[str]:
	"""The hosts asked for (all enabled ones when none) that the session user may read."""
	if isinstance(hosts, str):
		hosts = frappe.parse_json(hosts) if hosts.strip().startswith("[") else [hosts]
	asked = [h for h in (hosts or []) if isinstance(h, str) and h]
	if not asked:
		return frappe.get_list(HOST, filters={"enabled": 1}, pluck="name", limit_page_length=MOST_HOSTS)
	if len(asked) > MOST_HOSTS:
		frappe.throw(_("Ask for at most {0} hosts at once.").format(MOST_HOSTS))
	return [
		h
		for h in dict.fromkeys(asked)
		if frappe.db.exists(HOST, h) and frappe.has_permission(HOST, "read", doc=h)
	]


def merged(intervals, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
	"""The intervals cut to [since, until), sorted, overlapping and touching ones joined."""
	out = []
	for a, b in sorted((max(as_utc(a), since), min(as_utc(b), until)) for a, b in intervals):
		if b <= a:
			continue
		if out and a <= out[-1][1]:
			out[-1] = (out[-1][0], max(out[-1][1], b))
		else:
			out.append((a, b))
	return out


def flag(state: dict, host_user: str) -> dict:
	"""An unreadable calendar as the viewer may see it: since when always; why to the host and Managers."""
	return {
		"since": iso_utc(state.get("since")) if state.get("since") else None,
		"error": (state.get("error") or "") if is_host_or_manager(host_user) else "",
	}
