"""Webhooks: what raising events adds to a create, and how many events one worker delivers a second.

    bash scripts/benchmark.sh --webhooks [--creates N] [--events N]

1. Creates: appointments made through the ORM and committed one by one (as a request makes one), in
   alternating blocks with no webhook and with one enabled webhook taking every event: the p50 and p99
   of each, and what the events add at p50 (target: under 5 ms). With the webhook, each create writes
   its event's first try and, after the commit, queues the delivery job.
2. Delivery: `--events` events queued for a receiver on a loopback port (an HTTP server in a process
   of its own, answering 200), then one RQ worker in burst mode, as `bench worker` runs, sends them:
   events a second from the worker's start to its end, and between the first and the last try
   (target: at least 50 a second). The webhook's owner is a Manager, so each try checks with
   Frappe's permissions that they may read the appointment.

The jobs go to a Redis of the benchmark's own (a copy of the sites folder names it), so nothing lands
in the bench's queues. Everything made is removed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import frappe
from frappe.utils import now_datetime

from harness import site_data

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
MARK = "bench-webhooks.example.org"
OWNER = f"owner@{MARK}"  # a Manager owns the webhook, as on a site: each try checks they may read
WEBHOOK = "CRM Appointment Webhook"
DELIVERY = "CRM Appointment Webhook Delivery"

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	wbufsize = 65536  # the answer in one write, as a real server sends it

	def do_POST(self):
		self.rfile.read(int(self.headers.get("Content-Length") or 0))
		self.send_response(200)
		self.send_header("Content-Length", "2")
		self.end_headers()
		self.wfile.write(b"ok")

	def log_message(self, *args):
		pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

WORKER = """
from frappe.utils.background_jobs import start_worker
start_worker(queue="short", burst=True, quiet=True)
"""


def percentile(values, share: float) -> float:
	ordered = sorted(values)
	return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def create(i: int) -> float:
	"""Milliseconds to make and commit one appointment."""
	started = time.perf_counter()
	frappe.get_doc(
		{
			"doctype": "CRM Appointment",
			"customer_name": f"Webhook Bench {i}",
			"customer_email": f"w{i}@{MARK}",
			"scheduled_time": "2031-01-15 10:00:00",
			"status": "Draft",
		}
	).insert()
	frappe.db.commit()
	return (time.perf_counter() - started) * 1000


def set_enabled(webhook: str, enabled: int):
	frappe.db.set_value(WEBHOOK, webhook, "enabled", enabled)
	frappe.db.commit()


def time_creates(webhook: str, count: int, block: int = 25) -> tuple[list, list]:
	"""(without, with): each create's milliseconds, in alternating blocks."""
	without, with_ = [], []
	number = 100_000
	while len(with_) < count:
		for enabled, times in ((0, without), (1, with_)):
			set_enabled(webhook, enabled)
			for _ in range(min(block, count - len(times))):
				times.append(create(number))
				number += 1
	set_enabled(webhook, 0)
	return without, with_


def deliver(sites: str, webhook: str, count: int) -> tuple[float, float, int]:
	"""Queue `count` events, then one burst worker: (wall seconds, first-to-last try seconds, sent)."""
	set_enabled(webhook, 1)
	for i in range(count):
		create(200_000 + i)
	started = time.perf_counter()
	subprocess.run(
		[sys.executable, "-c", WORKER],
		cwd=sites,
		check=True,
		env={**os.environ, "CRM_TEST_SITE": SITE},
		timeout=600,
	)
	wall = time.perf_counter() - started
	frappe.db.rollback()
	first, last, sent = frappe.db.sql(
		f"select min(sent_at), max(sent_at), count(*) from `tab{DELIVERY}` where webhook = %s and state = 'Succeeded'",
		webhook,
	)[0]
	return wall, (last - first).total_seconds() if sent > 1 else 0.0, sent


def private_sites(base: str, redis) -> str:
	from tests.private_services import private_sites as make

	sites = make(base, SITES_PATH, SITE, redis)
	common = Path(sites) / "common_site_config.json"
	config = json.loads(common.read_text())
	config["crm_allow_private_hosts"] = 1  # the receiver is on loopback
	common.write_text(json.dumps(config))
	return sites


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--creates", type=int, default=200, help="creates timed each way")
	parser.add_argument("--events", type=int, default=500, help="events one worker delivers")
	args = parser.parse_args()

	from tests.private_services import PrivateRedis

	base = tempfile.mkdtemp(prefix="crm-webhook-bench-")
	redis = PrivateRedis()
	receiver = None
	connected = False
	try:
		redis.start()
		sites = private_sites(base, redis)
		receiver = subprocess.Popen(
			[sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL
		)
		port = int(receiver.stdout.readline())
		site_data.connect(SITE, sites, "Administrator")
		connected = True
		started = now_datetime()
		try:
			site_data.make_desk_user(OWNER, "Webhook owner", "CRM Appointment Manager")
			frappe.set_user(OWNER)
			webhook = frappe.get_doc(
				{"doctype": WEBHOOK, "url": f"http://127.0.0.1:{port}/hook", "enabled": 0}
			).insert()
			frappe.set_user("Administrator")
			frappe.db.commit()
			for i in range(20):  # warm up: the first saves import a good part of Frappe
				create(i)
			without, with_ = time_creates(webhook.name, args.creates)
			frappe.db.sql(f"delete from `tab{DELIVERY}` where webhook = %s", webhook.name)
			frappe.db.commit()
			wall, sending, sent = deliver(sites, webhook.name, args.events)
		finally:
			frappe.db.rollback()
			frappe.set_user("Administrator")
			site_data.remove_made_since(started)
			if frappe.db.exists("User", OWNER):
				frappe.delete_doc("User", OWNER, ignore_permissions=True, force=True)
			frappe.db.commit()

		added = statistics.median(with_) - statistics.median(without)
		print(
			f"create, no webhook:       p50 {statistics.median(without):.1f} ms, p99 {percentile(without, 0.99):.1f} ms ({len(without)} creates)"
		)
		print(
			f"create, one webhook:      p50 {statistics.median(with_):.1f} ms, p99 {percentile(with_, 0.99):.1f} ms ({len(with_)} creates)"
		)
		print(f"raising events adds:      {added:.2f} ms at p50 (target < 5 ms)")
		print(
			f"one worker delivered:     {sent} of {args.events} events in {wall:.2f} s from its start: "
			f"{sent / wall:.0f} events/s (target >= 50)"
		)
		if sending:
			print(f"  first to last try:      {sending:.2f} s: {(sent - 1) / sending:.0f} events/s")
		assert sent == args.events, f"{args.events - sent} events were not delivered"
	finally:
		if connected:
			frappe.destroy()
		if receiver:
			receiver.kill()
			receiver.wait()
		redis.stop()
		shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
	main()
