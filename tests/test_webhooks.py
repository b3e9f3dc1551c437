"""Signed webhooks, against real receivers: an HTTP server of each test's own on a loopback port, which
answers 200, or 500, or a redirect, or nothing at all (it sleeps past the client's timeout).

The jobs. Frappe queues a job in Redis for a worker; here the test takes the place of the queue and the
worker: `delivery.queue_job` (the one call through which the app hands a job to frappe.enqueue) is
replaced by a recorder, and the test then runs each recorded job as a worker does
(frappe.utils.background_jobs.execute_job: the job's function, then its commit, or its rollback on an
error), in this process or in threads of its own. So each test sees exactly which jobs a commit, a
rollback or the scheduler's tick queued, and decides when they run; the scheduler's job is called
directly, with the time it runs at. The one slow test runs the whole path instead: a commit in another
process queues into a Redis of the test's own, and an RQ worker in burst mode, as `bench worker` runs,
sends it.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import frappe
import pytest
from frappe.utils import get_datetime, now_datetime
from frappe.utils.background_jobs import execute_job

from crm_appointments.core import outbound
from crm_appointments.core.names import APPOINTMENT, WEBHOOK, WEBHOOK_DELIVERY, WEBHOOK_EVENT
from crm_appointments.webhooks import actions, delivery, events, signing
from tests import factories, http_receiver
from tests.factories import OUTSIDER, USERS, commit, future, make

DOCS = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
# The events contract.md names (written out here, not read from the code under test).
CONTRACT_EVENTS = [
	"appointment.created",
	"appointment.updated",
	"appointment.rescheduled",
	"appointment.confirmed",
	"appointment.cancelled",
	"appointment.completed",
	"appointment.no_show",
	"appointment.deleted",
	"booking.created",
	"reminder.sent",
]
TIMEOUT = 0.5  # the client's timeout in these tests (delivery.TIMEOUT, 10 s on a site)
SILENT = http_receiver.SILENT  # an answer: none, until well past the timeout
SILENT_SECONDS = 2.0
SIGNATURE = re.compile(r"^t=(\d+),v1=([0-9a-f]{64})$")


# -- a receiver ---------------------------------------------------------------------------------------


class Receiver(http_receiver.Receiver):
	"""A webhook endpoint of the test's own (tests/http_receiver.py)."""

	def __init__(self):
		super().__init__("/hooks/crm", SILENT_SECONDS)

	def events(self) -> list[dict]:
		return [json.loads(r["body"]) for r in self.received]


class Jobs:
	"""Stands in for the queue: keeps what the app queues; `run` runs it as a worker would."""

	def __init__(self):
		self.queued = []
		self.lock = threading.Lock()

	def record(self, method, **kwargs):
		with self.lock:
			self.queued.append((method, kwargs))

	def take(self):
		with self.lock:
			return self.queued.pop(0) if self.queued else None

	def run(self) -> int:
		ran = 0
		while (job := self.take()) is not None:
			run_as_worker(*job)
			ran += 1
		return ran


def run_as_worker(method: str, kwargs: dict):
	"""What an RQ worker does with a job it took (the queue's own options aside)."""
	kwargs = {k: v for k, v in kwargs.items() if k not in ("job_id", "deduplicate")}
	before = getattr(frappe.local, "job", None)
	try:
		execute_job(frappe.local.site, method, None, method, kwargs, is_async=False)
	finally:
		frappe.local.job = before


@pytest.fixture
def receiver():
	server = Receiver()
	yield server
	server.stop()


@pytest.fixture
def private_allowed(monkeypatch):
	"""The receivers are on loopback: allowed as the site config key allows them; a short timeout."""
	monkeypatch.setitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG, 1)
	monkeypatch.setattr(delivery, "TIMEOUT", TIMEOUT)


@pytest.fixture
def jobs(monkeypatch):
	recorder = Jobs()
	monkeypatch.setattr(delivery, "queue_job", recorder.record)
	return recorder


class Endpoint:
	def __init__(self, name: str, secret: str):
		self.name, self.secret = name, secret


@pytest.fixture
def endpoint(committed, receiver, private_allowed, jobs):
	"""Make a committed webhook to the receiver: endpoint(events=(...), owner=user id)."""

	def make_endpoint(events=(), owner="Administrator", url=None) -> Endpoint:
		frappe.set_user(owner)
		hook = frappe.get_doc(
			{"doctype": WEBHOOK, "url": url or receiver.url, "events": [{"event": e} for e in events]}
		).insert()
		frappe.set_user("Administrator")
		frappe.db.commit()
		return Endpoint(hook.name, hook.flags.plain_secret)

	return make_endpoint


def tries(**filters) -> list:
	return frappe.get_all(
		WEBHOOK_DELIVERY,
		filters=filters,
		fields=[
			"name",
			"webhook",
			"event_id",
			"event_type",
			"appointment",
			"trigger",
			"attempt",
			"state",
			"status_code",
			"duration",
			"error",
			"next_try",
			"sent_at",
			"payload",
			"url",
		],
		order_by="name",
	)


def documented_verify():
	"""The receiver's code from docs/webhooks.md, run as a reader would paste it."""
	code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL).group(1)
	assert len(code.strip().splitlines()) == 10, code
	namespace = {}
	exec(code, namespace)
	return namespace["verify"]


def changed(doc, **values):
	doc.reload()
	doc.update(values)
	doc.save()
	return commit(doc)


# -- what arrives -------------------------------------------------------------------------------------


def test_the_docs_ten_lines_verify_a_real_delivery_and_refuse_a_forged_or_old_one(endpoint, receiver, jobs):
	hook = endpoint()
	commit(make())
	jobs.run()
	[request] = receiver.received
	header = request["headers"]["crm-signature"]
	stamp = int(SIGNATURE.match(header).group(1))
	assert abs(time.time() - stamp) < 60
	verify = documented_verify()
	assert verify(request["body"], header, hook.secret)
	assert not verify(request["body"] + b" ", header, hook.secret)
	assert not verify(request["body"], header, "whsec_" + "x" * 32)
	assert not verify(request["body"], "v1=" + header.split("v1=")[1], hook.secret)
	old = int(time.time()) - 600
	assert not verify(request["body"], signing.header_value(hook.secret, old, request["body"]), hook.secret)


def test_a_create_is_sent_once_after_the_commit_as_the_api_shows_it(endpoint, receiver, jobs, api, keys):
	endpoint()
	doc = make(status="scheduled", scheduled_time=future(days=2))
	assert jobs.queued == [] and len(tries(appointment=doc.name)) == 1  # written with it, not yet sent
	frappe.db.commit()
	assert [method for method, _ in jobs.queued] == [delivery.DELIVER_JOB]
	jobs.run()

	[event] = receiver.events()
	assert set(event) == {"id", "type", "created", "data"}
	assert event["type"] == "appointment.created" and event["id"].startswith("evt_")
	assert abs(event["created"] - time.time()) < 60
	assert event["data"]["previous_attributes"] == {}
	shown = api.get(f"/api/crm/appointment/{doc.name}", key=keys["manager"]).get_json()
	assert event["data"]["object"] == shown
	assert shown["calendar_event"]  # the object is the appointment as committed, its Event made
	[row] = tries(appointment=doc.name)
	assert (row.state, row.status_code, row.attempt, row.trigger) == ("Succeeded", 200, 1, "Event")
	assert row.payload.encode() == receiver.received[0]["body"] and row.duration > 0
	assert row.event_id == event["id"] and row.event_type == "appointment.created" and row.url


def test_each_change_raises_its_event_and_they_arrive_in_the_order_they_happened(endpoint, receiver, jobs):
	endpoint()
	doc = commit(make(status="draft", scheduled_time=future(days=2)))
	changed(doc, status="scheduled")
	changed(doc, status="confirmed")
	changed(doc, scheduled_time=future(days=4))  # a confirmed one goes back to scheduled
	doc.reload()
	doc.save()  # no change: no event
	frappe.db.commit()
	changed(doc, customer_details="Bring the contract.")
	changed(doc, status="cancelled")
	frappe.delete_doc(APPOINTMENT, doc.name)
	frappe.db.commit()
	assert len(jobs.queued) == 1  # queued by the first commit, not yet started: it takes them all
	jobs.run()

	received = receiver.events()
	assert [e["type"] for e in received] == [
		"appointment.created",
		"appointment.updated",
		"appointment.confirmed",
		"appointment.rescheduled",
		"appointment.updated",
		"appointment.cancelled",
		"appointment.deleted",
	]
	previous = [e["data"]["previous_attributes"] for e in received]
	assert previous[1]["status"] == "draft" and previous[1]["calendar_event"] is None
	assert previous[2] == {"status": "scheduled"}
	assert previous[3]["status"] == "confirmed" and set(previous[3]) == {"status", "scheduled_time"}
	assert (
		previous[3]["scheduled_time"].endswith("Z")
		and previous[3]["scheduled_time"] != (received[3]["data"]["object"]["scheduled_time"])
	)
	assert previous[4] == {"customer_details": None}
	assert received[4]["data"]["object"]["customer_details"] == "Bring the contract."
	assert received[6]["data"]["object"]["status"] == "cancelled" and previous[6] == {}
	stamps = [get_datetime(e["data"]["object"]["updated_at"].rstrip("Z")) for e in received[:6]]
	assert stamps == sorted(stamps)
	assert {r.state for r in tries(appointment=doc.name)} == {"Succeeded"}


def test_a_status_move_and_a_new_time_in_one_save_raise_both_events():
	new = {"status": "cancelled", "scheduled_time": "2031-01-16T09:30:00Z", "duration": 30}
	assert events.event_types(new, {"status": "scheduled", "scheduled_time": "x"}) == [
		"appointment.cancelled",
		"appointment.rescheduled",
	]
	assert events.event_types(new, {"duration": 60}) == ["appointment.rescheduled"]
	assert events.event_types({**new, "status": "scheduled"}, {"status": "draft"}) == ["appointment.updated"]
	assert events.event_types(new, {"host": None}) == ["appointment.updated"]


def test_an_endpoint_gets_only_the_events_it_chose(endpoint, receiver, jobs):
	endpoint(events=["appointment.cancelled", "appointment.deleted"])
	doc = commit(make(status="draft"))
	changed(doc, customer_name="Ada King")
	changed(doc, status="cancelled")
	jobs.run()
	assert [e["type"] for e in receiver.events()] == ["appointment.cancelled"]


def test_a_customers_booking_raises_booking_created_too(endpoint, receiver, jobs, api):
	endpoint()
	factories.host("user", time_zone="UTC")
	frappe.db.commit()
	start = (now_datetime() + timedelta(days=3)).strftime("%Y-%m-%dT10:00:00Z")
	with factories.booking_settings(enable_public_booking=1, booking_duration=60, slot_interval=0):
		response = api.post(
			"/api/crm/bookings",
			json={"customer_name": "Grace Hopper", "customer_email": "grace@example.org", "start": start},
			headers={"X-Forwarded-For": "10.9.8.7"},
		)
	assert response.status_code == 200, response.get_data(as_text=True)[:500]
	jobs.run()
	received = receiver.events()
	assert [e["type"] for e in received] == ["appointment.created", "booking.created"]
	assert received[1]["data"]["object"]["id"] == response.get_json()["id"]
	assert received[1]["data"]["object"]["host"] == USERS["user"]


def test_changes_through_the_api_and_data_import_raise_events_and_a_refused_row_none(
	endpoint, receiver, jobs, api, keys, committed
):
	import csv

	from frappe.core.doctype.data_import.data_import import import_file

	endpoint()
	created = api.post("/api/crm/appointment", key=keys["manager"], json=factories.api_body())
	name = created.get_json()["id"]
	patched = api.patch(f"/api/crm/appointment/{name}", key=keys["manager"], json={"customer_skype": "ada.l"})
	assert patched.status_code == 200
	refused = api.patch(f"/api/crm/appointment/{name}", key=keys["manager"], json={"status": "completed"})
	assert refused.status_code == 409
	rows = [
		["Customer Name", "Customer Email", "Scheduled Time", "Status"],
		["Imported", "imported@example.com", future(days=5).strftime("%Y-%m-%d %H:%M:%S"), "Draft"],
		["Refused", "not an email", future(days=5).strftime("%Y-%m-%d %H:%M:%S"), "Draft"],
	]
	with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as sheet:
		csv.writer(sheet).writerows(rows)
	try:
		import_file(APPOINTMENT, sheet.name, "Insert", console=True)
	finally:
		os.unlink(sheet.name)
		frappe.db.rollback()
		frappe.db.delete("Data Import Log", {"creation": (">=", committed)})
		frappe.db.commit()
	jobs.run()
	received = receiver.events()
	assert [(e["type"], e["data"]["object"]["customer_name"]) for e in received] == [
		("appointment.created", "Ada Lovelace"),
		("appointment.updated", "Ada Lovelace"),
		("appointment.created", "Imported"),
	]
	assert received[1]["data"]["previous_attributes"] == {"customer_skype": None}
	assert received[1]["data"]["object"] == patched.get_json()


def test_a_rolled_back_write_sends_nothing(endpoint, receiver, jobs):
	endpoint()
	doc = make(status="scheduled")
	changed_in_place = doc.name
	frappe.db.rollback()
	frappe.db.commit()
	assert jobs.queued == [] and tries(appointment=changed_in_place) == []
	assert delivery.send_due_retries(now=now_datetime() + timedelta(hours=1)) == 0
	# The next write is sent as usual: nothing of the rolled-back one was left to hold it up.
	kept = commit(make())
	assert jobs.run() == 1
	assert [e["data"]["object"]["id"] for e in receiver.events()] == [kept.name]


def test_an_event_whose_job_could_not_be_queued_is_sent_by_the_next_tick(
	endpoint, receiver, jobs, monkeypatch
):
	endpoint()

	def redis_down(method, **kwargs):
		raise ConnectionError("Redis is not answering")

	monkeypatch.setattr(delivery, "queue_job", redis_down)
	doc = commit(make())  # the commit itself goes through
	monkeypatch.setattr(delivery, "queue_job", jobs.record)
	assert delivery.send_due_retries() == 0  # not lost yet: its job may just be slow
	assert delivery.send_due_retries(now=now_datetime() + delivery.LOST_AFTER + timedelta(seconds=5)) == 1
	jobs.run()
	assert [e["data"]["object"]["id"] for e in receiver.events()] == [doc.name]


# -- retries ------------------------------------------------------------------------------------------


def test_a_500_is_retried_a_minute_later_with_the_same_bytes(endpoint, receiver, jobs):
	hook = endpoint()
	receiver.answers = [500]
	doc = commit(make())
	jobs.run()
	first, retry = tries(appointment=doc.name)
	assert (first.state, first.status_code, first.attempt) == ("Failed", 500, 1)
	assert "500" in first.error and "answer." in first.error
	assert (retry.state, retry.trigger, retry.attempt, retry.event_id) == (
		"Queued",
		"Retry",
		2,
		first.event_id,
	)
	wait = (get_datetime(first.next_try) - now_datetime()).total_seconds()
	assert 50 < wait <= 60 and first.next_try == retry.next_try
	assert frappe.db.get_value(WEBHOOK, hook.name, "failing_since")

	assert delivery.send_due_retries() == 0 and jobs.queued == []
	assert delivery.send_due_retries(now=get_datetime(retry.next_try) + timedelta(seconds=1)) == 1
	jobs.run()
	assert tries(name=retry.name)[0].state == "Succeeded"
	bodies = [r["body"] for r in receiver.received]
	assert len(bodies) == 2 and bodies[0] == bodies[1]
	assert documented_verify()(bodies[1], receiver.received[1]["headers"]["crm-signature"], hook.secret)
	assert not frappe.db.get_value(WEBHOOK, hook.name, "failing_since")  # healthy again


def test_200_then_500_then_200_a_failed_event_does_not_hold_the_next_and_is_told_stale_by_updated_at(
	endpoint, receiver, jobs
):
	endpoint()
	receiver.answers = [200, 500, 200, 200]
	doc = commit(make())
	jobs.run()
	changed(doc, customer_details="first")
	jobs.run()
	time.sleep(1.05)  # updated_at is to the second
	changed(doc, customer_details="second")
	jobs.run()
	[retry] = tries(appointment=doc.name, state="Queued")
	delivery.send_due_retries(now=get_datetime(retry.next_try))
	jobs.run()
	received = receiver.events()
	assert [r["answer"] for r in receiver.received] == [200, 500, 200, 200]
	assert [e["data"]["object"]["customer_details"] for e in received] == [None, "first", "second", "first"]
	assert received[3]["id"] == received[1]["id"]
	# The receiver, holding "second", sees that the late "first" is older.
	assert received[3]["data"]["object"]["updated_at"] < received[2]["data"]["object"]["updated_at"]


def test_no_answer_within_the_timeout_is_a_failed_try(endpoint, receiver, jobs):
	endpoint()
	receiver.answers = [SILENT]
	doc = commit(make())
	started = time.monotonic()
	jobs.run()
	assert time.monotonic() - started < SILENT_SECONDS
	first, retry = tries(appointment=doc.name)
	assert first.state == "Failed" and not first.status_code
	assert f"within {TIMEOUT:g} seconds" in first.error
	assert TIMEOUT * 1000 * 0.9 < first.duration < SILENT_SECONDS * 1000
	assert retry.state == "Queued" and retry.attempt == 2


def test_the_timeout_can_be_set_in_the_site_config(monkeypatch):
	monkeypatch.setattr(delivery, "TIMEOUT", 10)
	assert delivery.timeout() == 10
	monkeypatch.setitem(frappe.local.conf, delivery.TIMEOUT_CONFIG, 2.5)
	assert delivery.timeout() == 2.5


def test_a_redirect_is_not_followed_and_counts_as_a_failed_try(endpoint, receiver, jobs):
	endpoint()
	receiver.answers = [302]
	doc = commit(make())
	jobs.run()
	first = tries(appointment=doc.name)[0]
	assert (first.state, first.status_code) == ("Failed", 302), first.error
	assert "redirects are not followed" in first.error
	assert [r["path"] for r in receiver.received] == ["/hooks/crm"]


def test_the_waits_grow_for_about_a_day_then_the_event_is_given_up(endpoint, receiver, jobs):
	waits = delivery.RETRY_WAITS
	assert list(waits) == sorted(waits) and len(set(waits)) == len(waits)
	assert timedelta(hours=23) < timedelta(seconds=sum(waits)) < timedelta(hours=26)
	endpoint()
	receiver.default = 500
	doc = commit(make())
	jobs.run()
	for _ in waits:
		[due] = tries(appointment=doc.name, state="Queued")
		delivery.send_due_retries(now=get_datetime(due.next_try) + timedelta(seconds=1))
		jobs.run()
	rows = tries(appointment=doc.name)
	assert [r.attempt for r in rows] == list(range(1, len(waits) + 2))
	assert {r.state for r in rows} == {"Failed"} and rows[-1].next_try is None
	for row, wait in zip(rows, waits, strict=False):  # each failed try names the next one's time
		assert abs((get_datetime(row.next_try) - get_datetime(row.sent_at)).total_seconds() - wait) < 5
	assert len(receiver.received) == len(waits) + 1


def test_an_endpoint_failing_for_a_day_is_switched_off_and_its_owner_told(endpoint, receiver, jobs):
	hook = endpoint(owner=USERS["manager"])
	receiver.default = 500
	doc = commit(make())
	jobs.run()
	frappe.db.set_value(WEBHOOK, hook.name, "failing_since", now_datetime() - timedelta(hours=25))
	frappe.db.commit()
	changed(doc, customer_details="one more")
	jobs.run()

	enabled, reason = frappe.db.get_value(WEBHOOK, hook.name, ["enabled", "disabled_reason"])
	assert not enabled and "every try since" in reason
	assert {r.state for r in tries(webhook=hook.name, state=("in", ["Queued", "Sending"]))} == set()
	assert tries(webhook=hook.name, trigger="Retry")[0].state == "Skipped"  # the first event's retry
	assert frappe.db.exists(
		"Notification Log",
		{"for_user": USERS["manager"], "document_type": WEBHOOK, "document_name": hook.name},
	)
	assert frappe.db.exists("Email Queue", {"reference_doctype": WEBHOOK, "reference_name": hook.name})
	commit(make())
	assert jobs.queued == []  # switched off: nothing more is raised for it
	frappe.set_user(USERS["manager"])
	again = frappe.get_doc(WEBHOOK, hook.name)
	again.enabled = 1
	again.save()
	assert not again.failing_since and not again.disabled_reason


def test_a_try_whose_worker_died_counts_as_failed_and_is_retried(endpoint, receiver, jobs):
	endpoint()
	doc = commit(make())
	jobs.queued.clear()  # the worker took the job...
	[first] = tries(appointment=doc.name)
	assert delivery.claim(first.name)  # ...claimed the try, and died
	assert delivery.claim(first.name) is None  # nobody else sends it meanwhile
	later = now_datetime() + delivery.STALLED_AFTER + timedelta(seconds=delivery.timeout() + 61)
	delivery.send_due_retries(now=later)
	jobs.run()
	first, retry = tries(appointment=doc.name)
	assert first.state == "Failed" and "worker stopped" in first.error
	assert retry.state == "Succeeded" and len(receiver.received) == 1


# -- many at once -------------------------------------------------------------------------------------


def test_a_burst_of_200_writes_delivers_200_events_each_once_each_appointment_in_order(
	endpoint, receiver, jobs
):
	"""Four workers take the jobs as the writes commit (each write its own transaction)."""
	endpoint()
	writing = threading.Event()
	writing.set()

	def worker():
		frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=os.environ["CRM_SITES_PATH"])
		frappe.connect()
		frappe.local.conf[outbound.ALLOW_PRIVATE_CONFIG] = 1
		try:
			while writing.is_set() or jobs.queued:
				job = jobs.take()
				if job is None:
					time.sleep(0.02)
					continue
				run_as_worker(*job)
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=worker) for _ in range(4)]
	for t in threads:
		t.start()
	try:
		appointments = [commit(make(customer_email=f"burst{i}@example.com")) for i in range(10)]
		for round_ in range(19):
			for doc in appointments:
				doc.customer_details = f"round {round_}"
				doc.save()
				frappe.db.commit()
	finally:
		writing.clear()
		for t in threads:
			t.join(timeout=300)
	frappe.db.rollback()

	received = receiver.events()
	rows = tries()
	assert len(rows) == 200 and {r.state for r in rows} == {"Succeeded"}
	assert len(received) == 200 and len({e["id"] for e in received}) == 200
	assert {e["id"] for e in received} == {r.event_id for r in rows}
	for doc in appointments:
		raised = [r.event_id for r in rows if r.appointment == doc.name]
		arrived = [e["id"] for e in received if e["data"]["object"]["id"] == doc.name]
		assert arrived == raised


# -- safety -------------------------------------------------------------------------------------------


def fake_dns(monkeypatch, names: dict):
	"""getaddrinfo that answers these names with these addresses (and anything else as usual)."""
	real = socket.getaddrinfo

	def getaddrinfo(host, port, *args, **kwargs):
		if host in names:
			return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]
		return real(host, port, *args, **kwargs)

	monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
	"url",
	[
		"http://127.0.0.1:8000/hook",
		"http://localhost/hook",
		"http://10.1.2.3/hook",
		"https://192.168.0.10/hook",
		"http://172.16.5.4/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/hook",
		"http://0.0.0.0/hook",
		"http://[::1]/hook",
		"http://[fe80::1]/hook",
		"http://[fd00::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"https://internal.example.com/hook",
		"ftp://203.0.113.9/hook",
		"file:///etc/passwd",
		"https:///no-host",
	],
)
def test_private_loopback_and_link_local_targets_are_refused_at_save(committed, monkeypatch, url):
	fake_dns(monkeypatch, {"internal.example.com": "10.20.30.40"})
	with pytest.raises(outbound.UnsafeTargetError):
		frappe.get_doc({"doctype": WEBHOOK, "url": url}).insert()


def test_a_public_target_is_allowed_after_resolving_and_a_private_one_with_the_site_config(
	committed, monkeypatch
):
	fake_dns(monkeypatch, {"hooks.example.com": "93.184.215.14", "internal.example.com": "10.20.30.40"})
	assert outbound.check_url("https://hooks.example.com/crm") == ["93.184.215.14"]
	with pytest.raises(outbound.UnsafeTargetError, match=re.escape("10.20.30.40")):
		outbound.check_url("https://internal.example.com/crm")
	monkeypatch.setitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG, 1)
	assert outbound.check_url("https://internal.example.com/crm") == ["10.20.30.40"]
	frappe.get_doc({"doctype": WEBHOOK, "url": "http://127.0.0.1:9/hook"}).insert()


def test_the_address_is_checked_again_before_each_try(endpoint, receiver, jobs, monkeypatch):
	endpoint()
	monkeypatch.delitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG)
	doc = commit(make())
	jobs.run()
	first = tries(appointment=doc.name)[0]
	assert first.state == "Failed" and "127.0.0.1" in first.error and not first.status_code
	assert receiver.received == []


def test_a_name_that_resolves_anew_to_loopback_is_refused_at_the_connection(
	endpoint, receiver, jobs, monkeypatch
):
	"""DNS rebinding: the check saw a public address, the connection reaches loopback."""
	endpoint()
	monkeypatch.delitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG)
	monkeypatch.setattr(outbound, "check_url", lambda url: ["93.184.215.14"])
	doc = commit(make())
	jobs.run()
	first = tries(appointment=doc.name)[0]
	assert first.state == "Failed" and "refused to send to 127.0.0.1" in first.error
	assert receiver.received == []


def test_nothing_is_sent_that_the_endpoints_owner_may_not_read(endpoint, receiver, jobs):
	other = commit(make(customer_email="other@example.com"))
	endpoint(owner=USERS["manager"])
	with factories.user_permission("manager", other.name):  # the manager may read only `other` now
		doc = commit(make(customer_email="secret@example.com"))
		jobs.run()
		[row] = tries(appointment=doc.name)
		assert row.state == "Skipped" and USERS["manager"] in row.error and "may not read" in row.error
		assert receiver.received == []
	changed(doc, customer_details="now they may")
	jobs.run()
	assert [e["type"] for e in receiver.events()] == ["appointment.updated"]


def test_the_secret_is_made_when_empty_shown_once_and_never_again(committed, private_allowed, receiver, api):
	frappe.set_user(USERS["manager"])
	frappe.clear_messages()
	hook = frappe.get_doc({"doctype": WEBHOOK, "url": receiver.url}).insert()
	secret = hook.get_password("secret")
	assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}", secret)
	assert any(secret in str(m) for m in frappe.local.message_log)
	assert set(hook.secret) == {"*"}
	frappe.db.commit()

	frappe.clear_messages()
	again = frappe.get_doc(WEBHOOK, hook.name)
	assert secret not in json.dumps(again.as_dict(), default=str)
	again.description = "The billing system"
	again.save()
	assert not any(secret in str(m) for m in frappe.local.message_log)
	assert again.get_password("secret") == secret
	frappe.db.commit()
	frappe.set_user("Administrator")  # who may make a user's Frappe token
	token = factories.frappe_token("manager")
	frappe.set_user(USERS["manager"])
	shown = api.get(f"/api/resource/{WEBHOOK}/{hook.name}", auth=token)
	assert shown.status_code == 200 and secret not in shown.get_data(as_text=True)

	rolled = frappe.get_doc(WEBHOOK, hook.name)
	rolled.secret = ""
	rolled.save()
	assert rolled.get_password("secret") != secret
	with pytest.raises(frappe.ValidationError, match="at least"):
		frappe.get_doc({"doctype": WEBHOOK, "url": receiver.url, "secret": "short"}).insert()


@pytest.mark.parametrize("who", ["user", "outsider", "guest"])
def test_only_managers_see_or_change_endpoints_and_deliveries(endpoint, receiver, jobs, api, who):
	hook = endpoint(owner=USERS["manager"])
	commit(make())
	jobs.run()
	[row] = tries(webhook=hook.name)
	user = {"user": USERS["user"], "outsider": OUTSIDER, "guest": "Guest"}[who]

	frappe.set_user(user)
	for doctype in (WEBHOOK, WEBHOOK_DELIVERY, WEBHOOK_EVENT):
		assert not frappe.has_permission(doctype, "read")
	for doctype in (WEBHOOK, WEBHOOK_DELIVERY):
		with pytest.raises(frappe.PermissionError):
			frappe.get_list(doctype)
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc(WEBHOOK, hook.name).check_permission("read")
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc({"doctype": WEBHOOK, "url": receiver.url}).insert()
	with pytest.raises(frappe.PermissionError):
		actions.send_test_event(hook.name)
	with pytest.raises(frappe.PermissionError):
		actions.resend(row.name)
	frappe.set_user("Administrator")
	assert len(receiver.received) == 1

	auth = None if who == "guest" else factories.frappe_token(OUTSIDER if who == "outsider" else "user")
	for path in (
		f"/api/resource/{WEBHOOK}",
		f"/api/resource/{WEBHOOK}/{hook.name}",
		f"/api/resource/{WEBHOOK_DELIVERY}",
	):
		response = api.get(path, auth=auth)
		assert response.status_code == 403, (path, response.status_code)
	for method, args in (
		("send_test_event", {"webhook": hook.name}),
		("resend", {"delivery_name": row.name}),
	):
		response = api.post(f"/api/method/crm_appointments.webhooks.actions.{method}", auth=auth, json=args)
		assert response.status_code == 403, (method, response.status_code)
	assert len(receiver.received) == 1

	frappe.set_user(USERS["manager"])
	assert [h.name for h in frappe.get_list(WEBHOOK)] == [hook.name]
	assert frappe.has_permission(WEBHOOK_DELIVERY, "read", doc=str(row.name))


def test_send_test_event_and_resend_from_the_desk(endpoint, receiver, jobs):
	hook = endpoint(owner=USERS["manager"])
	frappe.set_user(USERS["manager"])
	outcome = actions.send_test_event(hook.name)
	assert outcome.state == "Succeeded" and outcome.status_code == 200
	[test] = receiver.received
	event = json.loads(test["body"])
	assert event["id"].startswith("evt_test_") and event["type"] == "appointment.created"
	assert event["data"]["object"]["id"].startswith("appointment_test")
	assert documented_verify()(test["body"], test["headers"]["crm-signature"], hook.secret)
	assert tries(name=outcome.name)[0].trigger == "Test"

	frappe.set_user("Administrator")
	commit(make())
	jobs.run()
	sent = receiver.received[1]
	first = tries(webhook=hook.name, trigger="Event")[0]
	frappe.set_user(USERS["manager"])
	again = actions.resend(first.name)
	assert again.state == "Succeeded"
	resent = receiver.received[2]
	assert resent["body"] == sent["body"]
	assert tries(name=again.name)[0].trigger == "Resend" and tries(name=again.name)[0].attempt == 2


def test_reminder_sent_is_raised_by_a_function_others_call(endpoint, receiver, jobs):
	endpoint()
	doc = commit(make(status="scheduled"))
	jobs.run()
	# As the reminder code calls it (hooks.py: crm_appointment_reminder_sent).
	[method] = frappe.get_hooks("crm_appointment_reminder_sent")
	[event_id] = frappe.get_attr(method)(doc.name)
	frappe.db.commit()
	jobs.run()
	last = receiver.events()[-1]
	assert (last["id"], last["type"]) == (event_id, "reminder.sent")
	assert last["data"] == {"object": last["data"]["object"], "previous_attributes": {}}
	assert last["data"]["object"]["id"] == doc.name


def test_the_event_names_are_the_contracts():
	from crm_appointments.core.names import WEBHOOK_EVENTS

	assert list(WEBHOOK_EVENTS) == CONTRACT_EVENTS
	for doctype, field in ((WEBHOOK_EVENT, "event"), (WEBHOOK_DELIVERY, "event_type")):
		assert frappe.get_meta(doctype).get_field(field).options.split("\n") == CONTRACT_EVENTS
	assert frappe.get_meta(WEBHOOK).get_field("secret").fieldtype == "Password"


# -- the whole path -----------------------------------------------------------------------------------

# In another process with the test's own sites folder (its Redis): create an appointment and commit,
# which queues the delivery job; then an RQ worker in burst mode, as `bench worker` runs.
COMMIT_AND_WORK = """
import json, os
import frappe
from frappe.utils.background_jobs import start_worker
frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=".")
frappe.connect()
frappe.set_user("Administrator")
doc = frappe.get_doc({"doctype": "CRM Appointment", "customer_name": "Worker Path",
	"customer_email": "worker.path@example.com", "scheduled_time": frappe.utils.add_days(None, 2),
	"status": "Draft"}).insert()
frappe.db.commit()
frappe.destroy()
start_worker(queue="short", burst=True, quiet=True)
print(json.dumps({"id": doc.name}))
"""


@pytest.mark.slow
def test_a_commit_queues_a_job_that_a_real_worker_delivers(committed, receiver, private_allowed):
	from tests.private_services import PrivateRedis, private_sites

	hook = frappe.get_doc({"doctype": WEBHOOK, "url": receiver.url}).insert()
	secret = hook.flags.plain_secret
	frappe.db.commit()
	base = tempfile.mkdtemp(prefix="crm-webhook-worker-")
	redis = PrivateRedis()
	try:
		redis.start()
		sites = private_sites(base, os.environ["CRM_SITES_PATH"], os.environ["CRM_TEST_SITE"], redis)
		common = Path(sites) / "common_site_config.json"
		config = json.loads(common.read_text())
		config.update({outbound.ALLOW_PRIVATE_CONFIG: 1, delivery.TIMEOUT_CONFIG: 5})
		common.write_text(json.dumps(config))
		result = subprocess.run(
			[sys.executable, "-c", COMMIT_AND_WORK],
			cwd=sites,
			env={**os.environ, "CRM_TEST_SITE": os.environ["CRM_TEST_SITE"]},
			capture_output=True,
			text=True,
			timeout=180,
		)
		assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
	finally:
		redis.stop()
		shutil.rmtree(base, ignore_errors=True)
	name = json.loads(result.stdout.strip().splitlines()[-1])["id"]
	[request] = receiver.received
	assert json.loads(request["body"])["data"]["object"]["id"] == name
	assert documented_verify()(request["body"], request["headers"]["crm-signature"], secret)
	frappe.db.rollback()
	assert tries(appointment=name)[0].state == "Succeeded"


def test_the_scheduler_sends_due_retries_every_minute_and_the_app_raises_from_doc_events():
	hooks = frappe.get_hooks()
	assert (
		"crm_appointments.webhooks.delivery.send_due_retries"
		in hooks["scheduler_events"]["cron"]["* * * * *"]
	)
	assert "crm_appointments.webhooks.delivery.delete_old_deliveries" in hooks["scheduler_events"]["daily"]
	appointment = hooks["doc_events"][APPOINTMENT]
	assert "crm_appointments.webhooks.events.on_update" in appointment["on_update"]
	assert "crm_appointments.webhooks.events.after_delete" in appointment["after_delete"]
