"""Throughput and latency of the REST API beside Frappe's own endpoints, on the same site and server.

    bash scripts/benchmark.sh [requests per endpoint, default 300]

Starts gunicorn (2 workers) for the test site on loopback, seeds appointments, then sends the same
number of sequential requests to each endpoint and prints requests/s, p50 and p99, and the ratio of
ours to Frappe's for the same work. Everything it made is removed at the end.
"""

import json
import os
import statistics
import sys
import time
import urllib.parse

import frappe
import requests

from benchmarks.common import create_bodies, warm_up
from crm_appointments.rest.schema import COLUMNS
from harness import site_data
from harness.live_server import start_live_server, stop_live_server
from harness.site_data import remove_made_since

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SEED = int(os.environ.get("CRM_BENCH_SEED_ROWS", "1000"))
USER = "Administrator"


def measure(session, method, url, headers, body=None):
	times = []
	started = time.perf_counter()
	for i in range(N):
		data = body(i) if callable(body) else body
		t0 = time.perf_counter()
		response = session.request(method, url, headers=headers, data=data)
		times.append((time.perf_counter() - t0) * 1000)
		if response.status_code != 200:
			raise SystemExit(f"{method} {url}: {response.status_code} {response.text[:300]}")
	elapsed = time.perf_counter() - started
	times.sort()
	return {
		"rps": N / elapsed,
		"p50": statistics.median(times),
		"p99": times[min(len(times) - 1, int(len(times) * 0.99))],
	}


def main():
	site_data.connect(SITE, SITES_PATH, USER)
	from frappe.core.doctype.user.user import generate_keys
	from frappe.utils import add_days, now_datetime

	from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key

	started = now_datetime()
	key = issue_key(USER, "test", "benchmark")
	secret = generate_keys(USER)["api_secret"]
	token = f"token {frappe.db.get_value('User', USER, 'api_key')}:{secret}"
	for i in range(SEED):
		frappe.get_doc(
			{
				"doctype": "CRM Appointment",
				"customer_name": f"Bench {i}",
				"customer_email": f"bench{i}@example.org",
				"scheduled_time": add_days(now_datetime(), 1 + i % 30),
				"status": "scheduled",
			}
		).insert()
	frappe.db.commit()
	sample = frappe.get_all(
		"CRM Appointment", filters={"customer_email": "bench7@example.org"}, pluck="name"
	)[0]

	server, base = start_live_server(SITE, SITES_PATH)
	ours = {"Authorization": f"Bearer {key['key']}", "Content-Type": "application/json"}
	theirs = {"Authorization": token, "Content-Type": "application/json"}
	resource = f"{base}/api/resource/{urllib.parse.quote('CRM Appointment')}"
	fields = json.dumps(list(COLUMNS))

	create_body, frappe_create_body = create_bodies("example.org", "scheduled")

	try:
		warm_up(
			f"{base}/api/crm/appointment", resource, ours, theirs, sample, create_body, frappe_create_body
		)
		session = requests.Session()
		rows = [
			("ping (Frappe)", measure(session, "GET", f"{base}/api/method/ping", {})),
			("GET one: ours", measure(session, "GET", f"{base}/api/crm/appointment/{sample}", ours)),
			("GET one: /api/resource", measure(session, "GET", f"{resource}/{sample}", theirs)),
			("list 20 + total: ours", measure(session, "GET", f"{base}/api/crm/appointment?limit=20", ours)),
			(
				"list 20: /api/resource",
				measure(
					session,
					"GET",
					f"{resource}?limit_page_length=20&order_by=creation%20desc&fields={urllib.parse.quote(fields)}",
					theirs,
				),
			),
			(
				"count: frappe.client.get_count",
				measure(
					session,
					"GET",
					f"{base}/api/method/frappe.client.get_count?doctype={urllib.parse.quote('CRM Appointment')}",
					theirs,
				),
			),
			("create: ours", measure(session, "POST", f"{base}/api/crm/appointment", ours, create_body)),
			("create: /api/resource", measure(session, "POST", resource, theirs, frappe_create_body)),
		]
	finally:
		stop_live_server(server)
		frappe.db.rollback()
		# Everything the run made: appointments, their calendar Events, versions, mail and API records.
		remove_made_since(started)
		frappe.db.delete("CRM API Key", {"name": key["name"]})
		frappe.db.commit()

	r = dict(rows)
	print(
		f"\n{N} sequential requests per endpoint, {SEED} seeded rows, gunicorn with 2 workers, site {SITE}\n"
	)
	print(f"{'endpoint':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
	for name, m in rows:
		print(f"{name:34} {m['rps']:8.1f} {m['p50']:8.2f} {m['p99']:8.2f}")
	list_frappe_p50 = r["list 20: /api/resource"]["p50"] + r["count: frappe.client.get_count"]["p50"]
	print("\nratios (ours / Frappe's for the same work; below 1.0 means ours is faster):")
	print(
		f"  GET one p50 vs /api/resource:        {r['GET one: ours']['p50'] / r['GET one: /api/resource']['p50']:.2f}"
	)
	print(
		f"  GET one p50 vs ping:                 {r['GET one: ours']['p50'] / r['ping (Frappe)']['p50']:.2f}  (target <= 1.5)"
	)
	print(f"  list+total p50 vs list + get_count:  {r['list 20 + total: ours']['p50'] / list_frappe_p50:.2f}")
	print(
		f"  create p50 vs /api/resource:         {r['create: ours']['p50'] / r['create: /api/resource']['p50']:.2f}"
	)
	frappe.destroy()


if __name__ == "__main__":
	main()
