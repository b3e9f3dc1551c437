"""The reminder job at scale (1,000 due among 10,000 and among 100,000 appointments).

    bash scripts/benchmark.sh --reminders

Seeds 100,000 appointments (bulk inserts) of which 1,000 have a reminder due, runs the job once
(time and query count printed), then runs it again with nothing due, at 10,000 and at 100,000 rows,
to show that an idle run costs the same whatever the table size. Everything it made is removed.
"""

import os
import time
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from harness import site_data

SITE = os.environ["CRM_TEST_SITE"]
SITES_PATH = os.environ["CRM_SITES_PATH"]
MARK = "bench-reminders.example.org"


def seed(count: int, due: int, now):
	"""`count` appointments spread over the next year, `due` of them starting within the next hour."""
	fields = [
		"name",
		"creation",
		"modified",
		"owner",
		"modified_by",
		"customer_name",
		"customer_email",
		"scheduled_time",
		"status",
		"duration",
		"calendar_sequence",
	]
	rows = []
	for i in range(count):
		start = (
			now + timedelta(minutes=30) if i < due else now + timedelta(days=2 + (i % 360), minutes=i % 1440)
		)
		rows.append(
			(
				f"appointment_bench{i:010d}",
				now,
				now,
				"Administrator",
				"Administrator",
				f"Bench {i}",
				f"b{i}@{MARK}",
				start,
				"Scheduled",
				30,
				0,
			)
		)
	started = time.perf_counter()
	frappe.db.bulk_insert("CRM Appointment", fields, rows, chunk_size=5000)
	frappe.db.commit()
	return len(rows) / (time.perf_counter() - started)


def run_job(now):
	from crm_appointments.notify.reminders import send_due_reminders

	queries = count_queries()
	started = time.perf_counter()
	sent = send_due_reminders(now=now)
	elapsed = (time.perf_counter() - started) * 1000
	return sent, elapsed, count_queries() - queries


def count_queries() -> int:
	return int(frappe.db.sql("show session status like 'Questions'")[0][1])


def idle_run(now, repeat=20) -> float:
	from crm_appointments.notify.reminders import send_due_reminders

	times = []
	for _ in range(repeat):
		started = time.perf_counter()
		send_due_reminders(now=now)
		times.append((time.perf_counter() - started) * 1000)
	return sorted(times)[len(times) // 2]


def cleanup():
	frappe.db.rollback()
	frappe.db.sql("delete from `tabCRM Appointment Reminder` where appointment like 'appointment_bench%%'")
	frappe.db.sql(
		"delete from `tabEmail Queue Recipient` where parent in (select name from `tabEmail Queue` where reference_name like 'appointment_bench%%')"
	)
	frappe.db.sql("delete from `tabEmail Queue` where reference_name like 'appointment_bench%%'")
	frappe.db.sql("delete from `tabCommunication` where reference_name like 'appointment_bench%%'")
	frappe.db.sql("delete from `tabCRM Appointment` where name like 'appointment_bench%%'")
	frappe.db.commit()


def main():
	site_data.connect(SITE, SITES_PATH, "Administrator")
	from harness.site_data import delete_outbox, make_outbox

	make_outbox()
	frappe.db.commit()
	now = now_datetime()
	try:
		results = {}
		for size in (10_000, 100_000):
			cleanup()
			rate = seed(size, 1_000, now)
			sent, elapsed, queries = run_job(now)
			# Idle: nothing due, and the same 1,000 appointments already reminded inside the window.
			results[size] = (rate, sent, elapsed, queries, idle_run(now))
		for size, (rate, sent, elapsed, queries, idle) in results.items():
			print(f"{size:,} rows (seeded at {rate:,.0f} rows/s):")
			print(
				f"  due run:  {sent} reminders queued in {elapsed:,.0f} ms ({elapsed / max(sent, 1):.1f} ms and {queries / max(sent, 1):.1f} queries each; {queries:,} queries)"
			)
			print(f"  idle run: median {idle:.2f} ms (target < 50 ms)")
		print(f"idle run at 100,000 / at 10,000 rows: {results[100_000][4] / results[10_000][4]:.2f}")
	finally:
		cleanup()
		delete_outbox()
		frappe.db.commit()
		frappe.destroy()


if __name__ == "__main__":
	main()
