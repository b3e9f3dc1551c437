"""Many clients at once against the live server (gunicorn, two workers): no update is lost, a
conflict has exactly one winner, and no race ever answers 500.

Each client is a thread with its own HTTP connection; a barrier releases them together.
"""

import os
import threading

import frappe
import pytest

from harness.clients import at_once
from tests import factories

pytestmark = pytest.mark.slow

CLIENTS = 20


def test_twenty_clients_appending_with_if_match_lose_no_update(client):
	"""Each client appends its mark to the notes: read, then PATCH with If-Match, again on 412.
	Every mark must be there exactly once at the end: nobody overwrote anybody."""
	session, base = client
	doc = factories.commit(factories.make(customer_details=""))
	url = f"{base}/{doc.name}"
	seen = []

	def append_mark(i):
		http = session()
		mark = f"[{i}]"
		for _attempt in range(200):
			current = http.get(url, timeout=30)
			assert current.status_code == 200
			body = {"customer_details": (current.json()["customer_details"] or "") + mark}
			answer = http.patch(url, json=body, headers={"If-Match": current.headers["ETag"]}, timeout=30)
			seen.append(answer.status_code)
			if answer.status_code == 200:
				return
			assert answer.status_code == 412, answer.text
		raise AssertionError(f"client {i} never got its turn")

	at_once(CLIENTS, append_mark)

	frappe.db.rollback()
	notes = frappe.db.get_value("CRM Appointment", doc.name, "customer_details")
	assert sorted(notes.replace("]", "] ").split()) == sorted(f"[{i}]" for i in range(CLIENTS))
	assert set(seen) <= {200, 412}
	assert seen.count(200) == CLIENTS


def test_twenty_patches_without_if_match_all_answer_and_the_last_write_is_whole(client):
	session, base = client
	doc = factories.commit(factories.make())
	url = f"{base}/{doc.name}"

	def patch(i):
		body = {"customer_name": f"Writer {i}", "customer_skype": f"writer.{i}"}
		return session().patch(url, json=body, timeout=30)

	answers = at_once(CLIENTS, patch)
	assert [a.status_code for a in answers] == [200] * CLIENTS
	frappe.db.rollback()
	name, skype = frappe.db.get_value("CRM Appointment", doc.name, ["customer_name", "customer_skype"])
	# One writer's whole change, never a mix of two.
	assert skype == "writer." + name.removeprefix("Writer ")


@pytest.mark.parametrize("round", range(5))
def test_two_conflicting_status_moves_at_once_have_exactly_one_winner(client, round):
	session, base = client
	doc = factories.commit(factories.make(status="scheduled"))
	factories.let_time_pass(doc)
	frappe.db.commit()
	url = f"{base}/{doc.name}"
	targets = ["completed", "no_show"]

	answers = at_once(2, lambda i: session().patch(url, json={"status": targets[i]}, timeout=30))

	statuses = [a.status_code for a in answers]
	assert sorted(statuses) == [200, 409], [a.text for a in answers]
	winner = targets[statuses.index(200)]
	loser = answers[statuses.index(409)].json()["error"]
	assert loser["type"] == "conflict_error"
	frappe.db.rollback()
	assert (
		frappe.db.get_value("CRM Appointment", doc.name, "status")
		== {
			"completed": "Completed",
			"no_show": "No Show",
		}[winner]
	)


def test_concurrent_posts_with_one_idempotency_key_make_one_appointment(client):
	session, base = client
	body = factories.api_body(
		customer_name="Once Only", customer_email="once.only@example.com", status="scheduled"
	)

	def post(i):
		return session().post(base, json=body, headers={"Idempotency-Key": "live-race-1"}, timeout=30)

	answers = at_once(10, post)
	assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
	ids = {a.json()["id"] for a in answers if a.status_code == 200}
	assert len(ids) == 1
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment", {"customer_email": "once.only@example.com"}) == 1


def test_concurrent_deletes_one_succeeds_the_rest_are_404(client):
	session, base = client
	doc = factories.commit(factories.make(status="scheduled"))
	url = f"{base}/{doc.name}"

	answers = at_once(10, lambda i: session().delete(url, timeout=30))

	statuses = sorted(a.status_code for a in answers)
	assert statuses == [200] + [404] * 9, [a.text for a in answers]
	frappe.db.rollback()
	assert not frappe.db.exists("CRM Appointment", doc.name)
	assert not frappe.db.exists("Event", {"name": doc.calendar_event})


def test_concurrent_patches_that_make_the_calendar_event_all_succeed(client):
	"""The first PATCH to schedule a draft makes its calendar Event; the PATCHes queued behind it on
	the row lock must see that Event, not refuse the appointment's link to it."""
	session, base = client
	doc = factories.commit(factories.make(status="draft", scheduled_time=factories.future(days=3)))
	url = f"{base}/{doc.name}"

	answers = at_once(10, lambda i: session().patch(url, json={"status": "scheduled"}, timeout=30))

	assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers if a.status_code != 200]
	frappe.db.rollback()
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	assert event and frappe.db.exists("Event", event)
	linked = frappe.get_all(
		"Event Participants",
		filters={"reference_doctype": "CRM Appointment", "reference_docname": doc.name},
		pluck="parent",
	)
	assert linked == [event]  # one Event, not one per request


def test_creates_do_not_queue_behind_an_open_write_holding_a_count(client):
	"""Every write adjusts a kept count (appointment_counts.py) and holds that row until it commits.
	With one row per status every create would wait for the open one; each takes a row nobody holds
	instead, so twenty creates of the same status answer while another write stays open."""
	from crm_appointments.records import status_counts as appointment_counts

	session, base = client
	holding, release = threading.Event(), threading.Event()

	def open_write():
		frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=os.environ["CRM_SITES_PATH"])
		frappe.connect()
		try:
			frappe.set_user("Administrator")
			factories.make(status="Draft", customer_email="open.write@example.com")
			holding.set()
			release.wait(120)
		finally:
			frappe.db.rollback()
			frappe.destroy()

	writer = threading.Thread(target=open_write)
	writer.start()
	try:
		assert holding.wait(60)
		body = factories.api_body(customer_email="parallel.create@example.com", status="draft")
		# A queued create would wait for the open write (50 s, InnoDB's lock wait) and time out here.
		answers = at_once(CLIENTS, lambda i: session().post(base, json=body, timeout=15))
		assert [a.status_code for a in answers] == [200] * CLIENTS, [a.text for a in answers]
	finally:
		release.set()
		writer.join()
	frappe.db.rollback()
	assert appointment_counts.total(["Draft"]) == frappe.db.count("CRM Appointment", {"status": "Draft"})
	assert appointment_counts.total() == frappe.db.count("CRM Appointment")
