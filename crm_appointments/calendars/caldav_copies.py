"""Each live appointment of a host with CalDAV on, copied into their own calendar (contract.md, "Outside
calendars"), with the invitation's UID (calendars/ics.py: `appointment_...@<site>`), moved when it is
rescheduled and removed when it stops being live (cancelled, completed, no show, deleted, or given
another host).

How. A save never talks to the calendar: the controller's on_update and on_trash queue `sync_copy` for
after the commit (`queue_sync`), so a slow or dead server never blocks or loses a save, and a rolled-back
save writes nothing. The job writes the copy where it belongs (`<calendar>/<uid>.ics`, in the first of
the host's calendars that hold events) and takes it out of the calendars of any other host it passed
through. A job that cannot reach the server leaves the host marked for a retry, with growing waits
(RETRY_WAITS); the scheduler's tick (`retry_due`, every minute) reconciles hosts whose wait is over, and
`reconcile_all` (hourly) puts every calendar right: it writes the copies that are missing or stale
(another time, length or SEQUENCE), and removes our copies (by UID) that are no longer live, from a day
ago to RECONCILE_DAYS ahead. Copies of appointments further back are left as they are: the host's
history.
"""

from datetime import UTC, datetime, timedelta

import frappe
from frappe.utils import cint

from crm_appointments.calendars import ics
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, HOST
from crm_appointments.scheduling import caldav_busy
from crm_appointments.scheduling.caldav_busy import CalendarUnreachable
from crm_appointments.scheduling.timezones import as_utc

RETRY_WAITS = (60, 120, 300, 900, 1800, 3600)  # seconds; the last repeats
RECONCILE_DAYS = 400
APPOINTMENT_FIELDS = (
	"name",
	"host",
	"status",
	"scheduled_time",
	"duration",
	"calendar_sequence",
	"customer_name",
	"customer_email",
	"customer_phone_number",
	"customer_details",
	"location",
	"modified",
)


# -- queueing ------------------------------------------------------------------------------------------


def queue_sync(appointment, before=None):
	"""After the commit, put the appointment's copy right in its host's calendar (and out of a former
	host's). Nothing to do unless one of them has CalDAV on."""
	hosts = sorted({h for h in (appointment.get("host"), before.get("host") if before else None) if h})
	if not hosts or not caldav_busy.connected_hosts(hosts):
		return
	caldav_busy.queue_job(
		"crm_appointments.calendars.caldav_copies.sync_copy",
		after_commit=True,
		appointment=appointment.name,
		uid=ics.uid(appointment),
		hosts=hosts,
	)


def queue_reconcile(host: str):
	"""After the commit, put the host's whole calendar right (their connection changed)."""
	caldav_busy.queue_job(
		"crm_appointments.calendars.caldav_copies.reconcile_host",
		after_commit=True,
		host=host,
		job_id=f"crm_caldav_reconcile::{frappe.local.site}::{host}",
		deduplicate=True,
	)


# -- the jobs ------------------------------------------------------------------------------------------


def sync_copy(appointment: str, uid: str, hosts: list[str]):
	"""The job: the appointment's copy written to the calendar of the host that holds it live, removed
	from the others'. A host whose server fails is marked for a retry (the reconcile catches up)."""
	doc = copy_source(appointment)
	for host in hosts:
		connection = connection_of(host)
		if connection is None:
			continue
		try:
			calendars = caldav_busy.open_host_calendars(host, *connection)
			if doc is not None and doc.host == host and is_live(doc):
				put_copy(calendars[0], doc)
				remove_copies(calendars[1:], uid)
			else:
				remove_copies(calendars, uid)
		except CalendarUnreachable as error:
			mark_for_retry(host, str(error))


def reconcile_host(host: str) -> dict:
	"""Put the host's calendar right: every live appointment of theirs from a day ago to RECONCILE_DAYS
	ahead has its copy as it is now; no other copy of ours is left in that stretch. Returns what it did
	({"written", "removed"}); CalendarUnreachable when the server cannot be reached (marked for a
	retry)."""
	connection = connection_of(host)
	if connection is None:
		forget_retry(host)
		return {"written": 0, "removed": 0}
	since = datetime.now(UTC) - timedelta(days=1)
	until = since + timedelta(days=RECONCILE_DAYS + 1)
	wanted = {ics.uid(doc): doc for doc in live_appointments_of(host, since, until)}
	written = removed = 0
	try:
		calendars = caldav_busy.open_host_calendars(host, *connection)
		with caldav_busy.unreachable_as_error():
			have = {}
			for calendar in calendars:
				for found in calendar.search(start=since, end=until, event=True, expand=False):
					uid = uid_of(found)
					if uid and caldav_busy.is_own_copy(uid):
						have.setdefault(uid, []).append((calendar, found))
			home = calendars[0]
			for uid, doc in wanted.items():
				copies = have.pop(uid, [])
				current = [found for calendar, found in copies if calendar.url == home.url]
				if not current or not same_copy(current[0], doc):
					put_copy(home, doc)
					written += 1
				for calendar, found in copies:
					if calendar.url != home.url:
						found.delete()
						removed += 1
			for copies in have.values():
				for _calendar, found in copies:
					found.delete()
					removed += 1
	except CalendarUnreachable as error:
		mark_for_retry(host, str(error))
		raise
	forget_retry(host)
	return {"written": written, "removed": removed}


def reconcile_all():
	"""The scheduler's hourly job: every host with CalDAV on, reconciled."""
	for host in frappe.get_all(HOST, filters={"caldav_enabled": 1}, pluck="name", order_by="name"):
		try:
			reconcile_host(host)
		except CalendarUnreachable:
			pass  # marked for a retry; the host's state says why


def retry_due():
	"""The scheduler's tick: the hosts whose last write failed and whose wait is over, reconciled."""
	now = datetime.now(UTC).timestamp()
	for host in frappe.get_all(HOST, filters={"caldav_enabled": 1}, pluck="name", order_by="name"):
		retry = frappe.cache.get_value(retry_key(host), expires=True)
		if retry and retry["next"] <= now:
			try:
				reconcile_host(host)
			except CalendarUnreachable:
				pass


# -- the pieces ----------------------------------------------------------------------------------------


def connection_of(host: str) -> tuple | None:
	"""(url, username, password) of a host with CalDAV on, or None."""
	record = frappe.db.get_value(
		HOST, host, ["caldav_enabled", "caldav_url", "caldav_username"], as_dict=True
	)
	if not record or not cint(record.caldav_enabled) or not record.caldav_url:
		return None
	return record.caldav_url, record.caldav_username, caldav_busy.password_of(host)


def copy_source(name: str):
	rows = frappe.get_all(APPOINTMENT, filters={"name": name}, fields=list(APPOINTMENT_FIELDS))
	if not rows:
		return None
	row = rows[0]
	row.cancelled = False
	return row


def is_live(doc) -> bool:
	return workflow.value_of(doc.status) in workflow.LIVE


def live_appointments_of(host: str, since: datetime, until: datetime) -> list:
	from crm_appointments.scheduling.host_calendars import LIVE_LABELS, to_site

	rows = frappe.get_all(
		APPOINTMENT,
		filters={
			"host": host,
			"status": ["in", LIVE_LABELS],
			"scheduled_time": ["between", [to_site(since), to_site(until)]],
		},
		fields=list(APPOINTMENT_FIELDS),
		order_by="scheduled_time",
	)
	for row in rows:
		row.cancelled = False
	return rows


def put_copy(calendar, doc):
	"""Write (or overwrite) the appointment's copy at `<calendar>/<uid>.ics`, with the appointment's own
	SEQUENCE: a plain PUT (caldav 1.6's save raises SEQUENCE on every save, whatever it is told)."""
	from urllib.parse import quote

	url = calendar.url.join(quote(ics.uid(doc).replace("/", "%2F")) + ".ics")
	with caldav_busy.unreachable_as_error():
		answer = calendar.client.put(
			str(url), ics.host_copy(doc), {"Content-Type": "text/calendar; charset=utf-8"}
		)
		if answer.status not in (200, 201, 204):
			raise CalendarUnreachable(
				frappe._("The server refused the appointment's copy ({0} {1}).").format(
					answer.status, caldav_busy.short(str(answer.reason))
				)
			)


def remove_copies(calendars, uid: str):
	"""Take our copy with this UID out of these calendars, where it is."""
	from caldav.lib.error import NotFoundError

	with caldav_busy.unreachable_as_error():
		for calendar in calendars:
			try:
				calendar.event_by_uid(uid).delete()
			except NotFoundError:
				pass


def uid_of(found) -> str | None:
	try:
		return str(found.icalendar_component.get("UID") or "") or None
	except Exception:
		return None


def same_copy(found, doc) -> bool:
	"""Whether a copy in the calendar shows the appointment as it is now (times and SEQUENCE)."""
	try:
		event = found.icalendar_component
		start = as_utc(event.get("DTSTART").dt)
		end = as_utc(event.get("DTEND").dt)
		sequence = cint(event.get("SEQUENCE"))
	except Exception:
		return False
	want = as_utc(doc.scheduled_time)
	return (
		start == want
		and end == want + timedelta(minutes=cint(doc.duration))
		and sequence == cint(doc.calendar_sequence)
	)


def retry_key(host: str) -> str:
	return f"crm_caldav_retry|{host}"


def mark_for_retry(host: str, error: str):
	"""The host's calendar is to be reconciled again after the next of RETRY_WAITS, its calendars
	found again then (their addresses may be what failed)."""
	frappe.cache.delete_value(caldav_busy.discovery_key(host))
	before = frappe.cache.get_value(retry_key(host), expires=True) or {"attempt": 0}
	attempt = before["attempt"] + 1
	wait = RETRY_WAITS[min(attempt, len(RETRY_WAITS)) - 1]
	frappe.cache.set_value(
		retry_key(host),
		{"attempt": attempt, "next": datetime.now(UTC).timestamp() + wait, "error": error},
		expires_in_sec=7 * 86400,
	)


def forget_retry(host: str):
	frappe.cache.delete_value(retry_key(host))


def pending_retry(host: str) -> dict | None:
	"""{"attempt", "next" (unix seconds), "error"} when the host's calendar waits for a retry."""
	return frappe.cache.get_value(retry_key(host), expires=True)
