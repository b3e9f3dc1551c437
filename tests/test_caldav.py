"""A host's CalDAV calendar (contract.md, "Outside calendars"; scheduling/caldav_busy.py reads it,
calendars/caldav_copies.py writes to it), against a real Radicale of the module's own on a loopback port
(tests/radicale_server.py), filled through the caldav library as a calendar app fills it.

What a host who lives in their own calendar expects: their meetings there (repeating, all day, in
another zone) block their slots, the overlap rule and a booking, even one added a minute ago; what they
mark free does not; each appointment shows up there, moves and goes away. When the server is down they
offer no slots, staff saves go through with a warning, and everything catches up when it is back.

The jobs: `caldav_busy.queue_job` (through which the app queues every CalDAV job) is replaced by a
recorder; each test runs what was queued, as a worker would, when it chooses.
"""

import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import frappe
import pytest

from crm_appointments.booking import rules as booking
from crm_appointments.calendars import caldav_copies, ics
from crm_appointments.core import outbound, site_address
from crm_appointments.core.exceptions import DoubleBookingError, SlotNotFreeError
from crm_appointments.crm_appointments.doctype.crm_appointment_host import crm_appointment_host as host_doc
from crm_appointments.scheduling import caldav_busy, held_locks, host_calendars, slots
from crm_appointments.scheduling.host_calendars import to_site
from tests import factories
from tests.factories import OUTSIDER, USERS
from tests.radicale_server import Radicale, one_event

pytestmark = pytest.mark.slow

HOST_DOCTYPE = "CRM Appointment Host"
HOST = USERS["user"]
DAV_USER, DAV_PASSWORD = "ben", "radicale-Password-7"
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
QUEUE_JOB = caldav_busy.queue_job  # the app's own, before a test's recorder takes its place


def ahead(days: int) -> date:
	return datetime.now(BERLIN).date() + timedelta(days=days)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
	return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


class Jobs:
	def __init__(self):
		self.queued = []

	def record(self, method, after_commit=False, **kwargs):
		self.queued.append((method, after_commit, kwargs))

	def run(self) -> int:
		ran = 0
		while self.queued:
			method, _after_commit, kwargs = self.queued.pop(0)
			kwargs = {k: v for k, v in kwargs.items() if k not in ("job_id", "deduplicate")}
			frappe.get_attr(method)(**kwargs)
			ran += 1
		return ran

	def methods(self) -> list[str]:
		return [m.rsplit(".", 1)[-1] for m, _a, _k in self.queued]


class QuickRadicale(Radicale):
	"""Radicale without its delay after a failed login (a second or more each, by default)."""

	def start(self):
		import os
		import subprocess

		from tests.private_services import wait_for_port
		from tests.radicale_server import radicale_command

		users = os.path.join(self.folder, "users")
		with open(users, "w") as f:
			f.writelines(f"{user}:{password}\n" for user, password in self.users.items())
		config = os.path.join(self.folder, "config")
		with open(config, "w") as f:
			f.write(
				f"[server]\nhosts = 127.0.0.1:{self.port}\n"
				f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n"
				f"[storage]\nfilesystem_folder = {os.path.join(self.folder, 'collections')}\n"
				"[logging]\nlevel = warning\n"
			)
		self.process = subprocess.Popen(
			[radicale_command(), "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
		)
		wait_for_port(self.port, self.process, "the test's Radicale", 30)
		return self


@pytest.fixture(scope="module")
def radicale(site):
	server = QuickRadicale({DAV_USER: DAV_PASSWORD}).start()
	try:
		server.calendar = server.make_calendar(DAV_USER, "Work")
		yield server
	finally:
		server.remove()


@pytest.fixture
def jobs(monkeypatch):
	recorder = Jobs()
	monkeypatch.setattr(caldav_busy, "queue_job", recorder.record)
	return recorder


@pytest.fixture
def calendar(radicale, monkeypatch, jobs):
	"""The host (all day, every day, in Berlin) connected to an empty "Work" calendar; hour-long slots."""
	if radicale.process is None:
		radicale.start()
	monkeypatch.setitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG, 1)
	monkeypatch.setattr(caldav_busy, "FAILURE_WAIT", 0)  # a failed read is tried again at once
	for event in radicale.calendar.events():
		event.delete()
	record = factories.host("user", time_zone="Europe/Berlin")
	record.update(
		{
			"caldav_enabled": 1,
			"caldav_url": radicale.principal_url(DAV_USER),
			"caldav_username": DAV_USER,
			"caldav_password": DAV_PASSWORD,
		}
	)
	record.save(ignore_permissions=True)
	jobs.queued.clear()
	caldav_busy.forget(HOST)
	caldav_copies.forget_retry(HOST)
	with factories.booking_settings(
		enable_public_booking=1, minimum_notice=0, booking_horizon=60, slot_interval=0, booking_duration=60
	):
		yield radicale.calendar
	caldav_busy.forget(HOST)
	caldav_copies.forget_retry(HOST)


def next_request():
	"""What a new request starts with: no host rows held (here the test's transaction goes on, so a
	save's host locks would keep every read of the outside calendar to the cache: held_locks.py)."""
	held_locks.forget_host_locks()


def offered(first: date, last: date | None = None) -> set[datetime]:
	return {s for s, _ in slots.free_slots(first, last or first, "Europe/Berlin", [HOST])}


def hours_offered(day: date, *hours: int) -> set[int]:
	free = offered(day)
	return {h for h in hours if berlin(day, h) in free}


def copies(calendar) -> dict[str, datetime]:
	"""Our copies in the calendar: UID -> start (UTC)."""
	found = {}
	for event in calendar.events():
		component = event.icalendar_component
		found[str(component["UID"])] = component["DTSTART"].dt.astimezone(UTC)
	return {uid: start for uid, start in found.items() if caldav_busy.is_own_copy(uid)}


# -- busy time -------------------------------------------------------------------------------------------


def test_repeats_all_day_events_and_other_zones_block_what_is_marked_free_cancelled_or_ours_does_not(
	calendar,
):
	day = ahead(3)
	calendar.save_event(
		one_event("weekly", berlin(day, 9), berlin(day, 10), rrule={"FREQ": "WEEKLY", "COUNT": 3})
	)
	calendar.save_event(one_event("all-day", day + timedelta(days=2), day + timedelta(days=3)))
	next_day = day + timedelta(days=1)
	calendar.save_event(one_event("free", berlin(next_day, 11), berlin(next_day, 12), transp="TRANSPARENT"))
	calendar.save_event(
		one_event("called-off", berlin(next_day, 12), berlin(next_day, 13), status="CANCELLED")
	)
	# 08:00 in New York is 14:00 in Berlin.
	at_eight = datetime(next_day.year, next_day.month, next_day.day, 8, tzinfo=NEW_YORK)
	calendar.save_event(one_event("new-york", at_eight, at_eight + timedelta(hours=1)))
	own = f"appointment_0000000000000000@{site_address.hostname()}"
	calendar.save_event(one_event(own, berlin(next_day, 16), berlin(next_day, 17)))

	free = offered(day, day + timedelta(days=21))
	for week in range(3):
		assert berlin(day + timedelta(days=7 * week), 9) not in free, week
		assert berlin(day + timedelta(days=7 * week), 10) in free
	assert berlin(day + timedelta(days=21), 9) in free  # past its third time
	assert berlin(next_day, 9) in free
	all_day = day + timedelta(days=2)
	assert not [s for s in free if s.astimezone(BERLIN).date() == all_day]  # the whole day, in Berlin
	assert berlin(all_day - timedelta(days=1), 23) in free and berlin(all_day + timedelta(days=1), 0) in free
	assert {h for h in (11, 12, 13, 14, 15, 16) if berlin(next_day, h) in free} == {11, 12, 13, 15, 16}
	assert caldav_busy.unreadable([HOST]) == {}


def test_reads_are_cached_and_a_changed_connection_drops_the_cache(calendar, monkeypatch):
	day = ahead(4)
	assert hours_offered(day, 10) == {10}
	calendar.save_event(one_event("later", berlin(day, 10), berlin(day, 11)))
	reads = []
	real = caldav_busy.read_busy
	monkeypatch.setattr(caldav_busy, "read_busy", lambda *a: reads.append(a) or real(*a))
	assert hours_offered(day, 10) == {10}  # from the cache: not read again
	assert reads == []
	host_doc.set_connection(HOST, calendar.url.geturl(), DAV_USER, None, 1)  # one calendar, not the home
	assert hours_offered(day, 10) == set()
	assert len(reads) == 1
	assert frappe.db.get_value(HOST_DOCTYPE, HOST, "caldav_url") == str(calendar.url)
	assert caldav_busy.cached_days(HOST)
	host_doc.set_connection(HOST, calendar.url.geturl(), DAV_USER, "a-new-password", 1)  # the password only
	assert caldav_busy.cached_days(HOST) == {}


def test_the_overlap_rule_counts_the_calendar_and_says_only_when(calendar):
	day = ahead(5)
	calendar.save_event(one_event("Secret dentist", berlin(day, 10), berlin(day, 11)))
	with pytest.raises(DoubleBookingError, match="another meeting") as refused:
		factories.make(
			status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 10, 30)), duration=30
		)
	assert "dentist" not in str(refused.value)
	factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 11)), duration=30)


def test_a_booking_reads_its_host_again_before_any_lock_so_a_meeting_added_a_minute_ago_blocks_it(
	calendar, monkeypatch
):
	day = ahead(6)
	assert hours_offered(day, 10) == {10}  # read and cached
	calendar.save_event(one_event("just-added", berlin(day, 10), berlin(day, 11)))
	assert hours_offered(day, 10) == {10}  # the cache does not know yet
	under_lock = []
	real = caldav_busy.read_busy
	monkeypatch.setattr(
		caldav_busy,
		"read_busy",
		lambda *a: under_lock.append(held_locks.holds_host_locks()) or real(*a),
	)
	with pytest.raises(SlotNotFreeError):
		booking.book(berlin(day, 10), "Ann Lee", "ann@example.com")
	assert under_lock and not any(under_lock)  # read again, never while holding a host's row
	doc, _token = booking.book(berlin(day, 12), "Ann Lee", "ann@example.com")
	assert doc.host == HOST
	assert not any(under_lock)


# -- copies of the appointments ----------------------------------------------------------------------


def test_an_appointment_appears_moves_and_goes_away_in_the_hosts_calendar_after_each_commit(calendar, jobs):
	day = ahead(7)
	doc = factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 9)), duration=45)
	[(_method, after_commit, _kwargs)] = [job for job in jobs.queued if job[0].endswith(".sync_copy")]
	assert after_commit  # queued for after the commit
	uid = ics.uid(doc)
	jobs.run()
	assert copies(calendar) == {uid: berlin(day, 9).astimezone(UTC)}
	# Its own copy is not busy time: it may move within its own time.
	doc.reload()
	doc.scheduled_time = to_site(berlin(day, 9, 30))
	doc.save()
	jobs.run()
	assert copies(calendar) == {uid: berlin(day, 9, 30).astimezone(UTC)}
	[event] = [e for e in calendar.events() if str(e.icalendar_component["UID"]) == uid]
	doc.reload()
	assert int(event.icalendar_component["SEQUENCE"]) == doc.calendar_sequence > 0
	doc.reload()
	doc.move_to("Cancelled")
	jobs.run()
	assert copies(calendar) == {}


def test_a_deleted_appointment_and_one_given_another_host_leave_the_calendar(calendar, jobs):
	day = ahead(8)
	factories.host("manager", time_zone="Europe/Berlin")
	first = factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 9)), duration=30)
	second = factories.make(
		status="confirmed", host=HOST, scheduled_time=to_site(berlin(day, 11)), duration=30
	)
	jobs.run()
	assert set(copies(calendar)) == {ics.uid(first), ics.uid(second)}
	first.reload()
	first.host = USERS["manager"]
	first.save()
	frappe.delete_doc("CRM Appointment", second.name, ignore_permissions=True)
	jobs.run()
	assert copies(calendar) == {}


def test_a_rolled_back_save_queues_nothing(calendar, jobs, monkeypatch):
	handed = []
	monkeypatch.setattr(caldav_busy, "queue_job", QUEUE_JOB)
	monkeypatch.setattr(caldav_busy, "hand_to_queue", lambda method, **kwargs: handed.append(method))
	factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(ahead(9), 9)), duration=30)
	frappe.db.rollback()
	assert not [m for m in handed if m.endswith(".sync_copy")]


# -- an outage -------------------------------------------------------------------------------------------


def test_while_the_server_is_down_no_slots_staff_saves_warn_and_all_catches_up_when_it_is_back(
	calendar, radicale, jobs
):
	day = ahead(10)
	calendar.save_event(one_event("meeting", berlin(day, 15), berlin(day, 16)))
	radicale.stop()
	try:
		assert offered(day) == set()  # never a double booking
		[host_calendar] = host_calendars.calendars([HOST], berlin(day, 0), berlin(day, 23), 0)
		assert host_calendar.unreadable and "cannot be reached" in host_calendar.unreadable["error"]
		trouble = caldav_busy.unreadable([HOST])[HOST]
		assert trouble["since"] <= datetime.now(UTC)
		with pytest.raises(SlotNotFreeError):
			booking.book(berlin(day, 9), "Ann Lee", "ann@example.com")
		frappe.clear_messages()
		doc = factories.make(
			status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 9)), duration=30
		)
		assert doc.name and any("could not be checked" in str(m) for m in frappe.local.message_log)
		jobs.run()  # the copy cannot be written: the host waits for a retry
		retry = caldav_copies.pending_retry(HOST)
		assert retry and retry["attempt"] == 1
		caldav_copies.retry_due()  # its wait is not over: nothing tried
		assert caldav_copies.pending_retry(HOST)["attempt"] == 1
		jobs.run()  # the state goes to the host's form through a job
		stored = frappe.db.get_value(
			HOST_DOCTYPE, HOST, ["caldav_last_error", "caldav_error_since"], as_dict=True
		)
		assert "cannot be reached" in stored.caldav_last_error and stored.caldav_error_since
	finally:
		radicale.start()
	frappe.cache.set_value(
		caldav_copies.retry_key(HOST), {**retry, "next": 0}, expires_in_sec=60
	)  # its wait is over
	caldav_copies.retry_due()
	assert copies(calendar) == {ics.uid(doc): berlin(day, 9).astimezone(UTC)}
	assert caldav_copies.pending_retry(HOST) is None
	next_request()
	assert hours_offered(day, 10, 15) == {10}
	assert caldav_busy.unreadable([HOST]) == {}
	jobs.run()
	assert frappe.db.get_value(HOST_DOCTYPE, HOST, "caldav_last_error") is None


def test_the_hourly_reconcile_writes_missing_and_moved_copies_and_removes_stale_ones(calendar, jobs):
	day = ahead(11)
	doc = factories.make(status="scheduled", host=HOST, scheduled_time=to_site(berlin(day, 9)), duration=30)
	jobs.queued.clear()  # its job was lost
	stale = f"appointment_zzzzzzzzzzzzzzzz@{site_address.hostname()}"
	calendar.save_event(one_event(stale, berlin(day, 13), berlin(day, 14)))
	calendar.save_event(one_event("theirs", berlin(day, 15), berlin(day, 16)))
	assert caldav_copies.reconcile_host(HOST) == {"written": 1, "removed": 1}
	assert copies(calendar) == {ics.uid(doc): berlin(day, 9).astimezone(UTC)}
	assert "theirs" in {str(e.icalendar_component["UID"]) for e in calendar.events()}
	assert caldav_copies.reconcile_host(HOST) == {"written": 0, "removed": 0}


# -- safety ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:5232/ben/", "http://10.0.0.8/dav/", "http://[::1]/dav/"])
def test_private_and_loopback_addresses_are_refused_without_the_site_config(calendar, monkeypatch, url):
	monkeypatch.delitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG)
	before = frappe.db.get_value(HOST_DOCTYPE, HOST, "caldav_url")
	with pytest.raises(outbound.UnsafeTargetError):
		host_doc.set_connection(HOST, url, DAV_USER, "x", 1)
	assert frappe.db.get_value(HOST_DOCTYPE, HOST, "caldav_url") == before
	with pytest.raises(caldav_busy.CalendarUnreachable, match="private, loopback or link-local"):
		caldav_busy.open_calendars(url, DAV_USER, "x")


def test_a_redirect_to_a_refused_address_is_not_followed(calendar, radicale, monkeypatch):
	"""The first server counts as public here (is_public says so for 127.0.0.1); it redirects to
	127.0.0.2, a loopback address, which is refused before any connection."""
	asked = []

	class Redirect(BaseHTTPRequestHandler):
		def do_PROPFIND(self):
			asked.append(self.path)
			self.send_response(301)
			self.send_header("Location", f"http://127.0.0.2:{radicale.port}/{DAV_USER}/")
			self.send_header("Content-Length", "0")
			self.end_headers()

		do_GET = do_REPORT = do_OPTIONS = do_PROPFIND

		def log_message(self, *args):
			pass

	server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
	threading.Thread(target=server.serve_forever, daemon=True).start()
	try:
		monkeypatch.delitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG)
		monkeypatch.setattr(outbound, "is_public", lambda address: address == "127.0.0.1")
		with pytest.raises(caldav_busy.CalendarUnreachable, match="redirected"):
			caldav_busy.open_calendars(f"http://127.0.0.1:{server.server_address[1]}/dav/", DAV_USER, "x")
		assert asked
	finally:
		server.shutdown()
		server.server_close()


def test_a_wrong_password_is_a_clear_error(calendar):
	with pytest.raises(caldav_busy.CalendarUnreachable, match="401"):
		caldav_busy.open_calendars(calendar.url.geturl(), DAV_USER, "wrong")


def test_the_password_never_leaves_the_server(calendar):
	from frappe.client import get as client_get
	from frappe.desk.form.load import getdoc

	assert client_get(HOST_DOCTYPE, HOST)["caldav_password"].strip("*") == ""
	getdoc(HOST_DOCTYPE, HOST)
	[form] = frappe.response.docs
	assert set(form.caldav_password) == {"*"}
	assert DAV_PASSWORD not in frappe.as_json(form)
	assert "has_password" in host_doc.connection_of(HOST)
	assert DAV_PASSWORD not in frappe.as_json(host_doc.connection_of(HOST))


def test_only_the_host_and_managers_see_or_change_the_connection(calendar):
	url = calendar.url.geturl()
	frappe.set_user(HOST)  # the host themself, a CRM Appointment User
	host_doc.set_connection(HOST, url, DAV_USER, None, 1)
	assert host_doc.connection_of(HOST)["caldav_url"] == url
	frappe.set_user(USERS["manager"])
	host_doc.set_connection(HOST, url, DAV_USER, None, 1)
	for who in (OUTSIDER, "Guest"):
		frappe.set_user(who)
		with pytest.raises(frappe.PermissionError):
			host_doc.set_connection(HOST, "https://evil.example.com/", "x", "y", 1)
		with pytest.raises(frappe.PermissionError):
			host_doc.connection_of(HOST)
	frappe.set_user("Administrator")
	# Another host who is a CRM Appointment User reads the record, not its connection.
	factories.host("manager")
	colleague = USERS["manager"]
	frappe.get_doc(
		{"doctype": "User Permission", "user": colleague, "allow": HOST_DOCTYPE, "for_value": colleague}
	).insert(ignore_permissions=True)
	frappe.set_user(colleague)  # a Manager narrowed to their own host record
	with pytest.raises(frappe.PermissionError):
		host_doc.set_connection(HOST, url, DAV_USER, None, 1)
	frappe.set_user("Administrator")
	frappe.db.delete("User Permission", {"user": colleague})
	frappe.clear_cache(user=colleague)


def test_a_desk_user_without_the_manager_role_reads_no_connection_fields(calendar):
	from frappe.client import get as client_get

	frappe.set_user(USERS["user"])  # a CRM Appointment User: may read host records (level 0)
	record = client_get(HOST_DOCTYPE, HOST)
	assert record.get("caldav_url") is None and record.get("caldav_password") is None


# -- the booking page's slots, as a guest asks for them --------------------------------------------------


@pytest.fixture
def private_hosts_in_site_config():
	"""The requests read the site config from its file: Radicale on loopback allowed there."""
	with factories.site_config(outbound.ALLOW_PRIVATE_CONFIG, 1):
		yield


def test_a_guest_on_the_booking_page_is_not_offered_the_hosts_meetings_nor_anything_while_it_is_down(
	calendar, radicale, api, private_hosts_in_site_config
):
	day = ahead(12)
	calendar.save_event(one_event("meeting", berlin(day, 10), berlin(day, 11)))
	frappe.db.commit()  # the host's connection, for the request
	ask = f"/api/crm/slots?start={day}&end={day}&time_zone=Europe/Berlin"

	def hours() -> set[int]:
		response = api.get(ask)
		assert response.status_code == 200, response.get_data(as_text=True)
		starts = [
			datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in response.get_json()["data"]
		]
		return {s.astimezone(BERLIN).hour for s in starts if s.astimezone(BERLIN).minute == 0}

	offered_hours = hours()
	assert 9 in offered_hours and 11 in offered_hours and 10 not in offered_hours
	radicale.stop()
	try:
		caldav_busy.forget(HOST)
		assert hours() == set()
	finally:
		radicale.start()
	assert 9 in hours()
