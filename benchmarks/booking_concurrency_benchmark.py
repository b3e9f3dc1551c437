"""Self-service booking by guests at once: 1, 4 and 8 clients booking different starts over 5 hosts,
through two servers.

    bash scripts/benchmark.sh --booking --concurrent [bookings per run, default 48]

Starts two gunicorn servers (2 workers each) for the test site on loopback, makes 5 hosts free all day
every day (UTC), turns public booking on (30-minute bookings on a 30-minute grid), and warms each
server's workers up (GET /book and /api/crm/slots, and a few bookings on a day of their own, as a
worker's first booking imports much of Frappe). Then the free starts are read once (GET
/api/crm/slots, as a guest), and for 1, 4 and 8 clients the given number of bookings, each round on
days of its own so no two bookings ask for the same start, is made by that many threads at once
(POST /api/crm/bookings), each thread alternating between the two servers and each booking from a
guest address of its own (X-Forwarded-For, as in booking_benchmark.py). Every booking must be made
(200). Around each round InnoDB's row lock waits and time are read from SHOW GLOBAL STATUS (the whole
MariaDB server's: anything else running on it counts too).
Targets: fewer than 1 booking in 10 waits on a row lock at 8 clients; 8 clients book at least twice as
fast as 1. Everything it made is removed and the settings put back at the end.
"""

import os
import random
import sys
import threading
import time
from datetime import date, timedelta

import frappe
import requests

from benchmarks.booking_benchmark import guest, make_hosts, put_back, summary, use_booking_settings
from harness import site_data
from harness.clients import at_once
from harness.live_server import start_live_server, stop_live_server

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
SETTINGS = {
	"enable_public_booking": 1,
	"booking_duration": 30,
	"slot_interval": 30,
	"buffer_minutes": 0,
	"minimum_notice": 120,
	"booking_horizon": 30,
}
HOSTS = [f"crm-bench-concurrent-host-{i}@example.org" for i in range(1, 6)]
CLIENTS = (1, 4, 8)
SERVERS = 2
WORKERS = 2  # per server
WARM_UP_BOOKINGS = 3  # per server, each a pair at once (one for each worker)
TIMEOUT = 120


class Guests:
	"""A client address of its own for each request, and an email address of its own for each
	booking: the rate limits count per address and per email (rest/rate_limits.py), and must not
	count this run's requests together, nor with an earlier run's (hence the random start)."""

	def __init__(self):
		self.next = random.randrange(3_000_000)
		self.run = f"{int(time.time())}-{random.randrange(10_000)}"
		self.lock = threading.Lock()

	def headers(self) -> dict:
		with self.lock:
			self.next += 1
			return guest(self.next)

	def booking(self, i, start: str) -> dict:
		return {
			"customer_name": f"Concurrent bench {i}",
			"customer_email": f"bench-concurrent-{self.run}-{i}@example.org",
			"start": start,
		}


def book(session, base: str, body: dict, headers: dict):
	"""POST one booking; (milliseconds, the answer)."""
	t0 = time.perf_counter()
	answer = session.post(f"{base}/api/crm/bookings", json=body, headers=headers, timeout=TIMEOUT)
	return (time.perf_counter() - t0) * 1000, answer


def must_be_made(answer, what: str):
	if answer.status_code != 200:
		raise SystemExit(f"{what}: {answer.status_code} {answer.text[:500]}")


def warm_up(bases: list[str], guests: Guests, starts: list[str]):
	"""Each server's workers: the page and the slots, then bookings (each worker's first save imports
	a good part of Frappe). A pair of requests at once, so each of a server's two workers takes one."""
	today = date.today()
	starts = iter(starts)
	for base in bases:
		for _ in range(5):
			at_once(WORKERS, lambda _i, base=base: requests.get(f"{base}/book", headers=guests.headers()))
			at_once(
				WORKERS,
				lambda _i, base=base: requests.get(
					f"{base}/api/crm/slots",
					params={"start": today, "end": today, "time_zone": "UTC"},
					headers=guests.headers(),
				),
			)
		for n in range(WARM_UP_BOOKINGS):
			pair = [next(starts) for _ in range(WORKERS)]
			for _ms, answer in at_once(
				WORKERS,
				lambda i, base=base, pair=pair, n=n: book(
					requests.Session(),
					base,
					guests.booking(f"warm-{base[-5:]}-{n}-{i}", pair[i]),
					guests.headers(),
				),
			):
				must_be_made(answer, "a warm-up booking")


def free_starts(base: str, guests: Guests) -> dict[str, list[str]]:
	"""The free starts from today to the horizon, read once as a guest: {UTC day: [starts]}."""
	first = date.today()
	answer = requests.get(
		f"{base}/api/crm/slots",
		params={
			"start": first,
			"end": first + timedelta(days=SETTINGS["booking_horizon"]),
			"time_zone": "UTC",
		},
		headers=guests.headers(),
		timeout=TIMEOUT,
	)
	must_be_made(answer, "GET /api/crm/slots")
	days: dict[str, list[str]] = {}
	for slot in answer.json()["data"]:
		days.setdefault(slot["start"][:10], []).append(slot["start"])
	return days


def share_out(days: dict[str, list[str]], wanted: list[int]) -> list[list[str]]:
	"""For each number in `wanted`, that many starts, from whole days no other share has."""
	shares, left = [], sorted(days)
	for count in wanted:
		starts = []
		while len(starts) < count:
			if not left:
				raise SystemExit(
					f"not enough free days within the {SETTINGS['booking_horizon']}-day horizon for "
					f"{sum(wanted)} bookings: ask for fewer"
				)
			starts += days[left.pop(0)]
		shares.append(starts[:count])
	return shares


def row_locks() -> dict[str, int]:
	"""InnoDB's counters (the whole server's): Innodb_row_lock_waits, Innodb_row_lock_time (ms), ..."""
	return {name: int(value) for name, value in frappe.db.sql("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock%'")}


def run_round(clients: int, bases: list[str], starts: list[str], guests: Guests) -> dict:
	"""`clients` threads book `starts` between them, each alternating between the servers."""
	failed = threading.Event()

	def client(c):
		session = requests.Session()
		made, began = [], time.perf_counter()
		for k, i in enumerate(range(c, len(starts), clients)):
			if failed.is_set():
				break
			ms, answer = book(
				session,
				bases[(c + k) % len(bases)],
				guests.booking(f"{clients}-{i}", starts[i]),
				guests.headers(),
			)
			if answer.status_code != 200:
				failed.set()
				return began, time.perf_counter(), made, (starts[i], answer)
			made.append(ms)
		return began, time.perf_counter(), made, None

	frappe.db.commit()  # no snapshot of ours held across the round
	locks_before = row_locks()
	results = at_once(clients, client)
	locks_after = row_locks()
	for _began, _ended, _made, failure in results:
		if failure:
			start, answer = failure
			raise SystemExit(
				f"a booking of {start} ({clients} clients): {answer.status_code} {answer.text[:500]}"
			)
	times = [ms for _b, _e, made, _f in results for ms in made]
	seconds = max(r[1] for r in results) - min(r[0] for r in results)
	waits = locks_after["Innodb_row_lock_waits"] - locks_before["Innodb_row_lock_waits"]
	return {
		"clients": clients,
		"bookings": len(times),
		"per_second": len(times) / seconds,
		**summary(times),
		"waits": waits,
		"waits_per_booking": waits / len(times),
		"lock_ms": locks_after["Innodb_row_lock_time"] - locks_before["Innodb_row_lock_time"],
	}


def main():
	n = int(sys.argv[1]) if len(sys.argv) > 1 else 48
	if n < 1:
		raise SystemExit("bookings per run: at least 1")
	site_data.connect(SITE, SITES_PATH, "Administrator")
	from frappe.utils import now_datetime

	started = now_datetime()
	before = use_booking_settings(SETTINGS)
	make_hosts(HOSTS)
	frappe.db.commit()

	servers, rows = [], []
	guests = Guests()
	try:
		for _ in range(SERVERS):
			servers.append(start_live_server(SITE, SITES_PATH, workers=WORKERS))
		bases = [base for _server, base in servers]
		days = free_starts(bases[0], guests)
		warm, *shares = share_out(days, [SERVERS * WORKERS * WARM_UP_BOOKINGS] + [n] * len(CLIENTS))
		warm_up(bases, guests, warm)
		for clients, starts in zip(CLIENTS, shares, strict=True):
			rows.append(run_round(clients, bases, starts, guests))
	finally:
		for server, _base in servers:
			stop_live_server(server)
		put_back(started, before, HOSTS)

	print(
		f"\n{n} guest bookings a run, each at a start of its own (5 hosts free all day), "
		f"{SERVERS} gunicorn servers with {WORKERS} workers each, site {SITE}\n"
	)
	print(
		f"{'clients':>7} {'bookings':>8} {'bookings/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
		f"{'row lock waits':>14} {'waits/booking':>13} {'lock time ms':>12}"
	)
	for row in rows:
		print(
			f"{row['clients']:>7} {row['bookings']:>8} {row['per_second']:>10.2f} {row['p50']:>8.1f} "
			f"{row['p99']:>8.1f} {row['waits']:>14} {row['waits_per_booking']:>13.3f} {row['lock_ms']:>12}"
		)
	by_clients = {row["clients"]: row for row in rows}
	waits = by_clients[8]["waits_per_booking"]
	ratio = by_clients[8]["per_second"] / by_clients[1]["per_second"]
	print("\ntargets:")
	print(f"  row lock waits per booking at 8 clients < 0.1: {waits:.3f} {'PASS' if waits < 0.1 else 'FAIL'}")
	print(
		f"  bookings/s at 8 clients >= 2 x at 1 client: {by_clients[8]['per_second']:.2f} vs "
		f"{by_clients[1]['per_second']:.2f} ({ratio:.2f} x) {'PASS' if ratio >= 2 else 'FAIL'}"
	)
	frappe.destroy()


if __name__ == "__main__":
	main()
