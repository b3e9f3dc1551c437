"""The webhook benchmark's short form, so CI runs the same code as the run docs/webhooks.md reports
(`bash scripts/benchmark.sh --webhooks`): a few creates each way, a few events for one worker."""

import frappe
import pytest

from tests.test_benchmark_short import assert_prints, run_benchmark

pytestmark = pytest.mark.slow


def test_the_webhook_benchmark_runs_and_cleans_up(site):
	before = frappe.db.count("CRM Appointment")
	output = run_benchmark("webhook_benchmark.py", "--creates", "50", "--events", "40")
	assert_prints(
		output,
		"create, no webhook:",
		"create, one webhook:",
		"raising events adds:",
		"one worker delivered:     40 of 40 events",
	)
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment") == before
	assert not frappe.db.count("CRM Appointment Webhook")
	assert not frappe.db.count("CRM Appointment Webhook Delivery")
	assert not frappe.db.exists("User", "owner@bench-webhooks.example.org")
