"""The REST API at scale, beside Frappe's own /api/resource for the same queries, on the same site.

    bash scripts/benchmark.sh --scale [--rows 1000000] [--requests 300] [--concurrency 4]
                                      [--memory-requests 10000] [--deep-requests 20]

Seeds --rows appointments with bulk inserts (and prints rows/s), starts gunicorn (2 workers) for
the site on loopback, then for each query sends --requests requests (--deep-requests for pages
100,000 rows deep) from --concurrency client threads and prints p50/p99 latency, requests/s, and
ours/Frappe's ratios. A cursor page is set beside Frappe's offset page at the same depth (Frappe
has no cursors). "Total recounted" rows replace the totals' generation before each request, as a
write does: the caller reads every appointment, so the kept count answers; "counted" rows filter by
customer_email, which only Frappe's count can answer. Then a list right after each create (one
client) and a mix of ten lists to one create (--concurrency clients), beside the same on
/api/resource. Last, the workers' memory (RSS) before and after --memory-requests more requests.
Everything it made is deleted at the end.
"""

import argparse
import json
import os
import random
import statistics
import threading
import time
import urllib.parse
from datetime import timedelta

import frappe
import requests
from frappe.utils import now_datetime

from benchmarks.common import create_bodies, warm_up
from crm_appointments.core import status_workflow as workflow
from crm_appointments.crm_appointments.doctype.crm_appointment.crm_appointment import new_appointment_id
from crm_appointments.records import status_counts as appointment_counts
from crm_appointments.rest import listing
from crm_appointments.rest.schema import COLUMNS
from harness import site_data
from harness.live_server import start_live_server, stop_live_server

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
USER = "Administrator"
DOMAIN = "scale.invalid"  # every seeded row has an address here, so they can all be removed
DOCTYPE = "CRM Appointment"


def seed(rows: int, fields_of=None) -> float:
	"""Bulk-insert `rows` appointments in chunks; returns rows per second. `fields_of(i)`, when given,
	returns values that replace row i's (a dict of some of the fields below, such as host)."""
	fields = [
		"name",
		"owner",
		"modified_by",
		"creation",
		"modified",
		"docstatus",
		"idx",
		"customer_name",
		"customer_email",
		"scheduled_time",
		"duration",
		"status",
		"calendar_sequence",
		"host",
	]
	labels = [s.label for s in workflow.STATUSES]
	now = now_datetime()
	started = time.perf_counter()
	chunk = 5_000
	for first in range(0, rows, chunk):
		values = []
		for i in range(first, min(rows, first + chunk)):
			created = now - timedelta(seconds=rows - i)
			one = (
				new_appointment_id(),
				USER,
				USER,
				created,
				created,
				0,
				0,
				f"Scale {i}",
				f"scale{i}@{DOMAIN}",
				now + timedelta(minutes=random.randint(-525_600, 525_600)),
				30,
				labels[i % len(labels)],
				0,
				None,
			)
			if fields_of:
				one = tuple({**dict(zip(fields, one, strict=True)), **fields_of(i)}[f] for f in fields)
			values.append(one)
		# One multi-row INSERT per chunk, values passed as parameters (Frappe's bulk_insert builds
		# the same statement through its query builder, several times slower).
		row = "(" + ", ".join(["%s"] * len(fields)) + ")"
		frappe.db.sql(
			f"insert into `tab{DOCTYPE}` ({', '.join(f'`{f}`' for f in fields)}) values "
			+ ", ".join([row] * len(values)),
			[value for one in values for value in one],
		)
		frappe.db.commit()
	listing.replace_generation()  # raw inserts: the REST list's cached totals are stale now
	rate = rows / (time.perf_counter() - started)
	appointment_counts.reconcile()  # and the kept counts wrong
	return rate


def remove_seeded(since=None):
	"""Delete every seeded or created row (their addresses are at DOMAIN), in batches."""
	frappe.db.rollback()
	while names := frappe.db.sql_list(
		"select name from `tabCRM Appointment` where customer_email like %s limit 20000", f"%@{DOMAIN}"
	):
		frappe.db.delete(DOCTYPE, {"name": ("in", names)})
		frappe.db.commit()
	if since:  # the calendar Events that PATCHes of a seeded appointment made
		events = frappe.get_all(
			"Event",
			filters={"creation": (">=", since), "subject": ("like", "Appointment with Scale %")},
			pluck="name",
		)
		for name in events:
			frappe.db.delete("Event Participants", {"parent": name})
			frappe.db.delete("Event", {"name": name})
	frappe.db.commit()
	listing.replace_generation()
	appointment_counts.reconcile()


class LoadFailed(Exception):
	"""A request of a load run failed or timed out."""

	def __init__(self, request: str, reason: str):
		super().__init__(f"{request}: {reason}")
		self.reason = reason


def load(base, path_or_fn, headers, method="GET", body=None, requests_total=300, concurrency=4):
	"""`requests_total` requests from `concurrency` threads; latency percentiles and throughput.
	`method` may be a function of the request number too: then the result also has each method's
	percentiles (result["GET"], result["POST"])."""
	times, errors = [], []
	by_method = {}
	counter = iter(range(requests_total))
	lock = threading.Lock()

	def client():
		session = requests.Session()
		while True:
			with lock:
				i = next(counter, None)
			if i is None:
				return
			path = path_or_fn(i) if callable(path_or_fn) else path_or_fn
			data = body(i) if callable(body) else body
			verb = method(i) if callable(method) else method
			t0 = time.perf_counter()
			try:
				response = session.request(verb, base + path, headers=headers, data=data, timeout=120)
			except requests.RequestException as exc:  # a timeout ends the run with its reason
				with lock:
					errors.append(f"{type(exc).__name__} after {time.perf_counter() - t0:.0f} s")
				return
			elapsed = (time.perf_counter() - t0) * 1000
			with lock:
				times.append(elapsed)
				by_method.setdefault(verb, []).append(elapsed)
				if response.status_code != 200:
					errors.append(f"{response.status_code} {response.text[:200]}")

	started = time.perf_counter()
	threads = [threading.Thread(target=client) for _ in range(concurrency)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	wall = time.perf_counter() - started
	if errors:
		raise LoadFailed(f"{method} {path_or_fn if isinstance(path_or_fn, str) else '...'}", errors[0])
	result = {**percentiles(times), "rps": len(times) / wall, "times": times, "wall": wall}
	if callable(method):
		result.update({verb: percentiles(some) for verb, some in by_method.items()})
		result["by_method"] = by_method
	return result


def percentiles(times: list[float]) -> dict:
	times = sorted(times)
	return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def list_after_create(base, list_path, create_path, headers, create_body, requests_total):
	"""One client: a create, then the list, again and again; the lists' latency percentiles."""
	session, times = requests.Session(), []
	for i in range(requests_total):
		created = session.post(base + create_path, headers=headers, data=create_body(i), timeout=120)
		t0 = time.perf_counter()
		listed = session.get(base + list_path, headers=headers, timeout=120)
		times.append((time.perf_counter() - t0) * 1000)
		if created.status_code != 200 or listed.status_code != 200:
			raise LoadFailed(list_path, f"{created.status_code}/{listed.status_code} {listed.text[:200]}")
	return {**percentiles(times), "rps": requests_total / (sum(times) / 1000)}


def worker_rss_mb(server) -> list[float]:
	children = []
	for pid in os.listdir("/proc"):
		if pid.isdigit():
			try:
				with open(f"/proc/{pid}/stat") as f:
					if int(f.read().split(") ")[1].split()[1]) == server.pid:
						children.append(pid)
			except (OSError, IndexError, ValueError):
				pass
	sizes = []
	for pid in children:
		with open(f"/proc/{pid}/status") as f:
			for line in f:
				if line.startswith("VmRSS:"):
					sizes.append(int(line.split()[1]) / 1024)
	return sorted(sizes)


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--rows", type=int, default=1_000_000)
	parser.add_argument("--requests", type=int, default=300)
	parser.add_argument("--concurrency", type=int, default=4)
	parser.add_argument("--memory-requests", type=int, default=10_000)
	parser.add_argument(
		"--deep-requests", type=int, default=20, help="requests per query for pages 100,000 rows deep"
	)
	parser.add_argument(
		"--lists-after-writes-only",
		action="store_true",
		help="only the list right after a create and the 10-lists-to-1-create mix",
	)
	args = parser.parse_args()

	site_data.connect(SITE, SITES_PATH, USER)
	from frappe.core.doctype.user.user import generate_keys

	from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key

	started = now_datetime()
	remove_seeded()
	print(f"seeding {args.rows:,} appointments ...", flush=True)
	rate = seed(args.rows)
	total = frappe.db.count(DOCTYPE)
	print(f"seeded at {rate:,.0f} rows/s; the table holds {total:,} rows\n", flush=True)
	key = issue_key(USER, "test", "scale benchmark")
	secret = generate_keys(USER)["api_secret"]
	token = f"token {frappe.db.get_value('User', USER, 'api_key')}:{secret}"
	sample = frappe.db.sql(
		"select name from `tabCRM Appointment` where customer_email = %s", f"scale7@{DOMAIN}"
	)[0][0]
	frappe.db.commit()

	server, base = start_live_server(SITE, SITES_PATH)
	ours = {"Authorization": f"Bearer {key['key']}", "Content-Type": "application/json"}
	theirs = {"Authorization": token, "Content-Type": "application/json"}
	resource = f"/api/resource/{urllib.parse.quote(DOCTYPE)}"
	fields = urllib.parse.quote(json.dumps(list(COLUMNS)))
	their_list = f"{resource}?fields={fields}&order_by=creation%20desc&limit_page_length=20"
	count = f"/api/method/frappe.client.get_count?doctype={urllib.parse.quote(DOCTYPE)}"
	n, c = args.requests, args.concurrency
	offsets = [o for o in (10_000, 900_000) if o < total]
	# The id just before each depth, in list order: a cursor page from it is the offset page there.
	before_depth = {
		o: frappe.db.sql(
			"select name from `tabCRM Appointment` order by creation desc, name desc limit 1 offset %s", o - 1
		)[0][0]
		for o in offsets
	}
	generation = frappe.cache.make_key(listing.GENERATION_KEY)
	cache = frappe.cache
	scheduled_filter = urllib.parse.quote(json.dumps([["status", "=", "Scheduled"]]))

	create, frappe_create = create_bodies(DOMAIN, "draft")

	try:
		warm_up(
			f"{base}/api/crm/appointment", f"{base}{resource}", ours, theirs, sample, create, frappe_create
		)

		def row(label, a, b):
			theirs_text = (
				f"Frappe p50 {b['p50']:8.1f} p99 {b['p99']:8.1f} {b['rps']:7.1f}/s | p50 x{a['p50'] / b['p50']:.2f} "
				f"p99 x{a['p99'] / b['p99']:.2f}"
				if isinstance(b, dict)
				else f"Frappe: {b}"
			)
			print(
				f"{label:30} ours p50 {a['p50']:8.1f} p99 {a['p99']:8.1f} {a['rps']:7.1f}/s | {theirs_text}",
				flush=True,
			)

		def measure(args_, requests_total, theirs=False):
			try:
				return load(base, *args_, requests_total=requests_total, concurrency=c)
			except LoadFailed as exc:
				if not theirs:
					raise
				return f"no answer: {exc.reason}"  # Frappe's side failing is a result, not our failure

		def pair(label, ours_args, theirs_args, requests_total=n):
			row(label, measure(ours_args, requests_total), measure(theirs_args, requests_total, theirs=True))

		def after_a_write(path):
			# What a write does to cached totals (listing.bump_generation), so each request recounts.
			def fn(i):
				cache.set(generation, f"benchmark-{i}-{random.random()}")
				return path

			return fn

		if not args.lists_after_writes_only:
			pair("first page (with total)", ("/api/crm/appointment?limit=20", ours), (their_list, theirs))
			pair(
				"first page, total recounted",
				(after_a_write("/api/crm/appointment?limit=20"), ours),
				(their_list, theirs),
			)
			pair(
				"total recounted vs get_count",
				(after_a_write("/api/crm/appointment?limit=1"), ours),
				(count, theirs),
			)
			email_filter = urllib.parse.quote(json.dumps([["customer_email", "=", f"scale7@{DOMAIN}"]]))
			pair(
				"counted total (customer_email)",
				(after_a_write(f"/api/crm/appointment?limit=1&customer_email=scale7@{DOMAIN}"), ours),
				(f"{count}&filters={email_filter}", theirs),
			)

			def at_depth(offset):
				deep = args.deep_requests if offset >= 100_000 else n
				by_offset = measure((f"/api/crm/appointment?limit=20&offset={offset}", ours), deep)
				by_cursor = measure(
					(f"/api/crm/appointment?limit=20&starting_after={before_depth[offset]}", ours), deep
				)
				frappes = measure((f"{their_list}&limit_start={offset}", theirs), deep, theirs=True)
				row(f"page at offset {offset:,}", by_offset, frappes)
				row(f"cursor page at {offset:,}", by_cursor, frappes)

			for offset in offsets:
				if offset < 100_000:
					at_depth(offset)
			pair(
				"filtered: status=scheduled",
				("/api/crm/appointment?limit=20&status=scheduled", ours),
				(f"{their_list}&filters={scheduled_filter}", theirs),
			)
			pair("GET one", (f"/api/crm/appointment/{sample}", ours), (f"{resource}/{sample}", theirs))
			pair(
				"create",
				("/api/crm/appointment", ours, "POST", create),
				(resource, theirs, "POST", frappe_create),
			)
			pair(
				"PATCH / PUT one",
				(
					f"/api/crm/appointment/{sample}",
					ours,
					"PATCH",
					lambda i: json.dumps({"customer_details": f"o{i}"}),
				),
				(f"{resource}/{sample}", theirs, "PUT", lambda i: json.dumps({"customer_details": f"f{i}"})),
			)

		# Frappe's list carries no count; ours carries the exact total.
		lists = n // 3
		row(
			"list right after a create (1 client)",
			list_after_create(
				base, "/api/crm/appointment?limit=20", "/api/crm/appointment", ours, create, lists
			),
			list_after_create(base, their_list, resource, theirs, frappe_create, lists),
		)

		def mix(list_path, create_path, headers, create_body, round_):
			return load(
				base,
				lambda i: create_path if i % 11 == 10 else list_path,
				headers,
				method=lambda i: "POST" if i % 11 == 10 else "GET",
				body=lambda i: create_body(10_000 * (round_ + 1) + i) if i % 11 == 10 else None,
				requests_total=110,
				concurrency=c,
			)

		# In alternating rounds of 110 requests, so that what else runs on the machine weighs on both.
		rounds = {"ours": [], "theirs": []}
		for round_ in range(max(1, n * 2 // 110)):
			rounds["ours"].append(
				mix("/api/crm/appointment?limit=20", "/api/crm/appointment", ours, create, round_)
			)
			rounds["theirs"].append(mix(their_list, resource, theirs, frappe_create, round_))

		def pooled(results):
			by = {
				verb: [t for r in results for t in r["by_method"].get(verb, [])] for verb in ("GET", "POST")
			}
			wall = sum(r["wall"] for r in results)
			return {verb: percentiles(times) for verb, times in by.items()} | {
				"rps": sum(len(r["times"]) for r in results) / wall
			}

		a, b = pooled(rounds["ours"]), pooled(rounds["theirs"])
		print(
			f"{'mix 10 lists : 1 create':30} ours {a['rps']:6.1f}/s list p50 {a['GET']['p50']:6.1f} p99 "
			f"{a['GET']['p99']:6.1f} create p99 {a['POST']['p99']:6.1f} | Frappe {b['rps']:6.1f}/s list p50 "
			f"{b['GET']['p50']:6.1f} p99 {b['GET']['p99']:6.1f} create p99 {b['POST']['p99']:6.1f} | "
			f"list p99 x{a['GET']['p99'] / b['GET']['p99']:.2f} throughput x{a['rps'] / b['rps']:.2f}",
			flush=True,
		)

		if args.lists_after_writes_only:
			return
		before = worker_rss_mb(server)
		mixed = [f"/api/crm/appointment/{sample}", "/api/crm/appointment?limit=20&status=confirmed"]
		m = load(base, lambda i: mixed[i % 2], ours, requests_total=args.memory_requests, concurrency=c)
		after = worker_rss_mb(server)
		print(
			f"\nworker RSS (MB) before {[round(x, 1) for x in before]}, after {args.memory_requests:,} "
			f"requests {[round(x, 1) for x in after]} (those ran at {m['rps']:.0f}/s, p99 {m['p99']:.1f} ms)\n"
		)
		# Last, as Frappe's deep offset pages can hold a worker past the client's timeout.
		for offset in offsets:
			if offset >= 100_000:
				at_depth(offset)
	finally:
		stop_live_server(server)
		frappe.db.rollback()
		frappe.db.delete("CRM API Key", {"name": key["name"]})
		frappe.db.delete("Version", {"ref_doctype": DOCTYPE, "creation": (">=", started)})
		frappe.db.commit()
		remove_seeded(since=started)
		frappe.destroy()


if __name__ == "__main__":
	main()
