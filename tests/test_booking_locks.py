"""Bookings that do not compete never wait for each other (over the live server).

A booking takes the row of just the host it books: a host whose row another transaction holds (a
desk save, a slow job, another booking) is passed over for the next free host; only a booking that
just that host can take waits for it, and then wins or gets the 409. The holder here is a transaction
of the test's own, on a connection of its own, holding a host's row as any save does.
"""

import threading
import time
from datetime import datetime

import frappe
import pytest

from crm_appointments.booking import rules
from crm_appointments.core import frappe_adapter
from crm_appointments.core.random_ids import random_part
from harness.clients import at_once
from harness.site_data import make_desk_user
from tests import factories, test_api_bookings
from tests.factories import USERS
from tests.test_api_bookings import berlin, book, error, site_time

base = test_api_bookings.base  # the fixtures
open_booking = test_api_bookings.open_booking

pytestmark = pytest.mark.slow

THIRD_HOST = "crm-test-lock-host@example.com"
HOURS = [(d, "09:00", "12:00") for d in range(7)]


@pytest.fixture
def hosts(open_booking):
	"""Three hosts free 09:00-12:00 Berlin every day: the test user (open_booking's), the manager and
	one more."""
	make_desk_user(THIRD_HOST, "Lock host", "CRM Appointment User")
	factories.host("manager", hours=HOURS, time_zone="Europe/Berlin")
	factories.host(THIRD_HOST, hours=HOURS, time_zone="Europe/Berlin")
	frappe.db.commit()
	yield [USERS["user"], USERS["manager"], THIRD_HOST]
	frappe.db.rollback()
	frappe.db.delete("CRM Appointment", {"host": THIRD_HOST})
	frappe.db.delete("CRM Appointment Host Hours", {"parent": THIRD_HOST})
	frappe.db.delete("CRM Appointment Host", {"name": THIRD_HOST})
	frappe.delete_doc("User", THIRD_HOST, ignore_permissions=True, force=True)
	frappe.db.commit()


class HeldHost:
	"""An open transaction, on a connection of its own, that holds a host's row for update (as a save
	of one of their appointments does) until `release` or `commit`."""

	def __init__(self, host: str):
		self.db = frappe_adapter.new_database_connection(frappe.local.conf)
		self.db.sql("select name from `tabCRM Appointment Host` where name = %s for update", host)
		self.host = host

	def book(self, start_iso: str):
		"""Give the host, in this transaction, a live appointment at `start_iso` (an hour)."""
		name = "appointment_" + random_part(16)
		now = frappe.utils.now_datetime()
		self.db.sql(
			"""insert into `tabCRM Appointment` (name, creation, modified, owner, modified_by, docstatus,
			host, scheduled_time, duration, status, customer_name, customer_email)
			values (%s, %s, %s, 'Administrator', 'Administrator', 0, %s, %s, 60, 'Scheduled',
			'Held', 'held@example.org')""",
			(name, now, now, self.host, site_time(start_iso)),
		)
		return name

	def release(self):
		self.db.rollback()
		self.db.close()

	def commit(self):
		self.db.commit()
		self.db.close()


def in_background(work):
	"""Run work() in a thread; a function that waits for it and gives its result."""
	result = {}
	thread = threading.Thread(target=lambda: result.update(value=work()), daemon=True)
	thread.start()

	def wait(timeout=60):
		thread.join(timeout)
		assert not thread.is_alive(), "still waiting"
		return result["value"]

	wait.thread = thread
	return wait


def first_choice(hosts, start_iso: str) -> str:
	"""The host a booking at `start_iso` would try first."""
	frappe.db.rollback()
	return rules.by_preference(hosts, datetime.fromisoformat(start_iso.replace("Z", "+00:00")))[0]


def test_a_booking_another_free_host_can_take_does_not_wait_for_the_held_one(hosts, base):
	# Each worker's first booking imports much of Frappe (about a second): bookings at other starts,
	# made at once so both workers take one, come first, and the timed one measures waiting only.
	warm = at_once(4, lambda i: book(base, start=berlin(13 + i, 9), customer_email=f"warm{i}@example.org"))
	assert [w.status_code for w in warm] == [200] * 4, [w.text[:200] for w in warm]
	start = berlin(8, 9)
	held = HeldHost(first_choice(hosts, start))
	try:
		began = time.monotonic()
		response = book(base, start=start, customer_email="not-waiting@example.org")
		took = time.monotonic() - began
	finally:
		held.release()

	assert response.status_code == 200, response.text
	assert took < 1, took
	frappe.db.rollback()
	booked_host = frappe.db.get_value("CRM Appointment", response.json()["id"], "host")
	assert booked_host in hosts and booked_host != held.host


def test_a_booking_only_the_held_host_can_take_waits_for_it_then_wins(open_booking, base):
	start = berlin(8, 10)
	held = HeldHost(USERS["user"])
	try:
		began = time.monotonic()
		answer = in_background(lambda: book(base, start=start, customer_email="waiter@example.org"))
		time.sleep(1.5)
		assert answer.thread.is_alive(), "the booking did not wait for the host's row"
	finally:
		held.release()
	response = answer()

	assert response.status_code == 200, response.text
	assert time.monotonic() - began >= 1.5
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", response.json()["id"], "host") == USERS["user"]


def test_a_booking_only_the_held_host_can_take_gets_the_409_when_the_holder_takes_the_time(
	open_booking, base
):
	start = berlin(8, 11)
	held = HeldHost(USERS["user"])
	name = None
	try:
		name = held.book(start)
		answer = in_background(lambda: book(base, start=start, customer_email="too-late@example.org"))
		time.sleep(1)
		assert answer.thread.is_alive(), "the booking did not wait for the host's row"
		held.commit()
		response = answer()

		assert response.status_code == 409, response.text
		assert error(response)["param"] == "start"
		frappe.db.rollback()
		assert not frappe.db.exists("CRM Appointment", {"customer_email": "too-late@example.org"})
	finally:
		frappe.db.rollback()
		if name:
			frappe.db.delete("CRM Appointment", name)
			frappe.db.commit()


@pytest.mark.parametrize("round", range(2))
def test_twenty_guests_racing_for_one_slot_of_three_free_hosts_get_three_bookings_one_per_host(
	hosts, base, round
):
	start = berlin(9 + round, 10)

	answers = at_once(20, lambda i: book(base, start=start, customer_email=f"trio{i}@example.org"))

	statuses = sorted(a.status_code for a in answers)
	assert statuses == [200] * 3 + [409] * 17, [a.text[:200] for a in answers if a.status_code != 409]
	frappe.db.rollback()
	booked = frappe.get_all(
		"CRM Appointment", filters={"customer_email": ("like", "trio%@example.org")}, pluck="host"
	)
	assert sorted(booked) == sorted(hosts)


def test_a_write_that_a_deadlock_ends_is_started_again_not_answered_503(site):
	"""InnoDB ends one of two transactions that wait for each other (a deadlock) by rolling it back;
	Frappe raises that as a QueryDeadlockError. take_a_host starts the write again, as MariaDB's
	manual advises, and the booking is made. The deadlock here is a real one, on a scratch table,
	with a transaction of the test's own."""
	table = f"crm_test_deadlock_{random_part(8).lower()}"
	frappe.db.sql_ddl(f"create table `{table}` (id int primary key, v int) engine=InnoDB")
	other = frappe_adapter.new_database_connection(frappe.local.conf)
	try:
		frappe.db.sql(f"insert into `{table}` values " + ", ".join(f"({i}, 0)" for i in range(1, 21)))
		frappe.db.commit()
		tries, deadlocks, waiter = [], [], []
		site, sites_path = frappe.local.site, frappe.local.sites_path

		def wait_for_row_1():
			frappe.init(site=site, sites_path=sites_path)  # a thread of its own: its own frappe.local
			try:
				other.sql(f"select id from `{table}` where id = 1 for update")
			finally:
				frappe.destroy()

		def write(host):
			tries.append(host)
			if len(tries) == 1:
				frappe.db.sql(f"select id from `{table}` where id = 1 for update")
				# The other transaction changes 19 rows, then waits for ours...
				other.sql(f"update `{table}` set v = v + 1 where id >= 2")
				waiter.append(threading.Thread(target=wait_for_row_1))
				waiter[0].start()
				time.sleep(0.5)
				try:
					# ...and ours waits for it: InnoDB rolls back the one with less to undo, ours.
					frappe.db.sql(f"select id from `{table}` where id = 2 for update")
				except Exception as error:
					deadlocks.append(error)
					raise
			return f"written for {host}"

		assert rules.take_a_host(lambda: ["a host"], write, skip_held=False) == "written for a host"
		assert tries == ["a host", "a host"]
		assert len(deadlocks) == 1 and isinstance(deadlocks[0], frappe.QueryDeadlockError)
		waiter[0].join(timeout=10)
		assert not waiter[0].is_alive()  # the other transaction got the row once ours was rolled back
	finally:
		frappe.db.rollback()  # lets the other transaction's wait end, should ours still hold the row
		for thread in waiter:
			thread.join(timeout=10)
		other.rollback()
		other.close()
		frappe.db.sql_ddl(f"drop table if exists `{table}`")
