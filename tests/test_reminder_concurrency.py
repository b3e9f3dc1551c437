"""Two reminder jobs at the same moment, in two processes with their own database connections,
queue one email per reminder; and a real `bench worker` with the scheduler's tick queues it too."""

import os
import subprocess
import sys
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
from crm_appointments.notify.reminders import send_due_reminders
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
