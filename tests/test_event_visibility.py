"""Who sees an appointment's calendar Event, its timeline entries and the appointment's title.

An appointment's Event, and anything that shows its customer's name, is seen by exactly those who
may read the appointment: through every route the desk uses, called as the desk calls them (Frappe's
own routes, over HTTP, with Frappe's token authentication).
"""

import json
from datetime import timedelta

import frappe
import pytest
from frappe.desk.doctype.event import event as frappe_event
from frappe.desk.form import assign_to
from frappe.utils import escape_html, get_datetime

from crm_appointments.notify.reminders import send_due_reminders
from tests.factories import USERS, commit, future, make, user_permission

NAME = "Eve <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def tokens(site):
	"""Frappe API credentials (`token key:secret`) per test user."""
	issued = {}
	for kind, email in USERS.items():
		user = frappe.get_doc("User", email)
		user.api_key = frappe.generate_hash(length=15)
		secret = frappe.generate_hash(length=15)
		user.api_secret = secret
		user.save(ignore_permissions=True)
		issued[kind] = f"token {user.api_key}:{secret}"
	frappe.db.commit()
	return issued


class Desk:
	"""Frappe's routes, as one test user."""

	def __init__(self, api, auth):
		self.api, self.auth = api, auth

	def get(self, path, **params):
		query = "&".join(
			f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}" for k, v in params.items()
		)
		return self.api.get(f"{path}?{query}" if query else path, auth=self.auth)

	def method(self, method, **params):
		response = self.get(f"/api/method/{method}", **params)
		return response.status_code, (response.get_json() or {})

	def listed_events(self):
		response = self.get("/api/resource/Event", fields=["name"], limit_page_length=0)
		assert response.status_code == 200, response.get_data(as_text=True)[:300]
		return {row["name"] for row in response.get_json()["data"]}

	def calendar(self, start):
		status, body = self.method(
			"frappe.desk.doctype.event.event.get_events",
			start=start.date().isoformat(),
			end=(start + timedelta(days=1)).date().isoformat(),
		)
		assert status == 200, body
		return {event["name"] for event in body["message"]}

	def opens(self, doctype, name):
		"""Whether the desk's form can load the document (getdoc), and its answer."""
		status, body = self.method("frappe.desk.form.load.getdoc", doctype=doctype, name=name)
		return status == 200, body

	def fetches(self, doctype, name):
		return self.get(f"/api/resource/{doctype}/{name}").status_code == 200


def desk(api, tokens, kind):
	return Desk(api, tokens[kind])


def booked(**fields):
	fields = {"status": "scheduled", "scheduled_time": future(days=2), "customer_name": NAME, **fields}
	return commit(make(**fields))


def public_event(start, **fields):
	"""An ordinary Public Event, as any desk user makes one: every desk user sees it."""
	return frappe.get_doc(
		{"doctype": "Event", "subject": "Team lunch", "event_type": "Public", "starts_on": start, **fields}
	).insert(ignore_permissions=True)


def test_an_outsider_cannot_list_open_fetch_or_see_in_the_calendar_an_appointments_event(api, tokens):
	doc = booked()
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	lunch = commit(public_event(doc.scheduled_time))
	outsider = desk(api, tokens, "nobody")
	# The same routes show the outsider an ordinary Public Event: what is hidden is the appointment's.
	assert lunch.name in outsider.listed_events()
	assert lunch.name in outsider.calendar(get_datetime(doc.scheduled_time))
	assert outsider.fetches("Event", lunch.name)
	assert event not in outsider.listed_events()
	assert event not in outsider.calendar(get_datetime(doc.scheduled_time))
	assert not outsider.fetches("Event", event)
	assert not outsider.opens("Event", event)[0]
	status, body = outsider.method("frappe.desk.search.search_link", doctype="Event", txt="Eve")
	assert status == 200, body
	assert event not in {row["value"] for row in body.get("message") or body.get("results") or []}


def test_a_crm_user_sees_the_event_in_the_event_calendar_and_opens_it(api, tokens):
	doc = booked()
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	staff = desk(api, tokens, "user")
	assert event in staff.listed_events()
	assert event in staff.calendar(get_datetime(doc.scheduled_time))
	assert staff.fetches("Event", event)
	assert staff.opens("Event", event)[0]


def test_a_user_narrowed_by_user_permissions_sees_only_the_events_of_appointments_they_may_read(api, tokens):
	mine, other = booked(), booked()
	events = {d.name: frappe.db.get_value("CRM Appointment", d.name, "calendar_event") for d in (mine, other)}
	with user_permission("user", mine.name):
		staff = desk(api, tokens, "user")
		listed = staff.listed_events()
		assert events[mine.name] in listed
		assert events[other.name] not in listed
		assert events[other.name] not in staff.calendar(get_datetime(other.scheduled_time))
		assert not staff.fetches("Event", events[other.name])


def test_an_assignee_without_a_crm_role_sees_the_event_of_the_appointment_assigned_to_them(committed):
	doc = make(status="scheduled")
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	frappe.set_user(USERS["nobody"])
	assert not frappe.has_permission("Event", doc=event)
	frappe.set_user("Administrator")
	assign_to.add({"doctype": "CRM Appointment", "name": doc.name, "assign_to": [USERS["nobody"]]})
	frappe.set_user(USERS["nobody"])
	assert frappe.has_permission("Event", doc=event)
	assert event in frappe.get_list("Event", pluck="name", limit=0)


def test_the_morning_event_digest_leaves_out_appointment_events():
	"""Frappe mails each user the day's Events with a reminder set, past every permission hook."""
	doc = make(status="scheduled", scheduled_time=future(days=2))
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	lunch = public_event(doc.scheduled_time, send_reminder=1)
	day = get_datetime(doc.scheduled_time).date().isoformat()
	digest = {e.name for e in frappe_event.get_events(day, day, USERS["nobody"], for_reminder=True)}
	assert lunch.name in digest
	assert event not in digest


def test_the_events_timeline_entries_and_the_reminders_are_hidden_from_an_outsider(api, tokens):
	"""Frappe gives a Communication the permissions of the document it belongs to (and lists only
	a user's own to users without an email role): the Event's follow the appointment through the
	Event's hook, the reminders' the appointment directly."""
	start = future(days=3).replace(second=0)
	doc = booked(scheduled_time=start, customer_email="rem@example.org")
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	send_due_reminders(now=start - timedelta(hours=23))
	frappe.db.commit()
	timeline = frappe.get_all(
		"Communication", filters={"reference_doctype": "Event", "reference_name": event}, pluck="name"
	)
	reminders = frappe.get_all(
		"Communication",
		filters={"reference_doctype": "CRM Appointment", "reference_name": doc.name},
		pluck="name",
	)
	assert timeline and reminders
	outsider, staff = desk(api, tokens, "nobody"), desk(api, tokens, "user")
	for name in timeline + reminders:
		assert not outsider.fetches("Communication", name)
		assert not outsider.opens("Communication", name)[0]
	# The appointment's timeline, where staff see them, is the appointment's to show.
	assert staff.opens("CRM Appointment", doc.name)[0]
	assert not outsider.opens("CRM Appointment", doc.name)[0]
	response = outsider.get("/api/resource/Communication", fields=["name"], limit_page_length=0)
	assert not {row["name"] for row in response.get_json()["data"]} & {*timeline, *reminders}


def test_an_appointments_title_goes_only_to_users_who_may_read_it(api, tokens):
	"""A Public Event a CRM user makes with the appointment as a participant: everyone may open the
	Event, and Frappe sends the titles of what it links to; only readers get the customer's name."""
	doc = booked()
	frappe.set_user(USERS["user"])
	meeting = public_event(doc.scheduled_time, subject="Prepare the meeting")
	meeting.add_participant("CRM Appointment", doc.name)
	meeting.save()
	frappe.set_user("Administrator")
	frappe.db.commit()
	key = f"CRM Appointment::{doc.name}"
	outsider, staff = desk(api, tokens, "nobody"), desk(api, tokens, "user")
	opened, body = outsider.opens("Event", meeting.name)
	assert opened
	assert body["_link_titles"][key] == doc.name
	link_title = "frappe.desk.search.get_link_title"
	assert outsider.method(link_title, doctype="CRM Appointment", docname=doc.name)[1]["message"] == doc.name
	opened, body = staff.opens("Event", meeting.name)
	assert body["_link_titles"][key] == NAME
	assert staff.method(link_title, doctype="CRM Appointment", docname=doc.name)[1]["message"] == NAME


def test_the_link_search_sends_appointment_titles_escaped(api, tokens):
	"""The link field's dropdown writes each result as HTML."""
	doc = booked()
	staff = desk(api, tokens, "user")
	status, body = staff.method(
		"frappe.desk.search.search_link", doctype="CRM Appointment", txt="Eve", page_length=100
	)
	assert status == 200, body
	results = {row["value"]: row for row in body["message"]}
	assert results[doc.name]["label"] == escape_html(NAME)
	assert "<" not in results[doc.name]["description"]
	status, body = desk(api, tokens, "nobody").method(
		"frappe.desk.search.search_link", doctype="CRM Appointment", txt="Eve"
	)
	assert doc.name not in {row["value"] for row in body.get("message") or []}
