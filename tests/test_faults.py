"""Faults: the API while Redis is down.

A live server (gunicorn, two workers) is pointed at a Redis of the test's own, on a free port (a copy
of the bench's sites folder whose common config names that port; the site itself is shared), so the
machine's Redis, which other benches use, is never touched. The test stops that Redis, sends
requests, and starts it again.
"""

import json
import os
import shutil
import socket
import subprocess
import time

import frappe
import pytest
import redis as redis_client
import requests

from tests import factories
from tests.conftest import SITE, SITES_PATH
from tests.live_app import free_port, start_live_server

pytestmark = pytest.mark.slow

URL = "/api/crm/appointment"


class PrivateRedis:
	def __init__(self, port: int):
		self.port = port
		self.process = None

	def start(self):
		self.process = subprocess.Popen(
			[
				"redis-server",
				"--port",
				str(self.port),
				"--bind",
				"127.0.0.1",
				"--save",
				"",
				"--appendonly",
				"no",
			],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)
		deadline = time.monotonic() + 10
		while time.monotonic() < deadline:
			with socket.socket() as s:
				if s.connect_ex(("127.0.0.1", self.port)) == 0:
					return
			time.sleep(0.05)
		raise RuntimeError("the test's Redis did not start")

	def stop(self):
		if self.process:
			self.process.kill()
			self.process.wait()
			self.process = None


@pytest.fixture(scope="module")
def outage_server(tmp_path_factory, site):
	if not shutil.which("redis-server"):
		pytest.fail("redis-server is not installed")
	redis = PrivateRedis(free_port())
	redis.start()
	sites = tmp_path_factory.mktemp("bench") / "sites"
	sites.mkdir()
	(sites.parent / "logs").mkdir()
	with open(os.path.join(SITES_PATH, "common_site_config.json")) as f:
		config = json.load(f)
	for name in ("redis_cache", "redis_queue", "redis_socketio"):
		config[name] = f"redis://127.0.0.1:{redis.port}"
	(sites / "common_site_config.json").write_text(json.dumps(config))
	for name in ("apps.txt", "apps.json", "assets", SITE):
		if os.path.exists(os.path.join(SITES_PATH, name)):
			os.symlink(os.path.join(SITES_PATH, name), sites / name)
	server, base = start_live_server(SITE, str(sites))
	yield base, redis
	server.terminate()
	server.wait(timeout=20)
	redis.stop()


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
