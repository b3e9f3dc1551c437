"""A host's CalDAV calendar as busy time (contract.md, "Outside calendars"): the events of the calendars
at their `caldav_url` (a principal or calendar home: every calendar of it that holds events; or one
calendar) block their slots and the overlap rule.

What counts: each event of a time-range search, its repeats expanded (RRULE, RDATE, EXDATE and moved
occurrences, by recurring-ical-events), in its own time zone (a floating time, in the host's); an
all-day one whole days in the host's zone. An occurrence that is TRANSPARENT (shown as free) or
CANCELLED does not count, nor does the host's own copy of one of our appointments (its UID is the
invitation's, `appointment_...@<site>`: calendars/caldav_copies.py writes it), which is busy through the
appointment while it is live and must not block it, or its own move.

The network rules. Every address is checked by core/outbound.py (`check_url` before connecting, and the
guarded session on each connection, so a name that resolves anew, or an href the server hands back,
cannot reach a private address); a redirect is followed only to an address the same rule allows; each
request waits at most TIMEOUT seconds.

The cache. Reads are kept in Redis per host and UTC day for CACHE_SECONDS, so a month of slots costs one
Redis read per host once warm; a host's entry is dropped when their connection changes
(`forget`). `busy(..., fresh=True)` reads again: a booking does so for its candidate hosts before it
takes any row lock (booking/rules.py), so a meeting added a minute ago still blocks it. The overlap
rule under a lock reads the cache only (`cached`): never a network call while a row is locked.

Failures. A read that fails (refused URL, DNS, timeout, 401, no calendar...) is kept in Redis as the
host's state (`unreadable`: since when and why) until a read succeeds; a job copies the state to the
host's read-only fields (caldav_last_read, caldav_last_error, caldav_error_since) for the form. While
a host is unreadable they offer no slots (scheduling/host_calendars.py), so nobody is booked over a
meeting we could not see; staff saves go through with a warning.
"""

import contextlib
import functools
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin

import frappe
from frappe import _
from frappe.utils import get_datetime

from crm_appointments.core import outbound, site_address
from crm_appointments.core.names import HOST
from crm_appointments.scheduling import availability
from crm_appointments.scheduling.held_locks import holds_host_locks
from crm_appointments.scheduling.timezones import site_zone, zone_of

QUEUE = "short"
TIMEOUT = 5  # seconds a request may take (site config crm_caldav_timeout)
CACHE_SECONDS = 300
# After a failed read, how long before the next try: a dead server must not slow every slots request.
FAILURE_WAIT = 60
# How old a cached read the overlap rule, under a row lock, still takes over knowing nothing.
STALE_SECONDS = 86400
STATE_SECONDS = 7 * 86400
MAX_REDIRECTS = 3
APPOINTMENT_UID_PREFIX = "appointment_"  # CRM Appointment's names (its controller's NAME_PREFIX)
ONE_DAY = timedelta(days=1)


class CalendarUnreachable(frappe.ValidationError):
	"""A host's calendar could not be read or written; the message says why, in words for the desk."""


# -- connecting ---------------------------------------------------------------------------------------


def timeout() -> float:
	return float(frappe.conf.get("crm_caldav_timeout") or TIMEOUT)


def checked_session():
	"""outbound.guarded_session, following a redirect only to an address the rule allows."""
	session = outbound.guarded_session()
	session.max_redirects = MAX_REDIRECTS
	plain = session.get_redirect_target

	def get_redirect_target(response):
		target = plain(response)
		if target:
			try:
				outbound.check_url(urljoin(response.url, target))
			except outbound.UnsafeTargetError as error:
				raise CalendarUnreachable(
					_("The server redirected to an address the app does not connect to: {0}").format(error)
				) from None
		return target

	session.get_redirect_target = get_redirect_target
	return session


def client(url: str, username: str | None, password: str | None, preemptive: bool = True):
	"""A caldav DAVClient for the URL, after the URL rule, on the checked session. With a user name and
	`preemptive`, Basic credentials go with the first request (as calendar apps send them), saving a
	401 round trip (Radicale delays each); a server that wants Digest is asked again without
	(open_calendars)."""
	from caldav import DAVClient
	from requests.auth import HTTPBasicAuth

	try:
		outbound.check_url(url)
	except outbound.UnsafeTargetError as error:
		raise CalendarUnreachable(str(error)) from None
	auth = HTTPBasicAuth(username, password or "") if preemptive and username else None
	dav = DAVClient(url, username=username or None, password=password or None, auth=auth, timeout=timeout())
	dav.session.close()
	dav.session = checked_session()
	dav.crm_preemptive = auth is not None
	return dav


def open_calendars(url: str, username: str | None, password: str | None) -> list:
	"""The caldav Calendar objects at `url`: the calendar it names, or every calendar holding events of
	the principal (or calendar home) it names. CalendarUnreachable, saying why, when there are none or
	the server cannot be reached."""
	try:
		return discover(client(url, username, password), url)
	except CalendarUnreachable as error:
		if not (username and "401" in str(error)):
			raise
	return discover(client(url, username, password, preemptive=False), url)  # Digest, say


def discover(dav, url: str) -> list:
	from caldav import Calendar, CalendarSet

	with unreachable_as_error():
		here = Calendar(client=dav, url=url)
		if is_calendar(here):
			return [here]
		try:
			calendars = dav.principal().calendars()
		except Exception as error:
			if is_auth_error(error):
				raise
			calendars = []
		if not calendars:  # a calendar home that names no principal
			calendars = CalendarSet(client=dav, url=url).calendars()
		found = [calendar for calendar in calendars if holds_events(calendar)]
		if not found:
			raise CalendarUnreachable(_("No calendar with events was found at {0}.").format(url))
		return found


DISCOVERY_SECONDS = 3600


def discovery_key(host: str) -> str:
	return f"crm_caldav_calendars|{host}"


def open_host_calendars(host: str, url: str, username: str | None, password: str | None) -> list:
	"""The host's calendars (open_calendars), their addresses kept for DISCOVERY_SECONDS so a read is
	one REPORT a calendar; found again after a failure or a change of connection (`forget`)."""
	from caldav import Calendar

	known = frappe.cache.get_value(discovery_key(host), expires=True)
	if known and known.get("url") == url:
		dav = client(url, username, password, preemptive=known["preemptive"])
		return [Calendar(client=dav, url=address) for address in known["calendars"]]
	found = open_calendars(url, username, password)
	frappe.cache.set_value(
		discovery_key(host),
		{
			"url": url,
			"preemptive": found[0].client.crm_preemptive,
			"calendars": [str(c.url) for c in found],
		},
		expires_in_sec=DISCOVERY_SECONDS,
	)
	return found


CALENDAR_TYPE = "{urn:ietf:params:xml:ns:caldav}calendar"


def is_calendar(calendar) -> bool:
	"""Whether the collection at the object's URL is a calendar (its DAV:resourcetype)."""
	from caldav.elements import dav

	props = calendar.get_properties([dav.ResourceType()], parse_props=False)
	element = props.get(dav.ResourceType.tag)
	return element is not None and any(child.tag == CALENDAR_TYPE for child in element)


def is_auth_error(error: BaseException) -> bool:
	from caldav.lib import error as dav_errors

	return isinstance(error, dav_errors.AuthorizationError) or "401" in str(error)


def holds_events(calendar) -> bool:
	try:
		return "VEVENT" in calendar.get_supported_components()
	except Exception:  # a server that does not say: assume it does
		return True


@contextlib.contextmanager
def unreachable_as_error():
	"""Whatever a connection raises inside, as CalendarUnreachable, in words a host understands."""
	try:
		yield
	except CalendarUnreachable:
		raise
	except Exception as error:
		raise CalendarUnreachable(reason_of(error)) from error


def reason_of(error: BaseException) -> str:
	"""Why a connection failed, in words."""
	import requests
	from caldav.lib import error as dav_errors

	text = str(error)
	if isinstance(error, outbound.UnsafeTargetError):
		return text
	if is_auth_error(error) or "Unauthorized" in text:
		return _("The server refused the user name or password (401).")
	if isinstance(error, requests.exceptions.Timeout):
		return _("The server did not answer within {0} seconds.").format(timeout())
	if isinstance(error, requests.exceptions.TooManyRedirects):
		return _("The server redirected too many times.")
	if isinstance(error, requests.exceptions.ConnectionError):
		if "refused to send" in text:
			return _("The connection reached an address the app does not connect to ({0}).").format(text)
		return _("The server cannot be reached ({0}).").format(short(text))
	if isinstance(error, dav_errors.NotFoundError) or "404" in text:
		return _("No calendar was found at that address (404).")
	if isinstance(error, dav_errors.DAVError):
		return _("The server's answer was not understood ({0}).").format(short(text))
	return _("The calendar could not be read ({0}: {1}).").format(type(error).__name__, short(text))


def short(text: str, limit: int = 200) -> str:
	text = " ".join(str(text).split())
	return text if len(text) <= limit else text[: limit - 1] + "…"


# -- reading busy time ------------------------------------------------------------------------------


def read_busy(calendars, since: datetime, until: datetime, zone=None) -> list[tuple[datetime, datetime]]:
	"""What the calendars' events hold of [since, until) (aware), as aware UTC intervals, sorted: see the
	module's docstring for what counts. `zone`: the host's (all-day and floating times); default the
	site's."""
	import recurring_ical_events

	zone = zone or site_zone()
	held = []
	with unreachable_as_error():
		for calendar in calendars:
			for found in calendar.search(start=since, end=until, event=True, expand=False):
				ical = found.icalendar_instance
				for occurrence in recurring_ical_events.of(ical).between(since, until):
					interval = interval_of(occurrence, zone)
					if interval and availability.clash(interval, (since, until)):
						held.append(interval)
	return sorted(set(held))


def is_own_copy(uid: str) -> bool:
	"""Whether a UID is one of this site's appointments' (calendars/ics.uid)."""
	return uid.startswith(APPOINTMENT_UID_PREFIX) and uid.endswith("@" + site_address.hostname())


def counts(occurrence) -> bool:
	if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
		return False
	if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
		return False
	return not is_own_copy(str(occurrence.get("UID", "")))


def interval_of(occurrence, zone) -> tuple[datetime, datetime] | None:
	"""The UTC interval an occurrence holds, or None when it does not count or holds no time."""
	if occurrence.name != "VEVENT" or not counts(occurrence):
		return None
	start = occurrence.get("DTSTART").dt
	end_prop = occurrence.get("DTEND")
	end = end_prop.dt if end_prop is not None else None
	if end is None and occurrence.get("DURATION") is not None:
		end = start + occurrence.get("DURATION").dt
	if not isinstance(start, datetime):  # all day: whole days in the host's zone
		last = end if isinstance(end, date) and not isinstance(end, datetime) else start + ONE_DAY
		if last <= start:
			last = start + ONE_DAY
		return (availability.day_start(start, zone), availability.day_start(last, zone))
	if end is None:
		end = start  # RFC 5545: a timed event with no end takes no time
	start, end = aware(start, zone), aware(end, zone)
	return (start, end) if end > start else None


def aware(moment: datetime, zone) -> datetime:
	"""A datetime as aware UTC; a floating one is in `zone`."""
	if moment.tzinfo is None:
		moment = moment.replace(tzinfo=zone)
	return moment.astimezone(UTC)


# -- the cache and the hosts' state ------------------------------------------------------------------


def cache_key(host: str) -> str:
	return f"crm_caldav_busy|{host}"


def state_key(host: str) -> str:
	return f"crm_caldav_state|{host}"


def days_of(since: datetime, until: datetime) -> list[date]:
	"""The UTC days [since, until) touches."""
	first, last = since.astimezone(UTC).date(), (until.astimezone(UTC) - timedelta(microseconds=1)).date()
	return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_range(days: list[date]) -> tuple[datetime, datetime]:
	first, last = min(days), max(days)
	return (
		datetime.combine(first, datetime.min.time(), UTC),
		datetime.combine(last + ONE_DAY, datetime.min.time(), UTC),
	)


def now_ts() -> float:
	return datetime.now(UTC).timestamp()


def cached_days(host: str, max_age: float = CACHE_SECONDS) -> dict:
	"""The host's cached days read at most `max_age` seconds ago: {day iso: (read at, [(start ts, end
	ts)...])}."""
	entry = frappe.cache.get_value(cache_key(host), expires=True) or {}
	oldest = now_ts() - max_age
	return {day: value for day, value in entry.items() if value[0] >= oldest}


def store_days(host: str, days: list[date], intervals: list[tuple[datetime, datetime]]):
	entry = cached_days(host, STALE_SECONDS)
	stamp = now_ts()
	for day in days:
		low = datetime.combine(day, datetime.min.time(), UTC)
		high = low + ONE_DAY
		entry[day.isoformat()] = (
			stamp,
			[(a.timestamp(), b.timestamp()) for a, b in intervals if a < high and b > low],
		)
	frappe.cache.set_value(cache_key(host), entry, expires_in_sec=STALE_SECONDS)


def from_days(entry: dict, days: list[date], since: datetime, until: datetime) -> list | None:
	"""The intervals the cached days hold in [since, until); None when a day is missing."""
	found = set()
	for day in days:
		value = entry.get(day.isoformat())
		if value is None:
			return None
		for a, b in value[1]:
			found.add((datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)))
	return sorted(i for i in found if availability.clash(i, (since, until)))


def forget(host: str):
	"""Drop what is cached of the host's calendar, and their state (their connection changed)."""
	frappe.cache.delete_value([cache_key(host), state_key(host), discovery_key(host)])


def state_of(host: str) -> dict | None:
	return frappe.cache.get_value(state_key(host), expires=True)


def record_success(host: str):
	before = state_of(host) or {}
	frappe.cache.set_value(state_key(host), {"read": now_ts()}, expires_in_sec=STATE_SECONDS)
	if before.get("error") or now_ts() - before.get("read", 0) > CACHE_SECONDS:
		queue_state_copy(host)


def record_failure(host: str, error: str):
	frappe.cache.delete_value(discovery_key(host))  # found again next time
	before = state_of(host) or {}
	since = before.get("error_since") or now_ts()
	frappe.cache.set_value(
		state_key(host),
		{"read": before.get("read"), "error": error, "error_since": since, "failed_at": now_ts()},
		expires_in_sec=STATE_SECONDS,
	)
	if before.get("error") != error:
		queue_state_copy(host)


def queue_state_copy(host: str):
	"""Copy the host's state to their record in a job: the read may be made in a transaction that must
	not take the host's row (a booking, a slots request)."""
	queue_job(
		"crm_appointments.scheduling.caldav_busy.copy_state",
		host=host,
		job_id=f"crm_caldav_state::{frappe.local.site}::{host}",
		deduplicate=True,
	)


def queue_job(method: str, after_commit: bool = False, **kwargs):
	"""Hand a CalDAV job (this module's, calendars/caldav_copies.py's) to Frappe's queue, now or once
	this transaction commits (a rolled-back one queues nothing)."""
	if after_commit:
		frappe.db.after_commit.add(functools.partial(hand_to_queue, method, **kwargs))
	else:
		hand_to_queue(method, **kwargs)


def hand_to_queue(method: str, **kwargs):
	"""The one call through which CalDAV jobs reach frappe.enqueue (the tests put a recorder here)."""
	frappe.enqueue(method, queue=QUEUE, **kwargs)


def copy_state(host: str):
	"""The job: the host's state (Redis) into their read-only fields."""
	state = state_of(host)
	if state is None or not frappe.db.exists(HOST, host):
		return
	values = {
		"caldav_last_read": site_time(state.get("read")),
		"caldav_last_error": state.get("error") or None,
		"caldav_error_since": site_time(state.get("error_since")),
	}
	frappe.db.set_value(HOST, host, values, update_modified=False)


def site_time(stamp: float | None) -> datetime | None:
	if not stamp:
		return None
	return datetime.fromtimestamp(stamp, UTC).astimezone(site_zone()).replace(tzinfo=None, microsecond=0)


def connected_hosts(hosts) -> list:
	"""The hosts of `hosts` with CalDAV on, with what is needed to read them."""
	if not hosts:
		return []
	return frappe.get_all(
		HOST,
		filters={"name": ["in", list(hosts)], "caldav_enabled": 1},
		fields=[
			"name",
			"caldav_url",
			"caldav_username",
			"time_zone",
			"caldav_error_since",
			"caldav_last_error",
		],
		order_by="name",
	)


def password_of(host: str) -> str | None:
	from frappe.utils.password import get_decrypted_password

	return get_decrypted_password(HOST, host, "caldav_password", raise_exception=False)


def busy(hosts, since: datetime, until: datetime, zones: dict | None = None, fresh: bool = False) -> dict:
	"""What the calendars of the hosts with CalDAV on hold of [since, until) (aware), by host, from the
	cache or (missing there, or `fresh`) read now. A host whose read fails gets no entry (see
	`unreadable`). It goes to the network only while this transaction holds no host rows
	(held_locks.py); then it takes what the cache has, however old (up to STALE_SECONDS), or nothing."""
	return busy_of(connected_hosts(hosts), since, until, zones, fresh)


def busy_and_unreadable(hosts, since: datetime, until: datetime, zones: dict | None = None) -> tuple:
	"""(busy, unreadable) of the hosts, from one read of their records: what the slots and the desk's
	busy blocks need."""
	records = connected_hosts(hosts)
	return busy_of(records, since, until, zones), unreadable_of(records)


def busy_of(records, since: datetime, until: datetime, zones: dict | None, fresh: bool = False) -> dict:
	"""`busy`, for the hosts' records (connected_hosts)."""
	zones = zones or {}
	found = {}
	days = days_of(since, until)
	locked = holds_host_locks()
	for record in records:
		host = record.name
		if failed_just_now(host):
			continue  # unreadable; tried again after FAILURE_WAIT
		if locked or not fresh:
			held = from_days(
				cached_days(host, STALE_SECONDS if locked else CACHE_SECONDS), days, since, until
			)
			if held is not None or locked:
				if held is not None:
					found[host] = held
				continue
		zone = zones.get(host) or zone_of(record.time_zone)
		low, high = day_range(days)
		try:
			if not record.caldav_url:
				raise CalendarUnreachable(_("No calendar address is set."))
			calendars = open_host_calendars(
				host, record.caldav_url, record.caldav_username, password_of(host)
			)
			held = read_busy(calendars, low, high, zone)
		except CalendarUnreachable as error:
			record_failure(host, str(error))
			continue
		store_days(host, days, held)
		record_success(host)
		found[host] = [i for i in held if availability.clash(i, (since, until))]
	return found


def failed_just_now(host: str) -> bool:
	state = state_of(host) or {}
	return bool(state.get("error")) and now_ts() - state.get("failed_at", 0) < FAILURE_WAIT


def cached(host: str, since: datetime, until: datetime) -> list | None:
	"""The host's CalDAV busy time in [since, until) from the cache alone (no network: for checks made
	under a row lock); None when it is not known (not cached, or the host is unreadable). [] for a host
	with CalDAV off."""
	records = connected_hosts([host])
	if not records:
		return []
	if host in unreadable_of(records):
		return None
	return from_days(cached_days(host, STALE_SECONDS), days_of(since, until), since, until)


def unreadable(hosts) -> dict[str, dict]:
	"""{host: {"since": aware UTC datetime, "error": str}} for the hosts with CalDAV on whose last read
	failed."""
	return unreadable_of(connected_hosts(hosts))


def unreadable_of(records) -> dict[str, dict]:
	"""`unreadable`, for the hosts' records (connected_hosts)."""
	found = {}
	for record in records:
		state = state_of(record.name)
		if state is None:  # Redis lost it: the record's copy
			if record.caldav_last_error and record.caldav_error_since:
				found[record.name] = {
					"since": get_datetime(record.caldav_error_since)
					.replace(tzinfo=site_zone())
					.astimezone(UTC),
					"error": record.caldav_last_error,
				}
			continue
		if state.get("error"):
			found[record.name] = {
				"since": datetime.fromtimestamp(state["error_since"], UTC),
				"error": state["error"],
			}
	return found
