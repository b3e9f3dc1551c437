"""Self-service booking by guests at once: 1, 4 and 8 clients booking different starts over 5 hosts,
through two servers.

    bash scripts/benchmark.sh --booking --concurrent [bookings per round, default 48] [--repeat R, default 3]

Starts two gunicorn servers (2 workers each) for the test site on loopback, makes 5 hosts free all day
every day (UTC), turns public booking on (30-minute bookings on a 30-minute grid), and warms each
server's workers up (GET /book and /api/crm/slots, and a few bookings on a day of their own, as a
worker's first booking imports much of Frappe). Then the free starts are read once (GET
/api/crm/slots, as a guest), and for 1, 4 and 8 clients the given number of bookings, each round on
days of its own so no two bookings ask for the same start, is made by that many threads at once
(POST /api/crm/bookings), each thread alternating between the two servers and each booking from a
guest address of its own (X-Forwarded-For, as in booking_benchmark.py). Every booking must be made
(200). Around each round InnoDB's row lock waits and time are read from SHOW GLOBAL STATUS (the whole
MariaDB server's: anything else running on it counts too), and the CPU time each part spent, from
/proc: the two servers (gunicorn and its workers), MariaDB, Redis and the clients (this process), per
booking, and how many of the machine's cores were busy. The rounds run in turn (1, 4, 8, then again)
`--repeat` times, so a machine that is slower for a while slows every client count alike; the table
gives the median round of each.
Targets: fewer than 1 booking in 10 waits on a row lock at 8 clients; 8 clients book at least twice as
fast as 1. Everything it made is removed and the settings put back at the end.
"""

import argparse
import os
import random
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


class CpuMeter:
	"""CPU time (user + system, from /proc) of the parts a booking runs through, and of the machine."""

	TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")

	def __init__(self, servers: list):
		self.servers = [server.pid for server in servers]

	@staticmethod
	def processes() -> list[tuple[int, int, str, int]]:
		"""(pid, parent pid, command, CPU ticks) of every process."""
		found = []
		for entry in os.listdir("/proc"):
			if not entry.isdigit():
				continue
			try:
				with open(f"/proc/{entry}/stat") as stat:
					line = stat.read()
			except OSError:  # gone meanwhile
				continue
			command = line[line.index("(") + 1 : line.rindex(")")]
			fields = line[line.rindex(")") + 2 :].split()
			found.append((int(entry), int(fields[1]), command, int(fields[11]) + int(fields[12])))
		return found

	def read(self) -> dict:
		"""{part: CPU ms so far}, and the machine's busy and total ms (all cores)."""
		parts = dict.fromkeys(("servers", "database", "redis", "clients"), 0.0)
		for pid, parent, command, ticks in self.processes():
			if pid in self.servers or parent in self.servers:
				parts["servers"] += ticks * self.TICK_MS
			elif command == "mariadbd":
				parts["database"] += ticks * self.TICK_MS
			elif command == "redis-server":
				parts["redis"] += ticks * self.TICK_MS
			elif pid == os.getpid():
				parts["clients"] += ticks * self.TICK_MS
		with open("/proc/stat") as stat:
			cpu = [int(n) for n in stat.readline().split()[1:8]]
		idle = cpu[3] + cpu[4]  # idle, iowait
		parts["machine_busy"] = (sum(cpu) - idle) * self.TICK_MS
		return parts


def run_round(clients: int, bases: list[str], count: int, send, meter: CpuMeter) -> dict:
	"""`clients` threads make requests 0 .. count - 1 between them, each alternating between the
	servers; send(session, base, clients, i) makes request i and returns its answer, which must be a
	200."""
	failed = threading.Event()

	def client(c):
		session = requests.Session()
		made, began = [], time.perf_counter()
		for k, i in enumerate(range(c, count, clients)):
			if failed.is_set():
				break
			t0 = time.perf_counter()
			answer = send(session, bases[(c + k) % len(bases)], clients, i)
			if answer.status_code != 200:
				failed.set()
				return began, time.perf_counter(), made, (i, answer)
			made.append((time.perf_counter() - t0) * 1000)
		return began, time.perf_counter(), made, None

	frappe.db.commit()  # no snapshot of ours held across the round
	locks_before, cpu_before = row_locks(), meter.read()
	results = at_once(clients, client)
	locks_after, cpu_after = row_locks(), meter.read()
	for _began, _ended, _made, failure in results:
		if failure:
			i, answer = failure
			raise SystemExit(
				f"request {i} ({clients} clients, {send.__doc__}): {answer.status_code} {answer.text[:500]}"
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
		# CPU ms per request by part, and the cores busy on average over the round
		**{f"cpu_{part}": (cpu_after[part] - cpu_before[part]) / len(times) for part in cpu_after},
		"cores_busy": (cpu_after["machine_busy"] - cpu_before["machine_busy"]) / 1000 / seconds,
	}


def bookings(guests: Guests, starts: list[str]):
	def send(session, base, clients, i):
		"""a guest's booking"""
		_ms, answer = book(
			session, base, guests.booking(f"{clients}-{i}-{starts[i][:10]}", starts[i]), guests.headers()
		)
		return answer

	return send


def frappes_events(token: str, round_number: int):
	"""Frappe's own create, for comparison: POST /api/resource/Event (a private Event, as
	Administrator with an API key), through the same servers."""

	def send(session, base, clients, i):
		"""POST /api/resource/Event"""
		return session.post(
			f"{base}/api/resource/Event",
			json={
				"subject": f"Concurrency bench {round_number}-{i}",
				"starts_on": "2031-01-01 10:00:00",
				"ends_on": "2031-01-01 10:30:00",
				"event_type": "Private",
			},
			headers={"Authorization": token},
			timeout=TIMEOUT,
		)

	return send


def report(title: str, rows: list[dict]) -> dict[int, dict]:
	"""Print the rounds of one kind, then the median round of each client count (returned)."""
	print(title)
	print(
		f"{'clients':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'lock waits':>10} "
		f"{'waits/req':>9} {'lock ms':>8} | CPU ms a request: {'servers':>7} {'db':>5} "
		f"{'redis':>5} {'clients':>7} {'all':>5} | {'cores busy':>10}"
	)
	for row in rows:
		print(
			f"{row['clients']:>7} {row['per_second']:>7.2f} {row['p50']:>8.1f} {row['p99']:>8.1f} "
			f"{row['waits']:>10} {row['waits_per_booking']:>9.3f} {row['lock_ms']:>8} |"
			f" {'':>16} {row['cpu_servers']:>7.1f} {row['cpu_database']:>5.1f} {row['cpu_redis']:>5.1f}"
			f" {row['cpu_clients']:>7.1f} {row['cpu_machine_busy']:>5.1f} | {row['cores_busy']:>10.2f}"
		)
	medians = {c: median_round([row for row in rows if row["clients"] == c]) for c in CLIENTS}
	print("the median round of each:")
	for c in CLIENTS:
		row = medians[c]
		print(
			f"  {c} clients: {row['per_second']:.2f}/s, p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, "
			f"{row['cpu_machine_busy']:.1f} CPU ms a request, {row['cores_busy']:.2f} cores busy"
		)
	print()
	return medians


def arguments():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("bookings", nargs="?", type=int, default=48, help="bookings per round")
	parser.add_argument("--repeat", type=int, default=3, help="times each client count is run, in turn")
	args = parser.parse_args()
	if args.bookings < 1 or args.repeat < 1:
		raise SystemExit("bookings per round and --repeat: at least 1")
	return args


def median_round(rows: list[dict]) -> dict:
	"""The round of median bookings/s (the lower middle one of an even number)."""
	ranked = sorted(rows, key=lambda row: row["per_second"])
	return ranked[(len(ranked) - 1) // 2]


def main():
	args = arguments()
	n = args.bookings
	site_data.connect(SITE, SITES_PATH, "Administrator")
	from frappe.utils import now_datetime

	started = now_datetime()
	before = use_booking_settings(SETTINGS)
	make_hosts(HOSTS)
	frappe.db.commit()

	from frappe.core.doctype.user.user import generate_keys

	secret = generate_keys("Administrator")["api_secret"]
	token = f"token {frappe.db.get_value('User', 'Administrator', 'api_key')}:{secret}"
	frappe.db.commit()

	servers, rows, frappe_rows = [], [], []
	guests = Guests()
	order = list(CLIENTS) * args.repeat
	try:
		for _ in range(SERVERS):
			servers.append(start_live_server(SITE, SITES_PATH, workers=WORKERS))
		bases = [base for _server, base in servers]
		meter = CpuMeter([server for server, _base in servers])
		days = free_starts(bases[0], guests)
		warm, *shares = share_out(days, [SERVERS * WORKERS * WARM_UP_BOOKINGS] + [n] * len(order))
		warm_up(bases, guests, warm)
		for number, (clients, starts) in enumerate(zip(order, shares, strict=True)):
			rows.append(run_round(clients, bases, n, bookings(guests, starts), meter))
			frappe_rows.append(run_round(clients, bases, n, frappes_events(token, number), meter))
	finally:
		for server, _base in servers:
			stop_live_server(server)
		put_back(started, before, HOSTS)

	print(
		f"\n{n} requests a round through {SERVERS} gunicorn servers with {WORKERS} workers each, site "
		f"{SITE}; each client count {args.repeat} times, in turn, and after each bookings round a round "
		"of Frappe's own create\n"
	)
	ours = report("Guest bookings (POST /api/crm/bookings), each at a start of its own, 5 hosts", rows)
	theirs = report("Frappe's own create (POST /api/resource/Event)", frappe_rows)
	waits = max(row["waits_per_booking"] for row in rows if row["clients"] == 8)
	ratio = ours[8]["per_second"] / ours[1]["per_second"]
	print("\ntargets:")
	print(
		f"  row lock waits per booking at 8 clients < 0.1 (the worst round): {waits:.3f} "
		f"{'PASS' if waits < 0.1 else 'FAIL'}"
	)
	print(
		f"  bookings/s at 8 clients >= 2 x at 1 client: {ours[8]['per_second']:.2f} vs "
		f"{ours[1]['per_second']:.2f} ({ratio:.2f} x) {'PASS' if ratio >= 2 else 'FAIL'}"
	)
	print(
		f"  beside Frappe's own create: {theirs[8]['per_second'] / theirs[1]['per_second']:.2f} x at 8 "
		f"clients against 1 ({theirs[8]['per_second']:.2f} vs {theirs[1]['per_second']:.2f} Events/s)"
	)
	# What bounds the ratio: one client keeps about one core busy (each request's work runs one part
	# after another), so on C cores 8 clients can go at most C x (CPU a request at 1 client) /
	# (CPU a request at 8 clients) / (cores busy at 1 client) times as fast as 1.
	cores = os.cpu_count()
	for what, median in (("bookings", ours), ("Frappe's create", theirs)):
		bound = (
			cores * median[1]["cpu_machine_busy"] / median[8]["cpu_machine_busy"] / median[1]["cores_busy"]
		)
		print(
			f"  the most {cores} cores allow for {what}, from the CPU a request at 1 and at 8 clients: "
			f"{bound:.2f} x"
		)
	frappe.destroy()


if __name__ == "__main__":
	main()
