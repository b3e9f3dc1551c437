"""Faults: the API while Redis is down, and the API while MariaDB restarts under load.

Every server these tests stop or crash is the test's own, on a free loopback port
(tests/private_services.py): a copy of the bench's sites folder points a live server (gunicorn, two
workers) at it. The machine's MariaDB and Redis, which other benches and sites use, are never
touched.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import frappe
import pytest
import redis as redis_client
import requests

from tests import factories
from tests.conftest import SITE, SITES_PATH
from tests.live_app import start_live_server
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
		stop_server(server)
		redis.stop()
		shutil.rmtree(base, ignore_errors=True)


def stop_server(server):
	if server:
		server.terminate()
		try:
			server.wait(timeout=20)
		except subprocess.TimeoutExpired:
			server.kill()
			server.wait()


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


def test_while_redis_is_down_the_api_answers_or_fails_fast_with_json_503_and_recovers(
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
					factories.api_body(customer_name=f"Outage {i}", customer_email=f"outage{i}@example.com"),
				),
			):
				response, seconds = answers(base, key, method, path, body)
				outcomes.append((method, response.status_code))
				assert response.status_code in (200, 503), (method, response.status_code, response.text[:300])
				assert response.headers["Content-Type"].startswith("application/json")
				assert seconds < 5, f"{method} took {seconds:.1f} s while Redis was down"
				if response.status_code == 503:
					assert response.json()["error"]["type"] == "api_error"
				if method == "POST":
					frappe.db.rollback()
					made = frappe.db.exists("CRM Appointment", {"customer_email": f"outage{i}@example.com"})
					# Either the whole appointment was made and reported, or nothing was.
					assert bool(made) == (response.status_code == 200)
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
		stop_server(server)
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
			response = requests.request(
				method,
				self.base + path,
				headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
				data=json.dumps(body) if body is not None else None,
				timeout=30,
			)
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
