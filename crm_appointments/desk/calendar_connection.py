"""A host's outside calendar (CalDAV) as the host form's Connect calendar dialog works it (contract.md,
"Outside calendars"): save the connection, try one before saving it, and read how it is doing.

Who may call: the host themself (the host record's user) or a Manager (CRM Appointment Manager, System
Manager), and only for a host they may read (User Permissions narrow Managers too). Everyone else, Guest
and desk users with no CRM role among them, gets 403. The password goes in and never comes back: no
answer here holds it, only whether one is stored.

Trying a connection reads the server in the request, outside any row lock (nothing here writes); a dead
server is an error message after the client's timeout, not a hang.
"""

from datetime import datetime, timedelta, timezone

import frappe
from frappe import _
from frappe.utils import cint

from crm_appointments.core.names import HOST
from crm_appointments.crm_appointments.doctype.crm_appointment_host import crm_appointment_host
from crm_appointments.scheduling import caldav_busy
from crm_appointments.scheduling.host_calendars import to_site
from crm_appointments.scheduling.timezones import as_utc, zone_of

# Test connection shows the next few busy times, looked for this far ahead.
NEXT_BUSY_COUNT = 5
NEXT_BUSY_WITHIN = timedelta(days=14)
STATUS_FIELDS = (
	"user",
	"full_name",
	"time_zone",
	"caldav_enabled",
	"caldav_url",
	"caldav_username",
	"caldav_last_read",
	"caldav_last_error",
	"caldav_error_since",
)


@frappe.whitelist(methods=["POST"])
def connect_calendar(host: str, url: str, username: str, password: str | None = None, enabled=1) -> dict:
	"""Save the host's calendar connection (the host or a Manager). An empty password keeps the stored
	one. Answers the connection's status (never the password)."""
	stored = host_for_connection(host)
	url = (url or "").strip()
	if not password and url:
		require_password_for_new_address(stored, url)
	crm_appointment_host.set_connection(host, url, (username or "").strip(), password or None, cint(enabled))
	return connection_status(host)


@frappe.whitelist(methods=["POST"])
def test_connection(
	host: str, url: str | None = None, username: str | None = None, password: str | None = None
) -> dict:
	"""Read a calendar server without saving anything (the host or a Manager): the calendars found and
	the host's next busy times there, in the host's zone. What is not given is the stored value (the
	stored password when none is typed). A server that cannot be read is a clear error message."""
	stored = host_for_connection(host)
	url = (url or "").strip() or stored.caldav_url
	username = (username or "").strip() or stored.caldav_username
	if not url:
		frappe.throw(_("Give the calendar server's URL."), title=_("No URL"))
	if not password:
		require_password_for_new_address(stored, url)
		password = caldav_busy.password_of(host)
	zone = zone_of(stored.time_zone)
	now = datetime.now(timezone.utc)
	try:
		# open_calendars checks the URL against the outbound rule first (caldav_busy.client).
		with caldav_busy.unreachable_as_error():
			calendars = caldav_busy.open_calendars(url, username, password)
			names = [calendar.get_display_name() or str(calendar.url) for calendar in calendars]
			busy = caldav_busy.read_busy(calendars, now, now + NEXT_BUSY_WITHIN, zone)
	except caldav_busy.CalendarUnreachable as exc:
		frappe.throw(
			_("The calendar server could not be read: {0}").format(frappe.utils.escape_html(str(exc))),
			title=_("Calendar unreadable"),
		)
	ahead = sorted((start, end) for start, end in busy if end > now)[:NEXT_BUSY_COUNT]
	return {
		"calendars": list(names),
		"time_zone": str(zone),
		"next_busy": [
			{
				"start": as_utc(start).astimezone(zone).isoformat(),
				"end": as_utc(end).astimezone(zone).isoformat(),
			}
			for start, end in ahead
		],
	}


@frappe.whitelist()
def connection_status(host: str) -> dict:
	"""How the host's calendar connection stands (the host or a Manager): on or off, the URL and user,
	whether a password is stored (never the password), the last successful read, and the last error and
	since when it has been failing."""
	stored = host_for_connection(host)
	enabled = cint(stored.caldav_enabled)
	# The live state (Redis: caldav_busy), fresher than the record's copy that a job keeps.
	broken = caldav_busy.unreadable([host]).get(host) if enabled else None
	state = caldav_busy.state_of(host) or {}
	last_read = caldav_busy.site_time(state.get("read")) if state.get("read") else stored.caldav_last_read
	return {
		"host": host,
		"enabled": enabled,
		"url": stored.caldav_url or "",
		"username": stored.caldav_username or "",
		"has_password": bool(caldav_busy.password_of(host)),
		"last_read": str(last_read) if last_read else None,
		"last_error": broken["error"] if broken else (stored.caldav_last_error or ""),
		"error_since": str(to_site(broken["since"])) if broken else None,
		"unreadable": bool(broken),
	}


def require_password_for_new_address(stored, url: str):
	"""The stored password goes only to the stored address: whoever types another address types the
	password for it too (else a Manager could have the host's password sent to a server of theirs)."""
	if url.rstrip("/") != (stored.caldav_url or "").rstrip("/"):
		frappe.throw(
			_("Type the password for this address: the stored one is sent only to {0}.").format(
				frappe.utils.escape_html(stored.caldav_url or _("the saved address"))
			),
			title=_("Password needed"),
		)


def host_for_connection(host: str) -> frappe._dict:
	"""The host as stored, once the session user may see and change its calendar connection; else 403
	(a host that does not exist is a 404)."""
	if frappe.session.user == "Guest":
		raise frappe.PermissionError(_("Log in to manage a calendar connection."))
	crm_appointment_host.ensure_may_manage_connection(host)
	return frappe.db.get_value(HOST, host, STATUS_FIELDS, as_dict=True)
