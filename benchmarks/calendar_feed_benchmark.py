"""A host's calendar feed as calendar apps poll it: the whole feed, and the 304 a client that has it
gets, over a live server.

    bash scripts/benchmark.sh --feed [--appointments 500] [--requests 300]

Makes a host (a user of its own) with --appointments appointments through the ORM, as the desk
would (completed ones over the past 29 days, scheduled ones over the next 29), turns the host's
feed on, starts gunicorn (2 workers) for the site on loopback and sends --requests sequential
requests of each kind, without credentials, as a calendar app does: the full feed (GET), the same
with a current If-None-Match (304), HEAD, and a wrong secret (404). Then the feed right after one of
its appointments changed (--changes times: the changed event is built again, the others come from
the cache), and with nothing kept at all (--cold times: every event built). Prints p50/p99 and
requests/s beside Frappe's /api/method/ping, and whether the targets (feed p50 < 100 ms, 304 p50 <
20 ms) were met. Everything it made is removed at the end.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta
from urllib.parse import urlparse

import frappe
import requests
from frappe.utils import now_datetime

from crm_appointments.core.names import HOST
from harness import site_data
from harness.live_server import start_live_server, stop_live_server
from harness.site_data import make_desk_user, remove_made_since

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
HOST_USER = "crm-feed-benchmark@example.org"
TARGETS = {"feed": 100.0, "304": 20.0}  # p50, milliseconds


def make_host(appointments: int) -> str:
	"""The host, its appointments and its feed; the path of the feed's address."""
	make_desk_user(HOST_USER, "Feed benchmark", "CRM Appointment User")
	host = frappe.get_doc(
		{
			"doctype": HOST,
			"user": HOST_USER,
			"working_hours": [
				{"day_of_week": day, "from_time": "00:00:00", "to_time": "00:00:00"}
				for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
			],
		}
	).insert()
	now = now_datetime().replace(second=0, microsecond=0)
	past, ahead = appointments // 2, appointments - appointments // 2
	# Spread over 29 days either side, one every `step`, each 30 minutes: no two overlap.
	for i in range(appointments):
		if i < past:
			when, status = now - timedelta(days=29) + i * timedelta(days=28) / past, "Completed"
		else:
			when, status = now + timedelta(days=1) + (i - past) * timedelta(days=28) / ahead, "Scheduled"
		frappe.get_doc(
			{
				"doctype": "CRM Appointment",
				"customer_name": f"Feed {i}",
				"customer_email": f"feed{i}@example.org",
				"customer_details": "Wants to talk about the renewal; bring last year's figures.",
				"scheduled_time": when.replace(second=0, microsecond=0),
				"duration": 30,
				"status": status,
				"host": HOST_USER,
			}
		).insert()
	address = host.issue_calendar_feed()["url"]
	frappe.db.commit()
	return urlparse(address).path


def wrong_secret(url: str) -> str:
	"""The address with a well-formed secret that is not the host's (its letters' case swapped)."""
	base, secret = url.removesuffix(".ics").rsplit("/", 1)
	return f"{base}/{secret.swapcase()}.ics"


def measure(session, method, url, n, expect, headers=None, before=None):
	"""n requests, each after `before()` (untimed) when given."""
	times = []
	started = time.perf_counter()
	for i in range(n):
		if before:
			before(i)
		t0 = time.perf_counter()
		response = session.request(method, url, headers=headers)
		times.append((time.perf_counter() - t0) * 1000)
		if response.status_code != expect:
			raise SystemExit(f"{method} {url}: {response.status_code}, not {expect}: {response.text[:300]}")
	elapsed = time.perf_counter() - started
	times.sort()
	return {
		"rps": n / elapsed if not before else n / (sum(times) / 1000),
		"p50": statistics.median(times),
		"p99": times[min(n - 1, int(n * 0.99))],
		"bytes": len(response.content),
	}


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--appointments", type=int, default=500)
	parser.add_argument("--requests", type=int, default=300)
	parser.add_argument("--changes", type=int, default=50)
	parser.add_argument("--cold", type=int, default=10)
	args = parser.parse_args()

	site_data.connect(SITE, SITES_PATH, "Administrator")
	started = now_datetime()
	server = None
	try:
		seeding = time.perf_counter()
		path = make_host(args.appointments)
		seeded = time.perf_counter() - seeding
		server, base = start_live_server(SITE, SITES_PATH)
		url = base + path
		session = requests.Session()
		feed = session.get(url)
		assert feed.status_code == 200 and feed.text.count("BEGIN:VEVENT") == args.appointments, (
			feed.status_code,
			feed.text.count("BEGIN:VEVENT"),
		)
		current = {"If-None-Match": feed.headers["ETag"]}
		for _ in range(20):  # both workers, every path
			session.get(url)
			session.get(url, headers=current)
			session.get(f"{base}/api/method/ping")
		rows = [
			("ping (Frappe)", measure(session, "GET", f"{base}/api/method/ping", args.requests, 200)),
			("feed: GET", measure(session, "GET", url, args.requests, 200)),
			("feed: GET If-None-Match (304)", measure(session, "GET", url, args.requests, 304, current)),
			("feed: HEAD", measure(session, "HEAD", url, args.requests, 200)),
			("feed: wrong secret (404)", measure(session, "GET", wrong_secret(url), args.requests, 404)),
		]
		some = frappe.get_all("CRM Appointment", filters={"host": HOST_USER}, pluck="name", limit=1)[0]

		def change_one(i):
			frappe.db.set_value("CRM Appointment", some, "customer_details", f"Changed {i}")
			frappe.db.commit()

		def forget_events(i):
			frappe.cache.delete_keys("crm_calendar_feed_event:")

		rows += [
			("feed: GET after 1 change", measure(session, "GET", url, args.changes, 200, before=change_one)),
			("feed: GET, nothing kept", measure(session, "GET", url, args.cold, 200, before=forget_events)),
		]
	finally:
		stop_live_server(server)
		frappe.db.rollback()
		remove_made_since(started)
		frappe.db.delete("Comment", {"reference_doctype": HOST, "reference_name": HOST_USER})
		frappe.db.delete("CRM Appointment Host Hours", {"parent": HOST_USER})
		frappe.db.delete(HOST, {"name": HOST_USER})
		frappe.db.commit()
		frappe.delete_doc("User", HOST_USER, ignore_permissions=True, force=True)
		frappe.db.commit()

	r = dict(rows)
	print(
		f"\nA feed of {args.appointments} appointments ({r['feed: GET']['bytes']:,} bytes), "
		f"{args.requests} sequential requests each, gunicorn with 2 workers, site {SITE}"
		f" (seeded in {seeded:.0f} s)\n"
	)
	print(f"{'request':32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
	for name, m in rows:
		print(f"{name:32} {m['rps']:8.1f} {m['p50']:8.2f} {m['p99']:8.2f}")
	print()
	for name, row in (("feed", "feed: GET"), ("304", "feed: GET If-None-Match (304)")):
		p50 = r[row]["p50"]
		verdict = "met" if p50 < TARGETS[name] else "MISSED"
		print(f"target {name} p50 < {TARGETS[name]:.0f} ms: {p50:.2f} ms, {verdict}")
	frappe.destroy()


if __name__ == "__main__":
	main()
