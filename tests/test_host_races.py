"""Races for one host's time against the live server (gunicorn, two workers) and through the ORM:
of many saves that want the same hour of one host exactly one wins, the others are refused with a
409 on scheduled_time, and none is a deadlock (500/503). See host_calendars.lock_hosts and
CRM Appointment's validate_host_is_free for the lock design these hold to.

Each client is a thread with its own HTTP connection (or its own Frappe connection); a barrier
releases them together.
"""

import json
import os
import threading
from datetime import UTC, datetime, timedelta

import frappe
import pytest
import requests

from crm_appointments.core.exceptions import DoubleBookingError
from crm_appointments.scheduling import host_calendars
from harness.site_data import make_desk_user
from tests import factories
from tests.factories import USERS
from tests.test_concurrency import at_once

pytestmark = pytest.mark.slow

CLIENTS = 20
HOST = USERS["user"]
# Hosts of their own for the race between different hosts: users with the CRM role.
OTHER_HOSTS = [f"crm-race-host-{i}@example.com" for i in range(6)]


@pytest.fixture
def host(committed):
	doc = factories.host("user")  # every day, all day
	frappe.db.commit()
	return doc.name


def free_hour(days: int) -> datetime:
	"""A whole hour `days` ahead, aware UTC."""
	return (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def iso(moment: datetime) -> str:
	return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live_appointments(host: str) -> list:
	frappe.db.rollback()  # a fresh snapshot: what the server committed
	return frappe.get_all(
		"CRM Appointment",
		filters={"host": host, "status": ("in", host_calendars.LIVE_LABELS)},
		fields=["name", "scheduled_time", "duration"],
	)


def assert_one_winner(answers):
	statuses = [a.status_code for a in answers]
	assert statuses.count(200) == 1, [a.text[:300] for a in answers if a.status_code != 409]
	assert statuses.count(409) == len(answers) - 1, [a.text[:300] for a in answers if a.status_code != 200]
	for answer in answers:
		if answer.status_code == 409:
			error = answer.json()["error"]
			assert (error["type"], error["param"]) == ("conflict_error", "scheduled_time"), error
	return answers[statuses.index(200)].json()


def make_scheduled(host: str, at: datetime, **fields):
	"""A committed scheduled appointment of the host at `at` (aware UTC), 60 minutes long."""
	doc = factories.make(
		status="Scheduled", host=host, duration=60, scheduled_time=host_calendars.to_site(at), **fields
	)
	frappe.db.commit()
	return doc


@pytest.mark.parametrize("round", range(2))
def test_twenty_posts_for_one_hosts_hour_have_exactly_one_winner(client, host, round):
	session, base = client
	hour = free_hour(days=3 + round)

	def post(i):
		body = factories.api_body(
			customer_email=f"racer{i}@example.com",
			scheduled_time=iso(hour),
			status="scheduled",
			duration=60,
			host=host,
		)
		return session().post(base, json=body, timeout=60)

	winner = assert_one_winner(at_once(CLIENTS, post))

	booked = live_appointments(host)
	assert [b.name for b in booked] == [winner["id"]]
	assert host_calendars.as_utc(booked[0].scheduled_time) == hour


def test_twenty_patches_moving_one_hosts_appointments_into_one_hour_have_exactly_one_winner(client, host):
	"""Twenty appointments of one host at free times that do not touch each other (two hours apart,
	over two days); each client moves a different one into the same free hour."""
	session, base = client
	first = free_hour(days=2)
	docs = [
		make_scheduled(host, first + timedelta(hours=2 * i), customer_email=f"m{i}@example.com")
		for i in range(CLIENTS)
	]
	target = free_hour(days=5)

	answers = at_once(
		CLIENTS,
		lambda i: session().patch(f"{base}/{docs[i].name}", json={"scheduled_time": iso(target)}, timeout=60),
	)

	winner = assert_one_winner(answers)
	booked = {b.name: host_calendars.as_utc(b.scheduled_time) for b in live_appointments(host)}
	assert len(booked) == CLIENTS  # nobody lost an appointment
	assert [name for name, at in booked.items() if at == target] == [winner["id"]]
	# The losers kept their own times.
	for i, doc in enumerate(docs):
		if doc.name != winner["id"]:
			assert booked[doc.name] == first + timedelta(hours=2 * i)


@pytest.fixture
def other_hosts(committed):
	"""Six more hosts, with no appointments yet (new hosts are next to each other in the
	(host, scheduled_time) index, with nothing between them)."""
	for email in OTHER_HOSTS:
		make_desk_user(email, "Race host", "CRM Appointment User")
		factories.host(email)
	frappe.db.commit()
	yield OTHER_HOSTS
	frappe.db.rollback()
	for email in OTHER_HOSTS:
		frappe.db.delete("CRM Appointment Host Hours", {"parent": email})
		frappe.db.delete("CRM Appointment Host", {"name": email})
		frappe.delete_doc("User", email, ignore_permissions=True, force=True)
	frappe.db.commit()


@pytest.mark.parametrize("round", range(3))
def test_first_bookings_of_different_hosts_at_once_all_succeed(client, other_hosts, round):
	"""Saves for different hosts do not wait for each other's host, and never deadlock: every
	client books a different host (none of whom has any appointment yet) at the same hour."""
	session, base = client
	hour = free_hour(days=3)

	def post(i):
		body = factories.api_body(
			customer_email=f"first{i}@example.com",
			scheduled_time=iso(hour + timedelta(minutes=round)),
			status="scheduled",
			host=other_hosts[i % len(other_hosts)],
		)
		return session().post(base, json=body, timeout=60)

	answers = at_once(len(other_hosts), post)
	assert [a.status_code for a in answers] == [200] * len(other_hosts), [a.text[:300] for a in answers]
	for email in other_hosts:
		assert len(live_appointments(email)) == 1


def test_bookings_of_different_hosts_and_hostless_creates_at_once_all_succeed(client, other_hosts):
	"""Mixed: each host gets bookings at different hours while appointments without a host are made,
	all at once; nothing is refused and nothing deadlocks."""
	session, base = client
	hour = free_hour(days=4)

	def post(i):
		host = other_hosts[i % len(other_hosts)] if i % 4 else None
		body = factories.api_body(
			customer_email=f"mixed{i}@example.com",
			scheduled_time=iso(hour + timedelta(hours=i)),
			status="scheduled",
			duration=30,
			host=host,
		)
		return session().post(base, json=body, timeout=60)

	answers = at_once(CLIENTS, post)
	assert [a.status_code for a in answers] == [200] * CLIENTS, [a.text[:300] for a in answers]


@pytest.mark.parametrize("round", range(3))
def test_two_patches_swapping_two_appointments_hosts_at_once_both_succeed(client, other_hosts, round):
	"""Two appointments, each given the other's host at once (each at its own time, so no rule refuses
	either). A PATCH takes the rows of the host it has and the one it gets, in one order, before the
	appointment's; taking the new host's row after the appointment's, each would wait for the other
	(a deadlock's 503)."""
	session, base = client
	hosts = other_hosts[:2]
	docs = [
		make_scheduled(host, free_hour(days=9 + round) + timedelta(hours=i)) for i, host in enumerate(hosts)
	]
	given = hosts[::-1]

	answers = at_once(
		2, lambda i: session().patch(f"{base}/{docs[i].name}", json={"host": given[i]}, timeout=60)
	)

	assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
	frappe.db.rollback()
	assert [frappe.db.get_value("CRM Appointment", doc.name, "host") for doc in docs] == given


@pytest.mark.parametrize("round", range(2))
def test_patches_giving_one_appointment_different_hosts_at_once_never_deadlock(
	client, host, other_hosts, round
):
	"""Clients each give one appointment another host at once: every answer is a 200 or a 409 (it
	changed meanwhile), never a deadlock's 503, and the appointment ends with a host a 200 asked for."""
	session, base = client
	doc = make_scheduled(host, free_hour(days=8) + timedelta(hours=round))
	targets = [host, *other_hosts] * 2

	answers = at_once(
		len(targets),
		lambda i: session().patch(f"{base}/{doc.name}", json={"host": targets[i]}, timeout=60),
	)

	statuses = [a.status_code for a in answers]
	assert set(statuses) <= {200, 409}, [a.text[:300] for a in answers if a.status_code not in (200, 409)]
	assert 200 in statuses
	frappe.db.rollback()
	final = frappe.db.get_value("CRM Appointment", doc.name, "host")
	assert final in {targets[i] for i, status in enumerate(statuses) if status == 200}


# -- the desk's and the ORM's way in -------------------------------------------------------------


@pytest.mark.parametrize("round", range(3))
def test_two_desk_saves_racing_for_one_hosts_hour_cannot_both_pass(api, live_server, host, round):
	"""The desk saves through frappe.desk.form.save.savedocs: two appointments of the host, each
	moved into the same hour by its own form, at once."""
	token = factories.frappe_token("manager")
	target = free_hour(days=6 + round)
	docs = [make_scheduled(host, free_hour(days=2) + timedelta(hours=3 * i)) for i in range(2)]
	forms = []
	for doc in docs:
		form = frappe.get_doc("CRM Appointment", doc.name).as_dict()
		form["scheduled_time"] = str(host_calendars.to_site(target))
		forms.append(json.dumps(form, default=str))

	def save(i):
		return requests.post(
			f"{live_server}/api/method/frappe.desk.form.save.savedocs",
			headers={"Authorization": token},
			data={"doc": forms[i], "action": "Save"},
			timeout=60,
		)

	answers = at_once(2, save)
	statuses = sorted(a.status_code for a in answers)
	assert statuses == [200, 409], [a.text[:500] for a in answers]
	loser = answers[[a.status_code for a in answers].index(409)].json()
	assert loser["exc_type"] == "DoubleBookingError"
	at_target = [b for b in live_appointments(host) if host_calendars.as_utc(b.scheduled_time) == target]
	assert len(at_target) == 1


def test_orm_inserts_in_threads_racing_for_one_hosts_hour_cannot_both_pass(host):
	"""Data Import and scripts insert through the ORM: each thread its own Frappe connection."""
	hour = free_hour(days=7)
	outcomes = [None] * 4
	barrier = threading.Barrier(len(outcomes))

	def insert(i):
		frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=os.environ["CRM_SITES_PATH"])
		frappe.connect()
		try:
			frappe.set_user("Administrator")
			doc = factories.appointment(
				status="Scheduled",
				host=host,
				duration=60,
				scheduled_time=host_calendars.to_site(hour),
				customer_email=f"orm{i}@example.com",
			)
			# A snapshot taken before the race (as a longer import has): it cannot see the winner.
			assert not frappe.db.exists("CRM Appointment", {"host": host})
			barrier.wait()
			try:
				doc.insert()
				frappe.db.commit()
				outcomes[i] = "saved"
			except DoubleBookingError:
				frappe.db.rollback()
				outcomes[i] = "refused"
			except Exception as exc:
				frappe.db.rollback()
				outcomes[i] = repr(exc)
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=insert, args=(i,)) for i in range(len(outcomes))]
	for t in threads:
		t.start()
	for t in threads:
		t.join(120)
	assert sorted(outcomes) == ["refused"] * 3 + ["saved"], outcomes
	assert len(live_appointments(host)) == 1
