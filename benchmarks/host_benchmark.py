"""Hosts: the free slots route, and the overlap rule's cost on a save, on the test site.

    bash scripts/benchmark.sh --hosts [--appointments 2000 --requests 200 --rows 1000000 --saves 200
                                       --caldav-meetings 40 | --no-caldav]

1. GET /api/crm/slots for 5 hosts over 31 days, with --appointments live appointments of theirs in
   that month (bulk-inserted on a half-hour grid inside their hours), through gunicorn (2 workers) on
   loopback: p50/p95 of --requests sequential requests, beside Frappe's /api/resource listing the
   same appointments (what the slots are computed from) and /api/method/ping (a request doing
   nothing). Then where the time goes, in the process: loading the calendars, and the arithmetic.
   With --caldav (the default; --no-caldav skips it): the same 5 hosts each connected to a CalDAV
   calendar of their own on a local Radicale (tests/radicale_server.py), a month of meetings in each
   (some repeating weekly): GET /api/crm/slots warm (their busy time from the cache), and a booking's
   re-read of its host's calendar (host_calendars.read_outside_again, what booking.book does before it
   takes a lock).
2. With --rows more appointments bulk-inserted (scale_benchmark's builder; 1,000 hosts' worth, one
   of the benchmark's hosts among them): the EXPLAIN (and MariaDB's ANALYZE) of the overlap rule's
   queries, then --saves inserts through the ORM with a host and as many without (alternating, each
   rolled back), and the overlap rule (validate_host_is_free) timed by itself.

Everything it made is removed at the end, and the settings it changed are put back.
"""

import argparse
import contextlib
import json
import os
import random
import statistics
import time
import urllib.parse
from datetime import timedelta

import frappe
import requests
from frappe.utils import add_days, get_datetime, getdate, now_datetime

from benchmarks.scale_benchmark import DOMAIN, remove_seeded, seed
from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE, HOST, HOST_HOURS, SETTINGS
from crm_appointments.scheduling import availability, host_calendars, slots
from harness import site_data
from harness.live_server import start_live_server, stop_live_server
from harness.site_data import make_desk_user, remove_made_since

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
USER = "Administrator"
HOSTS = [f"bench-host-{i}@{DOMAIN}" for i in range(5)]
ZONES = [None, None, None, "Europe/Berlin", "America/New_York"]  # None: the site's
OPEN, CLOSE = 8, 20  # every day, 08:00-20:00 in the host's zone
DAYS = 31
WARM_UP = 5  # untimed saves first: a process's first saves import much of Frappe
SETTINGS_USED = {
	"booking_duration": 30,
	"slot_interval": 15,
	"buffer_minutes": 0,
	"minimum_notice": 0,
	"booking_horizon": 62,
}


def percentiles(times: list[float]) -> dict:
	times = sorted(times)
	return {
		"p50": statistics.median(times),
		"p95": times[min(len(times) - 1, int(len(times) * 0.95))],
		"mean": statistics.fmean(times),
	}


def timed(fn, n: int) -> dict:
	times = []
	for i in range(n):
		t0 = time.perf_counter()
		fn(i)
		times.append((time.perf_counter() - t0) * 1000)
	return percentiles(times)


def timed_write(write) -> float:
	"""Milliseconds `write()` takes, in a transaction of its own that is rolled back (the benchmark
	leaves the table as seeded)."""
	frappe.db.rollback()
	t0 = time.perf_counter()
	write()
	elapsed = (time.perf_counter() - t0) * 1000
	frappe.db.rollback()
	return elapsed


def line(label: str, ours: dict, theirs: dict | None = None, theirs_label: str = "") -> str:
	text = f"{label:44} p50 {ours['p50']:7.2f} ms  p95 {ours['p95']:7.2f} ms"
	if theirs:
		text += f" | {theirs_label} p50 {theirs['p50']:7.2f} p95 {theirs['p95']:7.2f} | p50 x{ours['p50'] / theirs['p50']:.2f}"
	return text


# -- the hosts and their month ----------------------------------------------------------------------


def make_hosts():
	from crm_appointments.scheduling.availability import WEEKDAYS

	for email, zone in zip(HOSTS, ZONES, strict=True):
		make_desk_user(email, "Bench host", "CRM Appointment User")
		if not frappe.db.exists(HOST, email):
			frappe.get_doc(
				{
					"doctype": HOST,
					"user": email,
					"enabled": 1,
					"time_zone": zone,
					"working_hours": [
						{"day_of_week": day, "from_time": f"{OPEN:02}:00", "to_time": f"{CLOSE:02}:00"}
						for day in WEEKDAYS
					],
				}
			).insert(ignore_permissions=True)
	frappe.db.commit()


def remove_hosts():
	frappe.db.rollback()
	for email in HOSTS:
		frappe.db.delete("ToDo", {"allocated_to": email})
		frappe.db.delete("Notification Log", {"for_user": email})
		frappe.db.delete(HOST_HOURS, {"parent": email})
		frappe.db.delete(HOST, {"name": email})
		frappe.db.delete("Version", {"ref_doctype": HOST, "docname": email})
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, ignore_permissions=True, force=True)
	frappe.db.commit()


def month_grid(first_day) -> dict[str, list]:
	"""Each host's half-hour starts inside their hours over the month (naive, site time)."""
	from zoneinfo import ZoneInfo

	grid = {}
	for email, zone in zip(HOSTS, ZONES, strict=True):
		tz = ZoneInfo(zone) if zone else host_calendars.site_zone()
		starts = []
		for day in range(DAYS):
			date = add_days(first_day, day)
			for half in range((CLOSE - OPEN) * 2):
				wall = get_datetime(f"{date} {OPEN:02}:00:00") + timedelta(minutes=30 * half)
				starts.append(host_calendars.to_site(availability.first_instant(wall, tz)))
		grid[email] = starts
	return grid


def seed_month(first_day, appointments: int):
	"""`appointments` live appointments of the hosts (an equal share each), 30 minutes on a free
	half-hour of their grid, scheduled or confirmed."""
	grid = month_grid(first_day)
	picks = []
	for k, email in enumerate(HOSTS):
		share = appointments // len(HOSTS) + (1 if k < appointments % len(HOSTS) else 0)
		picks += [(email, start) for start in random.sample(grid[email], share)]
	statuses = ["Scheduled", "Confirmed"]
	seed(
		len(picks),
		lambda i: {
			"host": picks[i][0],
			"scheduled_time": picks[i][1],
			"status": statuses[i % 2],
			"duration": 30,
			"customer_email": f"month{i}@{DOMAIN}",
		},
	)


def set_settings(values: dict) -> dict:
	settings = frappe.get_single(SETTINGS)
	before = {k: settings.get(k) for k in values}
	settings.update(values)
	settings.save(ignore_permissions=True)
	frappe.db.commit()
	return before


# -- 1. slots -------------------------------------------------------------------------------------------


BENCH_TYPE = "bench-demo"


def bench_slots(args, base, ours, theirs):
	first_day = getdate(add_days(now_datetime(), 1))
	last_day = add_days(first_day, DAYS - 1)
	query = f"start={first_day}&end={last_day}"
	url = f"{base}/api/crm/slots?{query}"
	session = requests.Session()
	answer = session.get(url, headers=ours, timeout=60)
	assert answer.status_code == 200, answer.text[:300]
	found = len(answer.json()["data"])
	hosts_enabled = frappe.db.count(HOST, {"enabled": 1})
	# All of them in the month of the slots asked for (in their hosts' zones).
	live = frappe.db.count(APPOINTMENT, {"host": ("in", HOSTS), "status": ("in", host_calendars.LIVE_LABELS)})
	print(
		f"{hosts_enabled} enabled hosts ({len(HOSTS)} of the benchmark's), {live:,} live appointments of theirs "
		f"from {first_day} to {last_day}; settings {SETTINGS_USED}; {found:,} free slots offered\n",
		flush=True,
	)
	filters = json.dumps([["host", "in", HOSTS], ["status", "in", list(host_calendars.LIVE_LABELS)]])
	fields = json.dumps(["host", "scheduled_time", "duration"])
	resource = (
		f"{base}/api/resource/{urllib.parse.quote(APPOINTMENT)}?fields={urllib.parse.quote(fields)}"
		f"&filters={urllib.parse.quote(filters)}&limit_page_length=0"
	)
	listed = session.get(resource, headers=theirs, timeout=60)
	assert listed.status_code == 200 and len(listed.json()["data"]) == live, listed.text[:300]

	def get(target, headers):
		def one(_i):
			response = session.get(target, headers=headers, timeout=60)
			if response.status_code != 200:
				raise SystemExit(f"{target}: {response.status_code} {response.text[:300]}")

		return one

	for _ in range(10):  # warm both workers
		get(url, ours)(0)
		get(resource, theirs)(0)
	n = args.requests
	# Alternating rounds, so what else runs on the machine weighs on each alike.
	rounds = {"slots": [], "resource": [], "ping": []}
	for _ in range(5):
		for key, target, headers in (
			("slots", url, ours),
			("resource", resource, theirs),
			("ping", f"{base}/api/method/ping", theirs),
		):
			for _i in range(max(1, n // 5)):
				t0 = time.perf_counter()
				get(target, headers)(0)
				rounds[key].append((time.perf_counter() - t0) * 1000)
	a, b, c = (percentiles(rounds[k]) for k in ("slots", "resource", "ping"))
	print(
		line(
			f"GET /api/crm/slots, {len(HOSTS)} hosts x {DAYS} days", a, b, "Frappe list of those appointments"
		)
	)
	print(line("GET /api/method/ping (Frappe, no work)", c))
	host_url = f"{url}&host={urllib.parse.quote(HOSTS[0])}"
	one_host = timed(get(host_url, ours), n)
	print(line(f"GET /api/crm/slots, one host x {DAYS} days", one_host), flush=True)
	# A type of its own (contract.md, "Appointment types"): its length, buffers either side and most a
	# day per host all enter the arithmetic, over the same 5 hosts and their month.
	frappe.get_doc(
		{
			"doctype": APPOINTMENT_TYPE,
			"title": "Bench demo",
			"slug": BENCH_TYPE,
			"duration": 45,
			"buffer_before": 10,
			"buffer_after": 10,
			"max_per_day": 6,
			"hosts": [{"host": h} for h in HOSTS],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	type_url = f"{url}&type={BENCH_TYPE}"
	for _ in range(10):
		get(type_url, ours)(0)
	typed = timed(get(type_url, ours), n)
	print(line(f"GET /api/crm/slots?type= ({len(HOSTS)} hosts x {DAYS} days)", typed), flush=True)
	print(f"target: a type's slots, 5 hosts x 31 days, p50 < 100 ms: {typed['p50']:.1f} ms", flush=True)

	# In the process: the calendars from the database, then the arithmetic.
	since, until = slots.days_range(first_day, last_day, host_calendars.site_zone().key)
	q = slots.query_for(since, until)
	since, until = max(since, q.earliest), min(until, q.latest + timedelta(seconds=1))
	loaded = {}

	def load(_i):
		loaded["c"] = host_calendars.calendars(None, since, until, q.buffer)

	print(line("  in process: calendars() (the database)", timed(load, n)))
	print(
		line(
			"  in process: availability.slots() (arithmetic)",
			timed(lambda _i: availability.slots(loaded["c"], q), n),
		)
	)
	print(
		line(
			"  in process: slots.free_slots() (both)",
			timed(lambda _i: slots.free_slots(first_day, last_day, host_calendars.site_zone().key), n),
		),
		flush=True,
	)
	return a


# -- 1b. slots with CalDAV calendars ---------------------------------------------------------------------


CALDAV_PASSWORD = "bench-Radicale-1"
MEETINGS_A_HOST = 40


def connect_caldav_hosts(radicale, first_day, meetings: int):
	"""Each benchmark host connected to a calendar of their own, holding `meetings` meetings over the
	month, every fifth repeating weekly."""
	from datetime import UTC, datetime

	from tests.radicale_server import one_event

	for k, email in enumerate(HOSTS):
		user = f"bench{k}"
		calendar = radicale.make_calendar(user, "Work")
		day0 = datetime.combine(first_day, datetime.min.time(), UTC)
		for i in range(meetings):
			start = day0 + timedelta(days=random.randrange(DAYS), hours=random.randrange(24))
			weekly = {"rrule": {"FREQ": "WEEKLY", "COUNT": 5}} if i % 5 == 0 else {}
			calendar.save_event(
				one_event(f"bench-{k}-{i}", start, start + timedelta(minutes=45), summary="Meeting", **weekly)
			)
		doc = frappe.get_doc(HOST, email)
		doc.update(
			{
				"caldav_enabled": 1,
				"caldav_url": radicale.principal_url(user),
				"caldav_username": user,
				"caldav_password": CALDAV_PASSWORD,
			}
		)
		doc.save(ignore_permissions=True)
	frappe.db.commit()


def bench_caldav(args, base, ours, without):
	"""GET /api/crm/slots with the 5 hosts on CalDAV (warm), and a booking's re-read of one host."""
	from datetime import UTC, datetime

	from crm_appointments.scheduling import caldav_busy
	from tests.radicale_server import Radicale

	first_day = getdate(add_days(now_datetime(), 1))
	last_day = add_days(first_day, DAYS - 1)
	url = f"{base}/api/crm/slots?start={first_day}&end={last_day}"
	radicale = Radicale({f"bench{k}": CALDAV_PASSWORD for k in range(len(HOSTS))}).start()
	try:
		connect_caldav_hosts(radicale, first_day, args.caldav_meetings)
		session = requests.Session()
		answer = session.get(url, headers=ours, timeout=60)  # reads the calendars, cold
		assert answer.status_code == 200, answer.text[:300]
		assert not caldav_busy.unreadable(HOSTS), caldav_busy.unreadable(HOSTS)
		for _ in range(10):
			session.get(url, headers=ours, timeout=60)

		def one(_i):
			response = session.get(url, headers=ours, timeout=60)
			assert response.status_code == 200, response.text[:300]

		warm = timed(one, args.requests)
		print(
			f"\n{len(HOSTS)} hosts on CalDAV (Radicale on loopback), {args.caldav_meetings} meetings each over the "
			f"month, every fifth weekly; {len(answer.json()['data']):,} free slots offered"
		)
		print(
			line(
				f"GET /api/crm/slots, CalDAV, {len(HOSTS)} hosts x {DAYS} days, warm",
				warm,
				without,
				"no CalDAV",
			)
		)
		print(f"target: slots with 5 CalDAV hosts, 31 days, warm, p50 < 100 ms: {warm['p50']:.1f} ms")
		start = datetime.combine(add_days(first_day, 3), datetime.min.time(), UTC) + timedelta(hours=10)

		def reread(_i):
			host_calendars.read_outside_again([HOSTS[0]], start, start + timedelta(seconds=1), 0)

		fresh = timed(reread, max(5, args.requests // 4))
		print(line("a booking's fresh re-read of its host's calendar", fresh), flush=True)
		return warm, fresh
	finally:
		frappe.db.rollback()
		for email in HOSTS:
			frappe.db.set_value(HOST, email, {"caldav_enabled": 0, "caldav_url": None}, update_modified=False)
			caldav_busy.forget(email)
		frappe.db.commit()
		radicale.remove()


# -- 2. the overlap rule at scale ----------------------------------------------------------------------


def explain(query: str, values: dict):
	for row in frappe.db.sql(f"explain {query}", values, as_dict=True):
		print(
			f"    EXPLAIN: table {row.table}, type {row.type}, key {row.key}, rows {row.rows}, {row.Extra or ''}"
		)
	analyzed = frappe.db.sql(f"analyze format=json {query}", values)[0][0]
	table = json.loads(analyzed)["query_block"].get("table") or {}
	if not table:  # nested in a block
		table = json.loads(analyzed)["query_block"].get("nested_loop", [{}])[0].get("table", {})
	print(
		f"    ANALYZE: access {table.get('access_type')}, key {table.get('key')}, rows read {table.get('r_rows')}, "
		f"time {table.get('r_table_time_ms', 0):.3f} ms"
	)


def bench_overlap(args):
	host = HOSTS[0]
	fake_hosts = [f"scale-host-{k}@{DOMAIN}" for k in range(999)]
	print(f"\nseeding {args.rows:,} appointments (1,000 hosts, {host} one of them) ...", flush=True)

	def fields_of(i):
		if i % 1000 == 7:
			return {"host": host}
		return {"host": fake_hosts[i % 999] if i % 10 else None}

	rate = seed(args.rows, fields_of)
	total = frappe.db.count(APPOINTMENT)
	mine = frappe.db.count(APPOINTMENT, {"host": host})
	print(
		f"seeded at {rate:,.0f} rows/s; the table holds {total:,} rows, {mine:,} of them {host}'s\n",
		flush=True,
	)

	# Free times of the host within the seeded range, found beforehand (not timed).
	buffer = 0
	times, now = [], now_datetime()
	while len(times) < args.saves + WARM_UP:
		at = (now + timedelta(minutes=random.randrange(60 * 24 * 3, 60 * 24 * 300))).replace(
			second=0, microsecond=0
		)
		held = availability.occupied(host_calendars.as_utc(at), 30, buffer)
		if not host_calendars.busy_intervals([host], *held, buffer)[host] and all(
			abs(at - t) > timedelta(hours=1) for t in times
		):
			times.append(at)

	print("the overlap rule's queries for one save (one whose range holds some of the host's appointments):")
	for at in times:
		values = host_calendars.range_values(
			[host], *availability.occupied(host_calendars.as_utc(at), 30, 0), (0, 0)
		)
		names = frappe.db.sql_list(f"select name from {host_calendars.BY_RANGE}", values)
		if names:
			break
	else:
		# No free time close to one of the host's appointments: show the plans for a save at one of
		# them (what the queries read is the same; only the answer differs).
		taken = frappe.db.get_value(
			APPOINTMENT, {"host": host, "status": ("in", host_calendars.LIVE_LABELS)}, "scheduled_time"
		)
		values = host_calendars.range_values(
			[host], *availability.occupied(host_calendars.as_utc(taken), 30, 0), (0, 0)
		)
		names = frappe.db.sql_list(f"select name from {host_calendars.BY_RANGE}", values)
	print(f"  by range: select name from {host_calendars.BY_RANGE}")
	explain(f"select name from {host_calendars.BY_RANGE}", values)
	print(
		f"  by name ({len(names)} found): select host, scheduled_time, duration from {host_calendars.BY_NAME}"
	)
	# With none found (a small seed), a name that is no appointment's still shows the plan.
	explain(
		f"select host, scheduled_time, duration from {host_calendars.BY_NAME}",
		{**values, "names": names or ["no-such-appointment"]},
	)
	print()

	def new(i, with_host):
		return frappe.get_doc(
			{
				"doctype": APPOINTMENT,
				"customer_name": f"Scale save {i}",
				"customer_email": f"save{i}@{DOMAIN}",
				"scheduled_time": times[i],
				"duration": 30,
				"status": "Scheduled",
				"host": host if with_host else None,
			}
		)

	# Two appointments to move about (each move rolled back): one of the host's, one without a host.
	movers = {with_host: new(-1 - with_host, with_host) for with_host in (True, False)}
	for i, doc in enumerate(movers.values()):
		doc.scheduled_time = now + timedelta(days=400, hours=i)
		doc.insert()
	frappe.db.commit()

	# The overlap rule timed where it runs, inside each save.
	from crm_appointments.crm_appointments.doctype.crm_appointment.crm_appointment import CRMAppointment

	checks, rule = [], CRMAppointment.validate_host_is_free

	def timed_rule(self):
		t0 = time.perf_counter()
		try:
			return rule(self)
		finally:
			checks.append((time.perf_counter() - t0) * 1000)

	saves = {(kind, with_host): [] for kind in ("insert", "move") for with_host in (True, False)}
	CRMAppointment.validate_host_is_free = timed_rule
	try:
		for i in range(args.saves + WARM_UP):
			for with_host in (i % 2 == 0, i % 2 == 1):  # alternate which goes first
				inserted = timed_write(new(i, with_host).insert)
				doc = frappe.get_doc(APPOINTMENT, movers[with_host].name)
				doc.scheduled_time = times[i]
				moved = timed_write(doc.save)
				if i >= WARM_UP:
					saves["insert", with_host].append(inserted)
					saves["move", with_host].append(moved)
	finally:
		CRMAppointment.validate_host_is_free = rule
	for kind, label in (("insert", "insert"), ("move", "reschedule (save with a new time)")):
		with_host, without = percentiles(saves[kind, True]), percentiles(saves[kind, False])
		print(line(f"{label}, without a host", without))
		print(line(f"{label}, with a host", with_host))
		print(
			f"{'  difference':44} p50 {with_host['p50'] - without['p50']:7.2f} ms  mean "
			f"{with_host['mean'] - without['mean']:7.2f} ms"
			+ ("  (the overlap rule, and assigning the host: ToDo, share)" if kind == "insert" else "")
		)
	check = percentiles(checks[2 * WARM_UP :])
	print(line("the overlap rule inside those saves", check), flush=True)
	return check


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--appointments", type=int, default=2000)
	parser.add_argument("--requests", type=int, default=200)
	parser.add_argument("--rows", type=int, default=1_000_000, help="0: the slots only")
	parser.add_argument("--saves", type=int, default=200)
	parser.add_argument("--caldav", action=argparse.BooleanOptionalAction, default=True)
	parser.add_argument(
		"--caldav-meetings", type=int, default=MEETINGS_A_HOST, help="in each host's calendar"
	)
	args = parser.parse_args()

	site_data.connect(SITE, SITES_PATH, USER)
	from frappe.core.doctype.user.user import generate_keys

	from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key

	started = now_datetime()
	remove_seeded()
	remove_hosts()
	settings_before = set_settings(SETTINGS_USED)
	server, key = None, None
	from crm_appointments.core import outbound
	from tests.factories import site_config

	# The benchmark's Radicale is on loopback (the servers read the site config); put back at the end.
	config = contextlib.ExitStack()
	if args.caldav:
		config.enter_context(site_config(outbound.ALLOW_PRIVATE_CONFIG, 1))
	try:
		make_hosts()
		seed_month(getdate(add_days(now_datetime(), 1)), args.appointments)
		key = issue_key(USER, "test", "host benchmark")
		secret = generate_keys(USER)["api_secret"]
		token = f"token {frappe.db.get_value('User', USER, 'api_key')}:{secret}"
		frappe.db.commit()
		server, base = start_live_server(SITE, SITES_PATH)
		ours = {"Authorization": f"Bearer {key['key']}"}
		theirs = {"Authorization": token}
		without = bench_slots(args, base, ours, theirs)
		if args.caldav:
			bench_caldav(args, base, ours, without)
		stop_live_server(server)
		server = None
		if args.rows:
			bench_overlap(args)
	finally:
		stop_live_server(server)
		frappe.db.rollback()
		if key:
			frappe.db.delete("CRM API Key", {"name": key["name"]})
		frappe.db.delete("Version", {"ref_doctype": APPOINTMENT, "creation": (">=", started)})
		frappe.db.commit()
		remove_seeded(since=started)
		remove_made_since(started)  # the Events' Communications, ToDos, ...
		frappe.db.commit()
		remove_hosts()
		set_settings(settings_before)
		config.close()
		frappe.destroy()


if __name__ == "__main__":
	main()
