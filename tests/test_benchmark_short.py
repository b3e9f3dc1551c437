"""The scale benchmark's short form, so CI runs the same code as the long run the README reports
(`bash scripts/benchmark.sh --scale`): a few thousand rows, a few requests per query."""

import os
import subprocess
import sys

import frappe
import pytest

pytestmark = pytest.mark.slow


def run_benchmark(script: str, *arguments: str) -> str:
	"""Run benchmarks/<script> with the arguments; it must succeed. Its output."""
	result = subprocess.run(
		[sys.executable, f"benchmarks/{script}", *arguments],
		cwd=os.path.dirname(os.path.dirname(__file__)),
		capture_output=True,
		text=True,
		timeout=600,
	)
	assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
	return result.stdout


def assert_prints(output: str, *lines: str):
	for line in lines:
		assert line in output, output


def test_the_scale_benchmark_runs_and_cleans_up(site):
	before = frappe.db.count("CRM Appointment")
	output = run_benchmark(
		"scale_benchmark.py",
		"--rows",
		"12000",
		"--requests",
		"8",
		"--concurrency",
		"2",
		"--memory-requests",
		"100",
	)
	assert_prints(
		output,
		"seeded at",
		"first page (with total)",
		"first page, total recounted",
		"counted total (customer_email)",
		"list right after a create (1 client)",
		"mix 10 lists : 1 create",
		"page at offset 10,000",
		"cursor page at 10,000",
		"GET one",
		"create",
		"PATCH / PUT one",
		"worker RSS",
	)
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment") == before
	assert not frappe.db.exists("CRM Appointment", {"customer_email": ("like", "%@scale.invalid")})


def test_the_host_benchmark_runs_and_cleans_up(site):
	"""`bash scripts/benchmark.sh --hosts` in short: the slots route and the overlap rule's cost."""
	before = frappe.db.count("CRM Appointment")
	settings_before = frappe.db.get_value(
		"CRM Appointment Settings", None, ["booking_horizon", "slot_interval", "minimum_notice"]
	)
	output = run_benchmark(
		"host_benchmark.py",
		"--appointments",
		"200",
		"--requests",
		"10",
		"--rows",
		"12000",
		"--saves",
		"6",
		"--caldav-meetings",
		"5",
	)
	assert_prints(
		output,
		"GET /api/crm/slots, 5 hosts x 31 days",
		"GET /api/crm/slots, one host x 31 days",
		"in process: availability.slots()",
		"key host_scheduled_time_index",
		"key PRIMARY",
		"insert, with a host",
		"reschedule (save with a new time), with a host",
		"the overlap rule inside those saves",
		"GET /api/crm/slots, CalDAV, 5 hosts x 31 days, warm",
		"a booking's fresh re-read of its host's calendar",
	)
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment") == before
	assert not frappe.db.exists("CRM Appointment Host", {"name": ("like", "bench-host-%")})
	assert not frappe.db.exists("User", {"name": ("like", "bench-host-%")})
	assert (
		frappe.db.get_value(
			"CRM Appointment Settings", None, ["booking_horizon", "slot_interval", "minimum_notice"]
		)
		== settings_before
	)


def test_the_feed_benchmark_runs_and_cleans_up(site):
	"""`bash scripts/benchmark.sh --feed` in short."""
	before = frappe.db.count("CRM Appointment")
	output = run_benchmark(
		"calendar_feed_benchmark.py",
		"--appointments",
		"20",
		"--requests",
		"5",
		"--changes",
		"2",
		"--cold",
		"1",
	)
	assert_prints(
		output, "feed: GET ", "If-None-Match (304)", "feed: HEAD", "after 1 change", "nothing kept", "target"
	)
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment") == before
	assert not frappe.db.exists("CRM Appointment Host", "crm-feed-benchmark@example.org")
