"""A host's private calendar feed: `/api/crm/calendar/<secret>.ics`, which Google Calendar, Outlook
and Apple Calendar subscribe to.

The secret is the credential: random, shown once when issued (CRM Appointment Host's
issue_calendar_feed), stored only as a hash (as the API keys are), revoked or replaced from the
host's form. A wrong, revoked or replaced secret, or a host or user who is disabled, finds nothing,
the same for every reason.

What it lists: the host's appointments that held their time (scheduled, confirmed, completed,
no show) from 30 days back to the booking horizon, with the UID, summary and times their invitations
carry; and, for CANCELLED_SHOWN_DAYS after they were cancelled, the cancelled ones, STATUS:CANCELLED,
so a calendar that keeps events it has seen drops them. Days are the site's; the window moves at its
midnight.

Polling is cheap: `version` reads only the names and modified times of the appointments the feed
lists, which fix its bytes (each event's DTSTAMP is its appointment's modified time); the ETag is
their digest, and a client that already has it gets a 304 without the calendar being built.
"""

import hashlib
import re
import string
from datetime import datetime, time, timedelta
from typing import NamedTuple

import frappe
from frappe.utils import get_url, getdate, nowdate

from crm_appointments import ics
from crm_appointments.crm_appointments import status_workflow as workflow
from crm_appointments.crm_appointments.doctype.crm_appointment_settings.crm_appointment_settings import (
	DEFAULT_HORIZON_DAYS,
	get_settings,
)
from crm_appointments.doctypes import APPOINTMENT, HOST
from crm_appointments.random_names import random_part

PATH = "/api/crm/calendar/{secret}.ics"
SECRET_LENGTH = 32  # 62**32 ~ 2**190
SECRET_PATTERN = re.compile(rf"^[A-Za-z0-9]{{{SECRET_LENGTH}}}$")
DAYS_BACK = 30
CANCELLED_SHOWN_DAYS = 14
# The statuses whose appointments held the host's time: shown as CONFIRMED.
SHOWN = tuple(workflow.label_of(v) for v in ("scheduled", "confirmed", "completed", "no_show"))
CANCELLED = workflow.label_of("cancelled")
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


def hash_secret(secret: str) -> str:
	return hashlib.sha256(secret.encode()).hexdigest()


def url(secret: str) -> str:
	return get_url(PATH.format(secret=secret))


def host_for_secret(secret: str) -> Host | None:
	"""The enabled host (of an enabled user) whose feed this secret opens; None for any other secret."""
	if not SECRET_PATTERN.match(secret or ""):
		return None
	rows = frappe.db.sql(
		f"""select h.name, h.full_name, h.modified from `tab{HOST}` h join `tabUser` u on u.name = h.user
		where h.calendar_feed_hash = %s and h.calendar_feed_enabled = 1 and h.enabled = 1
		and u.enabled = 1""",
		hash_secret(secret),
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


def _rows(host: str, columns: str, bounds: dict) -> list:
	return frappe.db.sql(
		f"""select {columns} from `tab{APPOINTMENT}`
		where host = %(host)s and scheduled_time >= %(since)s and scheduled_time < %(until)s
		and (status in %(shown)s or (status = %(cancelled)s and modified >= %(cancelled_since)s))
		order by scheduled_time, name""",
		{**bounds, "host": host, "shown": SHOWN, "cancelled": CANCELLED},
		as_dict=True,
	)


def version(host: Host, bounds: dict | None = None, rows: list | None = None) -> Version:
	"""The feed's validators, from the listed appointments' names and modified times (read here unless
	given). Last-Modified is the newest of those, the host's, and today's midnight (the window moves
	then, which changes what is listed without changing any appointment)."""
	bounds = bounds or window()
	if rows is None:
		rows = _rows(host.name, "name, modified", bounds)
	digest = hashlib.sha256()
	for part in (FORMAT, frappe.local.lang or "", get_url(), host.name, host.full_name or ""):
		digest.update(part.encode() + b"\0")
	for row in rows:
		digest.update(f"{row.name}\0{row.modified.isoformat()}\0".encode())
	newest = max([bounds["start_of_today"], host.modified, *(row.modified for row in rows)])
	return Version(digest.hexdigest()[:32], newest)


def calendar(host: Host) -> tuple[bytes, Version]:
	"""The feed's bytes, and their validators (from the same rows)."""
	bounds = window()
	rows = _rows(
		host.name,
		"""name, modified, status, scheduled_time, duration, calendar_sequence, customer_name,
		customer_email, customer_phone_number, customer_details""",
		bounds,
	)
	for row in rows:
		row.cancelled = row.status == CANCELLED
	name = frappe._("Appointments: {0}").format(host.full_name or host.name)
	return ics.feed(name, rows), version(host, bounds, rows)
