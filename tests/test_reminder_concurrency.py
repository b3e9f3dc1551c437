"""Two reminder jobs at the same moment, in two processes with their own database connections,
queue one email per reminder; and a real `bench worker` with the scheduler's tick queues it too."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import frappe
import pytest
from frappe.utils import now_datetime

from tests.factories import commit, make

pytestmark = pytest.mark.slow

RUN_JOB = """
import os, sys, time
os.chdir(os.environ["CRM_SITES_PATH"])
import frappe
frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=os.environ["CRM_SITES_PATH"])
frappe.connect()
from crm_appointments.reminders import send_due_reminders
go = float(sys.argv[1])
while time.time() < go:
	time.sleep(0.001)
print(send_due_reminders(now=sys.argv[2]))
frappe.db.commit()
"""


def test_two_jobs_at_once_queue_each_reminder_once(committed):
	start = (now_datetime() + timedelta(days=3)).replace(microsecond=0)
	docs = commit(
		[
			make(status="scheduled", scheduled_time=start, customer_email=f"race{i}@example.org")
			for i in range(20)
		]
	)
	at = str(start - timedelta(hours=23))
	go = time.time() + 3
	env = {**os.environ}
	jobs = [
		subprocess.Popen(
			[sys.executable, "-c", RUN_JOB, str(go), at], env=env, stdout=subprocess.PIPE, text=True
		)
		for _ in range(2)
	]
	counts = [int(job.communicate(timeout=300)[0].strip().splitlines()[-1]) for job in jobs]
	frappe.db.rollback()
	assert sum(counts) == 20
	for doc in docs:
		emails = frappe.get_all(
			"Email Queue", filters={"reference_doctype": "CRM Appointment", "reference_name": doc.name}
		)
		assert len(emails) == 1, doc.customer_email


def test_a_bench_worker_and_the_scheduler_tick_queue_a_due_reminder(committed):
	from frappe.utils.scheduler import enqueue_events_for_site

	doc = commit(make(status="scheduled", scheduled_time=now_datetime() + timedelta(minutes=30)))
	job_type = frappe.get_doc(
		"Scheduled Job Type", {"method": "crm_appointments.reminders.send_due_reminders"}
	)
	last_execution = job_type.last_execution
	frappe.db.set_value(
		"Scheduled Job Type", job_type.name, "last_execution", now_datetime() - timedelta(hours=1)
	)
	was_enabled = frappe.db.get_single_value("System Settings", "enable_scheduler")
	frappe.db.set_single_value("System Settings", "enable_scheduler", 1)
	# The scheduler skips dormant sites: someone logged in just now.
	activity = frappe.get_doc(
		{
			"doctype": "Activity Log",
			"subject": "pytest login",
			"operation": "Login",
			"status": "Success",
			"user": "Administrator",
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	worker = subprocess.Popen(
		["bench", "worker", "--queue", "default,short,long"],
		cwd=os.environ["FRAPPE_BENCH"],
		stdout=subprocess.DEVNULL,
		stderr=subprocess.DEVNULL,
	)
	try:
		# The scheduler's tick for this site (in a thread: it sets up and tears down its own frappe.local).
		tick = threading.Thread(target=enqueue_events_for_site, args=(frappe.local.site,))
		tick.start()
		tick.join()
		deadline = time.monotonic() + 120
		while time.monotonic() < deadline:
			frappe.db.rollback()
			if frappe.db.exists(
				"Email Queue", {"reference_doctype": "CRM Appointment", "reference_name": doc.name}
			):
				break
			time.sleep(1)
		assert frappe.db.exists(
			"Email Queue", {"reference_doctype": "CRM Appointment", "reference_name": doc.name}
		)
		states = frappe.get_all(
			"CRM Appointment Reminder", filters={"appointment": doc.name}, fields=["minutes_before", "state"]
		)
		# Half an hour ahead: the day-before reminder is past, so only the hour-before one is sent.
		assert {r.minutes_before: r.state for r in states} == {1440: "Skipped", 60: "Queued"}
	finally:
		worker.terminate()
		worker.wait(timeout=30)
		frappe.db.set_single_value("System Settings", "enable_scheduler", was_enabled or 0)
		frappe.db.set_value("Scheduled Job Type", job_type.name, "last_execution", last_execution)
		frappe.db.delete("Activity Log", {"name": activity.name})
		frappe.db.commit()
