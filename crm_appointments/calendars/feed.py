"""A host's private calendar feed: `/api/crm/calendar/<secret>.ics`, which Google Calendar, Outlook
and Apple Calendar subscribe to.

The secret is the credential: random, shown once when issued (CRM Appointment Host's
issue_calendar_feed), stored only as a hash (as the API keys are), revoked or replaced from the
host's form. A wrong, revoked or replaced secret, or a host or user who is disabled, finds nothing,
the same for every reason.

What it lists: the host's appointments that held their time (scheduled, confirmed, completed,
no show) from 30 days back to the booking horizon, with the UID, summary and times their invitations
carry; and the cancelled ones, STATUS:CANCELLED, for CANCELLED_SHOWN_DAYS days after their last
change (the cancellation, or a later edit of their notes), so a calendar that keeps events it has
seen drops them. Only those the host may read in the desk (User Permissions and other apps' rules
apply as in a list). Days are the site's; the window moves at its midnight.

Polling is cheap: each event's bytes follow from its appointment's name and modified time (its
DTSTAMP is the modified time), so `version` names the feed from one aggregate row, and a client that
already has it gets a 304 without the calendar being built. Building it, each event is taken from
the cache while its appointment is unchanged (icalendar needs about a millisecond an event).
"""

import hashlib
import re
import string
from datetime import datetime, time, timedelta
from typing import NamedTuple

import frappe
import redis
from frappe.utils import get_datetime, get_url, getdate, nowdate

from crm_appointments.calendars import event_permissions, ics
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, HOST, ROLES
from crm_appointments.core.random_ids import hash_secret, random_part
from crm_appointments.core.settings import (
	DEFAULT_HORIZON_DAYS,
	get_settings,
)
from crm_appointments.scheduling import host_calendars

PATH = "/api/crm/calendar/{secret}.ics"
SECRET_LENGTH = 32  # 62**32 ~ 2**190
SECRET_PATTERN = re.compile(rf"^[A-Za-z0-9]{{{SECRET_LENGTH}}}$")
DAYS_BACK = 30
CANCELLED_SHOWN_DAYS = 14
# The statuses whose appointments held the host's time: shown as CONFIRMED.
SHOWN = tuple(workflow.label_of(v) for v in ("scheduled", "confirmed", "completed", "no_show"))
CANCELLED = workflow.label_of("cancelled")
EVENT_KEPT_SECONDS = 7 * 86400
# Part of every ETag: a change to what the feed writes for the same rows changes it too.
FORMAT = "1"


class Host(NamedTuple):
	name: str
	full_name: str
	modified: datetime


class Version(NamedTuple):
	etag: str  # unquoted
	last_modified: datetime  # naive, in the site's time zone


def new_secret() -> str:
	return random_part(SECRET_LENGTH, string.ascii_letters + string.digits)


def url(secret: str) -> str:
	return get_url(PATH.format(secret=secret))


def host_for_secret(secret: str) -> Host | None:
	"""The host whose feed this secret opens, while they can take appointments (host_calendars.
	ACTIVE_HOST: someone who left, or moved on, sees nothing more). None for any other secret."""
	if not SECRET_PATTERN.match(secret or ""):
		return None
	rows = frappe.db.sql(
		f"""select h.name, h.full_name, h.modified from `tab{HOST}` h
		where h.calendar_feed_hash = %(hash)s and h.calendar_feed_enabled = 1 and {host_calendars.ACTIVE_HOST}""",
		{"hash": hash_secret(secret), "crm_roles": ROLES},
	)
	return Host(*rows[0]) if rows else None


def window(today=None) -> dict:
	"""The query's bounds (naive, the site's time): starts from DAYS_BACK days before today to the end
	of the booking horizon's last day; cancelled ones changed since CANCELLED_SHOWN_DAYS days ago."""
	start_of_today = datetime.combine(getdate(today or nowdate()), time())
	horizon = get_settings().booking_horizon or DEFAULT_HORIZON_DAYS
	return {
		"since": start_of_today - timedelta(days=DAYS_BACK),
		"until": start_of_today + timedelta(days=horizon + 1),
		"cancelled_since": start_of_today - timedelta(days=CANCELLED_SHOWN_DAYS),
		"start_of_today": start_of_today,
	}


# The appointments a host's feed lists (see the module's docstring).
_LISTED = f"""from `tab{APPOINTMENT}`
	where host = %(host)s and scheduled_time >= %(since)s and scheduled_time < %(until)s
	and (status in %(shown)s or (status = %(cancelled)s and modified >= %(cancelled_since)s))"""


def _listed(host: str) -> str:
	"""_LISTED, less what the host may not read in the desk: the feed shows no more than the
	appointments themselves would (a User Permission, another app's permission rules). A host's name is
	their user's."""
	readable = event_permissions.readable_appointments(host)
	if readable is None:
		return _LISTED + " and false"
	return f"{_LISTED} and name in ({readable})"


def _arguments(host: str, bounds: dict) -> dict:
	return {**bounds, "host": host, "shown": SHOWN, "cancelled": CANCELLED}


def listed(host: str, bounds: dict) -> list[tuple[str, str]]:
	"""(name, modified) of each appointment the feed lists, in its order; modified as text, as it
	only names a version of the appointment here."""
	return frappe.db.sql(
		f"select name, cast(modified as char) {_listed(host)} order by scheduled_time, name",
		_arguments(host, bounds),
	)


def version(host: Host, bounds: dict | None = None) -> Version:
	"""The feed's validators, from one row the database adds up: how many appointments it lists, the
	newest modified time, and 128 bits of the XOR of the SHA-256 of each one's name and modified time.
	Each event's bytes follow from its appointment's name and modified time, and their order from the
	appointments, so these name the feed's bytes (with the host's name, the site's address and the
	language, which the calendar shows too) without reading the rows into Python or building anything.

	Last-Modified is the newest of the appointments' and the host's modified times and today's
	midnight (the window moves then, which changes what is listed without changing any appointment)."""
	bounds = bounds or window()
	row_hash = "sha2(concat(name, '|', modified), 256)"
	((count, newest, xor_high, xor_low),) = frappe.db.sql(
		f"""select count(*), cast(max(modified) as char),
		bit_xor(cast(conv(substr({row_hash}, 1, 16), 16, 10) as unsigned)),
		bit_xor(cast(conv(substr({row_hash}, 17, 16), 16, 10) as unsigned))
		{_listed(host.name)}""",
		_arguments(host.name, bounds),
	)
	digest = hashlib.sha256()
	for part in (FORMAT, frappe.local.lang or "", get_url(), host.name, host.full_name or ""):
		digest.update(part.encode() + b"\0")
	digest.update(f"{count}\0{newest}\0{xor_high}\0{xor_low}".encode())
	times = [bounds["start_of_today"], get_datetime(host.modified)]
	if newest:
		times.append(get_datetime(newest))
	return Version(digest.hexdigest()[:32], max(times))


def calendar(host: Host) -> tuple[bytes, Version]:
	"""The feed's bytes, and their validators (read in the same snapshot: the request's transaction)."""
	bounds = window()
	rows = listed(host.name, bounds)
	name = frappe._("Appointments: {0}").format(host.full_name or host.name)
	return ics.feed(name, _events(rows)), version(host, bounds)


def _events(rows: list) -> list[bytes]:
	"""Each listed appointment's VEVENT. icalendar takes about a millisecond for one, so each is kept
	(EVENT_KEPT_SECONDS, in the site's Redis cache) under what fixes its bytes: the appointment's name
	and modified time, the UID's domain, the site's address (the desk link), the language. A change
	to the appointment is a new key; only changed appointments are built again."""
	context = "\0".join((FORMAT, ics.uid_domain(), get_url(), frappe.local.lang or ""))
	keys = [
		frappe.cache.make_key(
			"crm_calendar_feed_event:" + hashlib.sha256(f"{context}\0{name}\0{modified}".encode()).hexdigest()
		)
		for name, modified in rows
	]
	try:
		kept = frappe.cache.mget(keys) if keys else []
	except redis.exceptions.ConnectionError:  # the cache is a help, not a need
		kept = [None] * len(keys)
	missing = [name for (name, _), event in zip(rows, kept, strict=True) if event is None]
	if not missing:
		return kept
	built = {}
	for row in _appointments(missing):
		row.cancelled = row.status == CANCELLED
		built[row.name] = ics.feed_event(row)
	try:
		with frappe.cache.pipeline(transaction=False) as pipe:
			for key, (name, _), event in zip(keys, rows, kept, strict=True):
				if event is None:
					pipe.setex(key, EVENT_KEPT_SECONDS, built[name])
			pipe.execute()
	except redis.exceptions.ConnectionError:
		pass
	return [event if event is not None else built[name] for (name, _), event in zip(rows, kept, strict=True)]


def _appointments(names: list[str]) -> list:
	"""What an event shows of these appointments (read in the same snapshot as the listing)."""
	return frappe.db.sql(
		f"""select name, modified, status, scheduled_time, duration, calendar_sequence, customer_name,
		customer_email, customer_phone_number, customer_details, location
		from `tab{APPOINTMENT}` where name in %(names)s""",
		{"names": names},
		as_dict=True,
	)
