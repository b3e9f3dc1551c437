"""Faults: the API while Redis is down, the API while MariaDB restarts under load, and reminders due
while Redis is down.

Every server these tests stop or crash is the test's own, on a free loopback port
(tests/private_services.py): a copy of the bench's sites folder points a live server (gunicorn, two
workers) or the scheduler's pipeline (tick, queue, worker) at it. The machine's MariaDB and Redis,
which other benches and sites use, are never touched.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

import frappe
import pytest
import redis as redis_client
import requests
from frappe.utils import now_datetime

from harness.live_server import start_live_server, stop_live_server
from tests import factories
from tests.conftest import SITE, SITES_PATH
from tests.private_services import PrivateMariaDB, PrivateRedis, private_sites

pytestmark = pytest.mark.slow

URL = "/api/crm/appointment"


@pytest.fixture(scope="module")
def outage_server(site):
	"""A live server whose Redis is the test's own (the site itself is shared)."""
	if not shutil.which("redis-server"):
		pytest.fail("redis-server is not installed")
	base = tempfile.mkdtemp(prefix="crm-redis-fault-")
	redis = PrivateRedis()
	server = None
	try:
		redis.start()
		server, url = start_live_server(SITE, private_sites(base, SITES_PATH, SITE, redis))
		yield url, redis
	finally:
		stop_live_server(server)
		redis.stop()
		shutil.rmtree(base, ignore_errors=True)


def answers(base, key, method, path, body=None):
	started = time.monotonic()
	response = requests.request(
		method,
		base + path,
		headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
		data=json.dumps(body) if body is not None else None,
		timeout=30,
	)
	return response, time.monotonic() - started


def test_while_redis_is_down_every_request_answers_200_within_5_s_and_creates_whole_appointments(
	api, keys, outage_server
):
	base, redis = outage_server
	doc = factories.commit(factories.make(status="scheduled"))
	key = keys["manager"]
	assert answers(base, key, "GET", f"{URL}/{doc.name}")[0].status_code == 200
	# The server really uses the test's Redis: it has cached things there.
	assert redis_client.Redis(port=redis.port).dbsize() > 0

	redis.stop()
	try:
		outcomes = []
		for i in range(6):
			for method, path, body in (
				("GET", f"{URL}/{doc.name}", None),
				("GET", f"{URL}?limit=5", None),
				("PATCH", f"{URL}/{doc.name}", {"customer_details": f"during outage {i}"}),
				(
					"POST",
					URL,
					factories.api_body(
						customer_name=f"Outage {i}",
						customer_email=f"outage{i}@example.com",
						status="scheduled",
					),
				),
			):
				response, seconds = answers(base, key, method, path, body)
				outcomes.append((method, response.status_code))
				# Frappe's cache falls back to the database: what the README says, measured.
				assert response.status_code == 200, (method, response.status_code, response.text[:300])
				assert response.headers["Content-Type"].startswith("application/json")
				assert seconds < 5, f"{method} took {seconds:.1f} s while Redis was down"
				if method == "POST":
					frappe.db.rollback()
					made = frappe.get_doc("CRM Appointment", {"customer_email": f"outage{i}@example.com"})
					assert made.calendar_event and frappe.db.exists("Event", made.calendar_event)
	finally:
		redis.start()

	for method, path in (("GET", f"{URL}/{doc.name}"), ("GET", f"{URL}?limit=5")):
		assert answers(base, key, method, path)[0].status_code == 200
	print("while Redis was down:", outcomes)


# -- MariaDB restarted under load --------------------------------------------------------------


@pytest.fixture(scope="module")
def db_outage_server(request, site, keys):
	"""A live server on a copy of the site in a MariaDB of the test's own (and a Redis of its own, so
	the copy's cache is not the real site's). The API keys are committed before the copy is taken."""
	if not (os.path.exists("/usr/sbin/mariadbd") and shutil.which("mariadb-install-db")):
		pytest.fail("the MariaDB server (mariadbd, mariadb-install-db) is not installed")
	failed_before = request.session.testsfailed
	base = tempfile.mkdtemp(prefix="crm-db-fault-")
	redis = PrivateRedis()
	db = PrivateMariaDB(os.path.join(base, "mariadb"))
	server = None
	try:
		redis.start()
		db.install()
		db.start()
		db.copy_site_database(frappe.conf)
		server, url = start_live_server(SITE, private_sites(base, SITES_PATH, SITE, redis, db))
		yield url, db
	finally:
		stop_live_server(server)
		db.stop()
		redis.stop()
		if request.session.testsfailed > failed_before:
			for log in (os.path.join(base, "logs", "crm-live-test-server.log"), db.log):
				if os.path.exists(log):
					with open(log) as f:
						print(f"\n-- the end of {log}:\n" + "".join(f.readlines()[-60:]))
		shutil.rmtree(base, ignore_errors=True)


class Load:
	"""Client threads creating, reading, listing and patching appointments until told to stop; every
	answer is kept with when it was asked and answered."""

	def __init__(self, base: str, key: str, run: str, seeds: list[str]):
		self.base, self.key, self.run, self.seeds = base, key, run, seeds
		self.answers = []
		self.errors = []
		self.stop = threading.Event()

	def call(self, method, path, body=None, **extra):
		asked = time.monotonic()
		try:
			response, _ = answers(self.base, self.key, method, path, body)
			answer = {
				"status": response.status_code,
				"type": response.headers.get("Content-Type", ""),
				"retry_after": response.headers.get("Retry-After"),
				"text": response.text,
			}
		except requests.RequestException as exc:
			answer = {"status": None, "type": "", "retry_after": None, "text": repr(exc)}
		answer.update(method=method, path=path, asked=asked, answered=time.monotonic(), **extra)
		self.answers.append(answer)
		return answer

	def client(self, n: int):
		try:
			self.loop(n)
		except Exception as exc:
			self.errors.append(exc)

	def loop(self, n: int):
		i = 0
		while not self.stop.is_set():
			i += 1
			email = f"dbfault-{self.run}-{n}-{i}@example.org"
			body = factories.api_body(customer_name=f"Load {n} {i}", customer_email=email, status="scheduled")
			created = self.call("POST", URL, body, email=email)
			own = json.loads(created["text"])["id"] if created["status"] == 200 else self.seeds[n]
			self.call("GET", f"{URL}/{own}")
			self.call("GET", f"{URL}?limit=5")
			self.call("PATCH", f"{URL}/{own}", {"customer_details": f"load {n} {i}"})

	def __enter__(self):
		self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(len(self.seeds))]
		for thread in self.threads:
			thread.start()
		return self

	def __exit__(self, *exc):
		self.stop.set()
		for thread in self.threads:
			thread.join(timeout=60)


def whole_appointments(db, run: str) -> dict:
	"""{customer_email: [(id, problems)]} of every appointment the run made, read straight from the
	test's MariaDB; an appointment is whole when its fields and its calendar Event (with the
	appointment as participant), written in the same transaction, are all there."""
	with db.connect(frappe.conf.db_name) as connection, connection.cursor() as cursor:
		cursor.execute(
			"select name, customer_name, customer_email, scheduled_time, status, calendar_event"
			" from `tabCRM Appointment` where customer_email like %s",
			(f"dbfault-{run}-%",),
		)
		rows = cursor.fetchall()
		found = {}
		for name, customer_name, email, scheduled_time, status, event in rows:
			problems = []
			if not (customer_name and scheduled_time and status == "Scheduled"):
				problems.append("fields missing")
			cursor.execute("select count(*) from `tabEvent` where name = %s", (event,))
			if not event or cursor.fetchone()[0] != 1:
				problems.append("no calendar Event")
			cursor.execute(
				"select count(*) from `tabEvent Participants` where parent = %s"
				" and reference_doctype = 'CRM Appointment' and reference_docname = %s",
				(event, name),
			)
			if cursor.fetchone()[0] != 1:
				problems.append("the Event does not name the appointment")
			found.setdefault(email, []).append((name, problems))
	return found


@pytest.mark.parametrize("stop", ["shutdown", "crash"])
def test_while_mariadb_restarts_under_load_requests_fail_as_json_503_and_recover_with_nothing_half_written(
	keys, db_outage_server, stop
):
	base, db = db_outage_server
	key = keys["manager"]
	run = f"{stop}{int(time.time())}"  # the run's appointments are told apart by their email
	seeds = []
	for n in range(4):
		response, _ = answers(
			base,
			key,
			"POST",
			URL,
			factories.api_body(customer_email=f"dbfault-{run}-seed{n}@example.org", status="scheduled"),
		)
		assert response.status_code == 200, response.text
		seeds.append(response.json()["id"])

	with Load(base, key, run, seeds) as load:
		time.sleep(2)
		down = time.monotonic()
		stopped_in = db.stop(crash=stop == "crash")
		time.sleep(2)
		restarted = time.monotonic()
		db.start()
		up = time.monotonic()
		time.sleep(4)
	assert not load.errors
	answered = load.answers

	# Every answer is a 200, or the 503 of the one error shape, saying to retry; never HTML or a
	# traceback.
	for answer in answered:
		where = (answer["method"], answer["path"], answer["status"], answer["text"][:300])
		assert answer["status"] in (200, 503), where
		assert answer["type"].startswith("application/json"), where
		body = json.loads(answer["text"])
		if answer["status"] == 503:
			assert body == {
				"error": {
					"type": "api_error",
					"message": "The database is unavailable; try again.",
					"param": None,
				}
			}, where
			assert answer["retry_after"], where
	before = [a for a in answered if a["answered"] < down]
	during = [a for a in answered if down <= a["asked"] and a["answered"] <= up]
	after = [a for a in answered if a["asked"] >= up]
	assert before and all(a["status"] == 200 for a in before)
	assert any(a["status"] == 503 for a in during), "no request failed: the outage was not seen"
	# Service comes back by itself, and stays.
	recovered = min((a["answered"] for a in after if a["status"] == 200), default=None)
	assert recovered is not None and recovered - up < 30
	late = [a for a in after if a["asked"] > recovered]
	assert late and all(a["status"] == 200 for a in late), [a["status"] for a in late]

	# Nothing half-written: every create answered 200 is there, each appointment at most once, and
	# every appointment is whole. A create that answered 503 may still be there, whole, when the
	# database went away after its commit and before the answer.
	made = whole_appointments(db, run)
	creates = [a for a in answered if a["method"] == "POST"]
	for answer in creates:
		rows = made.get(answer["email"], [])
		assert len(rows) <= 1, answer["email"]
		if answer["status"] == 200:
			assert rows and rows[0][0] == json.loads(answer["text"])["id"], answer["email"]
	assert set(made) <= {a["email"] for a in creates} | {
		f"dbfault-{run}-seed{n}@example.org" for n in range(4)
	}
	assert not {email: rows for email, rows in made.items() if any(problems for _, problems in rows)}

	seen = {}
	for a in during:
		seen[(a["method"], a["status"])] = seen.get((a["method"], a["status"]), 0) + 1
	print(
		f"\nMariaDB {stop} (stopped in {stopped_in:.2f} s): down {up - down:.1f} s until it took"
		f" connections again ({up - restarted:.2f} s of it starting); {len(answered)} requests from 4"
		f" clients, {len(during)} while down: {seen}; the first 200 {recovered - up:.2f} s after;"
		f" all {len(late)} after that 200; {len(made)} appointments made, all whole; creates answered"
		f" 503 but committed: {sum(1 for a in creates if a['status'] != 200 and a['email'] in made)}"
	)


def test_a_write_that_waits_too_long_for_a_row_lock_answers_503_with_retry_after_and_changes_nothing(
	keys, db_outage_server
):
	"""Another transaction holds the appointment's row (a long report, an admin's console): the PATCH
	gives up after the server's lock wait timeout (1 s here) with a 503 the client may retry, and
	succeeds once the lock is gone."""
	base, db = db_outage_server
	key = keys["manager"]
	created, _ = answers(base, key, "POST", URL, factories.api_body(customer_email="lockwait@example.org"))
	assert created.status_code == 200, created.text
	id = created.json()["id"]
	log_path = frappe.get_site_path("logs", "crm_appointments.log")
	logged_before = os.path.getsize(log_path) if os.path.exists(log_path) else 0
	with db.connect() as admin, admin.cursor() as cursor:
		cursor.execute("select @@global.innodb_lock_wait_timeout")
		(was,) = cursor.fetchone()
		cursor.execute("set global innodb_lock_wait_timeout = 1")
	try:
		with db.connect(frappe.conf.db_name) as holder, holder.cursor() as cursor:
			cursor.execute("begin")
			cursor.execute("select name from `tabCRM Appointment` where name = %s for update", (id,))
			response, seconds = answers(base, key, "PATCH", f"{URL}/{id}", {"customer_name": "Waited"})
			assert response.status_code == 503, response.text
			assert response.headers["Retry-After"].isdigit()
			assert response.json()["error"]["type"] == "api_error"
			assert seconds < 10
			cursor.execute("rollback")
		# The site's log says where the server met the lock (the private site's logs are the site's).
		with open(log_path) as log:
			log.seek(logged_before)
			logged = log.read()
		assert "answered 503 for a lock conflict" in logged and "Lock wait timeout" in logged
		got, _ = answers(base, key, "GET", f"{URL}/{id}")
		assert got.json()["customer_name"] == created.json()["customer_name"]
		retried, _ = answers(base, key, "PATCH", f"{URL}/{id}", {"customer_name": "Waited"})
		assert retried.status_code == 200 and retried.json()["customer_name"] == "Waited"
	finally:
		with db.connect() as admin, admin.cursor() as cursor:
			cursor.execute("set global innodb_lock_wait_timeout = %s", (was,))


# -- reminders due while Redis is down -----------------------------------------------------------

REMINDER_JOB = "crm_appointments.notify.reminders.send_due_reminders"

# One scheduler tick for the site, as frappe.utils.scheduler.enqueue_events does it for each due job
# (forced: the test decides when the job is due), then an RQ worker in burst mode, as `bench worker`
# runs, until the queue is empty. Run with the test's sites folder as the working directory.
TICK_AND_WORK = f"""
import json, os
import frappe
from frappe.utils.background_jobs import start_worker
frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=".")
frappe.connect()
try:
	job = frappe.get_doc("Scheduled Job Type", {{"method": "{REMINDER_JOB}"}})
	outcome = {{"enqueued": job.enqueue(force=True)}}
except Exception as exc:
	outcome = {{"enqueued": False, "error": f"{{type(exc).__name__}}: {{exc}}"}}
frappe.destroy()
if outcome["enqueued"]:
	start_worker(queue="default", burst=True, quiet=True)
print(json.dumps(outcome))
"""

# What a worker does with the job once it has taken it from the queue (frappe.utils.background_jobs).
RUN_TAKEN_JOB = f"""
import os
from frappe.utils.background_jobs import execute_job
execute_job(
	os.environ["CRM_TEST_SITE"],
	"frappe.core.doctype.scheduled_job_type.scheduled_job_type.run_scheduled_job",
	None,
	"{REMINDER_JOB}",
	{{"job_type": "{REMINDER_JOB}"}},
	is_async=True,
)
"""


@pytest.fixture
def scheduler_pipeline(committed):
	"""A Redis of the test's own for the scheduler's queue and the cache (a copy of the sites folder
	names it; the site is shared), reminders on with one offset, an hour; the bench's own scheduler off
	for the site meanwhile, so only the test's pipeline runs the job. Everything is put back."""
	job_type = frappe.get_doc("Scheduled Job Type", {"method": REMINDER_JOB})
	was = {
		"enable_scheduler": frappe.db.get_single_value("System Settings", "enable_scheduler"),
		"last_execution": job_type.last_execution,
	}
	settings = frappe.get_single("CRM Appointment Settings")
	was["settings"] = (settings.enable_reminders, [row.minutes_before for row in settings.reminder_offsets])
	frappe.db.set_single_value("System Settings", "enable_scheduler", 0)
	settings.enable_reminders = 1
	settings.set("reminder_offsets", [{"minutes_before": 60}])
	settings.save()
	frappe.db.commit()
	base = tempfile.mkdtemp(prefix="crm-reminder-fault-")
	redis = PrivateRedis()
	try:
		redis.start()
		yield private_sites(base, SITES_PATH, SITE, redis), redis
	finally:
		redis.stop()
		shutil.rmtree(base, ignore_errors=True)
		frappe.db.rollback()
		settings.reload()
		settings.enable_reminders, offsets = was["settings"]
		settings.set("reminder_offsets", [{"minutes_before": minutes} for minutes in offsets])
		settings.save()
		frappe.db.set_single_value("System Settings", "enable_scheduler", was["enable_scheduler"] or 0)
		frappe.db.set_value("Scheduled Job Type", job_type.name, "last_execution", was["last_execution"])
		frappe.db.delete(
			"Scheduled Job Log", {"scheduled_job_type": job_type.name, "creation": (">=", committed)}
		)
		frappe.db.commit()


def run_in(sites: str, script: str) -> subprocess.CompletedProcess:
	return subprocess.run(
		[sys.executable, "-c", script], cwd=sites, capture_output=True, text=True, timeout=120
	)


def tick_and_work(sites: str) -> dict:
	run = run_in(sites, TICK_AND_WORK)
	assert run.returncode == 0, run.stderr[-2000:]
	return json.loads(run.stdout.strip().splitlines()[-1])


def due_now(count: int, tag: str) -> list:
	"""Booked appointments whose hour-before reminder is due now."""
	start = (now_datetime() + timedelta(minutes=30)).replace(microsecond=0)
	return factories.commit(
		[
			factories.make(status="scheduled", scheduled_time=start, customer_email=f"{tag}{i}@example.org")
			for i in range(count)
		]
	)


def reminders_of(docs) -> dict:
	"""{appointment: ([(minutes_before, state, email_queue)], [Email Queue names])} as committed."""
	frappe.db.rollback()
	return {
		doc.name: (
			[
				(r.minutes_before, r.state, r.email_queue)
				for r in frappe.get_all(
					"CRM Appointment Reminder",
					filters={"appointment": doc.name},
					fields=["minutes_before", "state", "email_queue"],
				)
			],
			frappe.get_all(
				"Email Queue",
				filters={"reference_doctype": "CRM Appointment", "reference_name": doc.name},
				pluck="name",
			),
		)
		for doc in docs
	}


def sent_once(reminders: dict) -> bool:
	return all(
		len(rows) == 1 and rows[0][:2] == (60, "Queued") and emails == [rows[0][2]]
		for rows, emails in reminders.values()
	)


def job_runs(since) -> list[str]:
	frappe.db.rollback()
	return frappe.get_all(
		"Scheduled Job Log",
		filters={"scheduled_job_type": "reminders.send_due_reminders", "creation": (">=", since)},
		pluck="status",
		order_by="creation",
	)


def a_second_run_sends_nothing_more(sites, since, docs, first):
	assert tick_and_work(sites) == {"enqueued": True}
	assert job_runs(since) == ["Complete", "Complete"]
	assert reminders_of(docs) == first


def test_reminders_due_while_redis_is_down_go_out_once_when_it_returns(committed, scheduler_pipeline):
	sites, redis = scheduler_pipeline
	docs = due_now(3, "redis-down-")

	redis.stop()
	try:
		outage = tick_and_work(sites)
		assert not outage["enqueued"] and "ConnectionError" in outage["error"], outage
		assert reminders_of(docs) == {doc.name: ([], []) for doc in docs}, "sent or claimed while down"
		assert job_runs(committed) == []
	finally:
		redis.start()

	assert tick_and_work(sites) == {"enqueued": True}
	assert job_runs(committed) == ["Complete"]
	first = reminders_of(docs)
	assert sent_once(first), first

	a_second_run_sends_nothing_more(sites, committed, docs, first)
	print("\nthe tick while Redis was down:", outage["error"])


def test_a_reminder_job_that_redis_leaves_mid_run_still_sends_each_reminder_once(
	committed, scheduler_pipeline
):
	sites, redis = scheduler_pipeline
	docs = due_now(3, "redis-gone-")

	# The worker has taken the job from the queue; then Redis goes. The job reads and claims in the
	# database, so it still queues the reminders.
	redis.stop()
	try:
		run = run_in(sites, RUN_TAKEN_JOB)
		assert run.returncode == 0, run.stderr[-2000:]
	finally:
		redis.start()
	assert job_runs(committed) == ["Complete"]
	first = reminders_of(docs)
	assert sent_once(first), first

	a_second_run_sends_nothing_more(sites, committed, docs, first)
