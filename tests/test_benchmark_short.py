"""The scale benchmark's short form, so CI runs the same code as the long run the README reports
(`bash scripts/benchmark.sh --scale`): a few thousand rows, a few requests per query."""

import os
import subprocess
import sys

import frappe
import pytest

pytestmark = pytest.mark.slow


def test_the_scale_benchmark_runs_and_cleans_up(site):
	before = frappe.db.count("CRM Appointment")
	result = subprocess.run(
		[
			sys.executable,
			"benchmarks/scale_benchmark.py",
			"--rows",
			"12000",
			"--requests",
			"8",
			"--concurrency",
			"2",
			"--memory-requests",
			"100",
		],
		cwd=os.path.dirname(os.path.dirname(__file__)),
		capture_output=True,
		text=True,
		timeout=600,
	)
	assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
	for line in (
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
	):
		assert line in result.stdout, result.stdout
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment") == before
	assert not frappe.db.exists("CRM Appointment", {"customer_email": ("like", "%@scale.invalid")})


def test_the_host_benchmark_runs_and_cleans_up(site):
	"""`bash scripts/benchmark.sh --hosts` in short: the slots route and the overlap rule's cost."""
	before = frappe.db.count("CRM Appointment")
	settings_before = frappe.db.get_value(
		"CRM Appointment Settings", None, ["booking_horizon", "slot_interval", "minimum_notice"]
	)
	result = subprocess.run(
		[
			sys.executable,
			"benchmarks/host_benchmark.py",
			"--appointments",
			"200",
			"--requests",
			"10",
			"--rows",
			"12000",
			"--saves",
			"6",
		],
		cwd=os.path.dirname(os.path.dirname(__file__)),
		capture_output=True,
		text=True,
		timeout=600,
	)
	assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
	for line in (
		"GET /api/crm/slots, 5 hosts x 31 days",
		"GET /api/crm/slots, one host x 31 days",
		"in process: availability.slots()",
		"key host_scheduled_time_index",
		"key PRIMARY",
		"insert, with a host",
		"reschedule (save with a new time), with a host",
		"the overlap rule inside those saves",
	):
		assert line in result.stdout, result.stdout
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
