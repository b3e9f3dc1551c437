"""Self-service booking as a guest, end to end: the slots of a day, then the booking of the first
free one (the booking page's two calls), and the booking page itself.

    bash scripts/benchmark.sh --booking [bookings, default 200]

Starts gunicorn (2 workers) for the test site on loopback, makes two hosts free all day, turns public
booking on, and times each guest in turn (a different client address each, as real visitors are:
given in X-Forwarded-For, which the test site's config trusts from loopback, `crm_trusted_proxies`,
set by scripts/test.sh).
Targets: a booking end to end p50 < 120 ms; GET /book (two types: their list) and GET /book/<type> p50
< 30 ms. Everything it made is removed and
the settings put back at the end.
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta

import frappe
import requests

from crm_appointments.scheduling import timing
from crm_appointments.www.book.page_context import clear_page_cache
from harness import site_data
from harness.live_server import start_live_server, stop_live_server
from harness.site_data import make_desk_user, remove_made_since

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
SETTINGS = "CRM Appointment Settings"
BOOKING = {
	"enable_public_booking": 1,
	"booking_duration": 30,
	"slot_interval": 30,
	"buffer_minutes": 0,
	"minimum_notice": 120,
	"booking_horizon": 30,
}
HOSTS = ("crm-bench-host-1@example.org", "crm-bench-host-2@example.org")


def summary(times: list[float]) -> dict:
	times = sorted(times)
	return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def make_hosts(hosts=HOSTS):
	"""A host for each of these emails (a desk user made for it), free all day every day, in UTC."""
	from crm_appointments.scheduling.availability import WEEKDAYS

	for email in hosts:
		make_desk_user(email, "Bench host", "CRM Appointment User")
		frappe.get_doc(
			{
				"doctype": "CRM Appointment Host",
				"user": email,
				"enabled": 1,
				"time_zone": "UTC",
				"working_hours": [
					{"day_of_week": day, "from_time": "00:00:00", "to_time": "00:00:00"} for day in WEEKDAYS
				],
			}
		).insert(ignore_permissions=True)


def guest(i: int) -> dict:
	return {"X-Forwarded-For": f"10.{200 + i // 65536 % 50}.{i // 256 % 256}.{i % 256}"}


def use_booking_settings(settings=BOOKING) -> dict:
	"""Set these booking settings; returns the values they replaced, for put_back."""
	before = {field: frappe.db.get_single_value(SETTINGS, field) for field in settings}
	for field, value in settings.items():
		frappe.db.set_single_value(SETTINGS, field, value)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	clear_page_cache()
	return before


def put_back(started, before: dict, hosts=HOSTS):
	"""Remove what was made since `started`, put the settings back (`before`), delete the hosts'
	users, and commit."""
	frappe.db.rollback()
	remove_made_since(started)
	for field, value in before.items():
		frappe.db.set_single_value(SETTINGS, field, value)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	clear_page_cache()
	for email in hosts:
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, force=True, ignore_permissions=True)
	frappe.db.commit()


def main():
	n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
	site_data.connect(SITE, SITES_PATH, "Administrator")
	from frappe.utils import now_datetime

	started = now_datetime()
	before = use_booking_settings()
	make_hosts()
	frappe.db.commit()

	server, base = start_live_server(SITE, SITES_PATH)
	session = requests.Session()
	slots_ms, post_ms, total_ms, page_ms, type_page_ms = [], [], [], [], []
	try:
		for i in range(20):  # each worker imports what booking and the page need, once
			session.get(f"{base}/book", headers=guest(60000 + i))
			session.get(
				f"{base}/api/crm/slots?start={date.today()}&end={date.today()}", headers=guest(60000 + i)
			)
		day = date.today() + timedelta(days=2)
		for i in range(n):
			headers = guest(i)
			t0 = time.perf_counter()
			answer = session.get(
				f"{base}/api/crm/slots",
				params={"start": day, "end": day, "time_zone": "UTC"},
				headers=headers,
			)
			t1 = time.perf_counter()
			free = answer.json()["data"] if answer.status_code == 200 else []
			if not free:
				day += timedelta(days=1)
				continue
			booked = session.post(
				f"{base}/api/crm/bookings",
				json={
					"customer_name": f"Bench {i}",
					"customer_email": f"bench{i}@example.org",
					"start": free[0]["start"],
				},
				headers=headers,
			)
			t2 = time.perf_counter()
			if booked.status_code != 200:
				raise SystemExit(f"booking {i}: {booked.status_code} {booked.text[:300]}")
			slots_ms.append((t1 - t0) * 1000)
			post_ms.append((t2 - t1) * 1000)
			total_ms.append((t2 - t0) * 1000)
		# Two public types: /book is the list of types, /book/<type> a type's picker.
		picker = timing.default_type()
		frappe.get_doc(
			{
				"doctype": "CRM Appointment Type",
				"title": "Bench intro",
				"duration": 15,
				"location_kind": "Phone",
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		for path, times in (("/book", page_ms), (f"/book/{picker}", type_page_ms)):
			for i in range(n):
				t0 = time.perf_counter()
				page = session.get(f"{base}{path}", headers=guest(100000 + i))
				times.append((time.perf_counter() - t0) * 1000)
				if page.status_code != 200:
					raise SystemExit(f"GET {path}: {page.status_code}")
	finally:
		stop_live_server(server)
		put_back(started, before)

	print(
		f"\n{len(total_ms)} guest bookings in turn (2 hosts free all day), gunicorn with 2 workers, site {SITE}\n"
	)
	print(f"{'step':34} {'p50 ms':>8} {'p99 ms':>8}")
	for name, times in (
		("GET /api/crm/slots (one day)", slots_ms),
		("POST /api/crm/bookings", post_ms),
		("booking end to end (both)", total_ms),
		("GET /book (the list of types)", page_ms),
		("GET /book/<type> (its picker)", type_page_ms),
	):
		m = summary(times)
		print(f"{name:34} {m['p50']:8.2f} {m['p99']:8.2f}")
	slowest = sorted(range(len(post_ms)), key=post_ms.__getitem__, reverse=True)[:3]
	print(
		"slowest bookings (in the order made): " + ", ".join(f"#{i + 1} {post_ms[i]:.0f} ms" for i in slowest)
	)
	print(
		f"\ntargets: booking end to end p50 < 120 ms: {summary(total_ms)['p50']:.1f}; GET /book p50 < 30 ms: "
		f"{summary(page_ms)['p50']:.1f}; GET /book/<type> p50 < 30 ms: {summary(type_page_ms)['p50']:.1f}"
	)
	frappe.destroy()


if __name__ == "__main__":
	main()
