"""An appointment's Event goes to the host's Google Calendar through Frappe's own Google sync
(contract.md, "Outside calendars"), after the commit and never inside the save.

The host's user has a Google Calendar in Frappe with Push to Google Calendar on (Google Settings
enabled, a refresh token stored). This machine cannot reach Google, so the tests go up to Frappe's
call: the save itself leaves Frappe's Google hooks idle (a booking cannot wait on Google, or fail
with it), the commit queues one job, and that job's save of the Event runs Frappe's
insert_event_in_google_calendar, which then fails to reach Google here.

The jobs: `google_push.queue_job` (the one call through which the module hands a job to
frappe.enqueue) is replaced by a recorder, as in test_webhooks.py; the test runs what it recorded.
"""

import traceback

import frappe
import pytest

from crm_appointments.calendars import google_push
from tests import factories
from tests.factories import USERS

HOST = USERS["user"]
CALENDAR_ID = "crm-appointments-test@group.calendar.google.com"


@pytest.fixture
def jobs(monkeypatch):
	queued = []
	monkeypatch.setattr(google_push, "queue_job", lambda method, **kwargs: queued.append((method, kwargs)))
	return queued


@pytest.fixture
def google(committed):
	"""Google Settings on, and a Google Calendar of the host's user that pushes; all put back after."""
	settings = frappe.get_single("Google Settings")
	before = {f: settings.get(f) for f in ("enable", "client_id")}
	settings.enable, settings.client_id, settings.client_secret = 1, "test-client", "test-secret"
	settings.save(ignore_permissions=True)
	factories.host("user")
	calendar = frappe.get_doc(
		{
			"doctype": "Google Calendar",
			"calendar_name": "Appointments test",
			"user": HOST,
			"enable": 1,
			"push_to_google_calendar": 1,
			"google_calendar_id": CALENDAR_ID,
			"refresh_token": "test-refresh-token",
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	yield calendar
	frappe.db.rollback()
	frappe.delete_doc("Google Calendar", calendar.name, ignore_permissions=True, force=True)
	settings = frappe.get_single("Google Settings")
	settings.update(before)
	settings.save(ignore_permissions=True)
	frappe.db.commit()


def booked(**fields):
	doc = factories.in_status("scheduled", host=HOST, **fields)
	frappe.db.commit()
	return doc


def event_of(doc):
	return frappe.db.get_value(
		"Event",
		doc.reload().calendar_event,
		["name", "sync_with_google_calendar", "google_calendar", "starts_on", "status"],
		as_dict=True,
	)


def test_a_booking_leaves_frappes_google_hooks_idle_and_queues_one_push_after_its_commit(google, jobs):
	doc = factories.in_status("scheduled", host=HOST)
	assert jobs == []  # nothing before the commit
	event = event_of(doc)
	assert event.sync_with_google_calendar == 0  # Frappe's hooks returned at once: no call to Google
	frappe.db.commit()
	assert jobs == [(google_push.PUSH_JOB, {"event": event.name, "google_calendar": google.name})]


def test_a_rolled_back_booking_queues_nothing(google, jobs):
	factories.in_status("scheduled", host=HOST)
	frappe.db.rollback()
	frappe.db.commit()
	assert jobs == []


def test_the_push_job_hands_the_event_to_frappes_google_sync(google, jobs):
	doc = booked()
	(method, kwargs) = jobs.pop()
	with pytest.raises(Exception) as failed:  # whatever the unreachable Google raises
		frappe.get_attr(method)(**kwargs)
	called = [frame.name for frame in traceback.extract_tb(failed.value.__traceback__)]
	assert "insert_event_in_google_calendar" in called, called
	frappe.db.rollback()
	# The appointment and its Event are as they were: a failed push loses nothing.
	assert event_of(doc).status == "Open"


def test_moving_and_cancelling_push_again_and_each_save_keeps_the_hooks_idle(google, jobs):
	doc = booked()
	event = event_of(doc)
	jobs.clear()
	# As after a push: the Event carries Google's flags.
	frappe.db.set_value(
		"Event",
		event.name,
		{"sync_with_google_calendar": 1, "google_calendar": google.name},
		update_modified=False,
	)
	frappe.db.commit()
	doc.reload()
	doc.scheduled_time = factories.future(days=2)
	doc.save()
	assert event_of(doc).sync_with_google_calendar == 0
	frappe.db.commit()
	assert [m for m, _ in jobs] == [google_push.PUSH_JOB]
	doc.reload()
	doc.status = "cancelled"
	doc.save()
	frappe.db.commit()
	assert [m for m, _ in jobs] == [google_push.PUSH_JOB] * 2
	assert event_of(doc).status == "Cancelled"  # Frappe's update cancels the Google event


def test_deleting_a_pushed_appointment_cancels_its_google_event_after_the_commit(google, jobs):
	doc = booked()
	event = event_of(doc)
	frappe.db.set_value(
		"Event",
		event.name,
		{
			"google_calendar": google.name,
			"google_calendar_id": CALENDAR_ID,  # fetched from the calendar when the push job saved it
			"google_calendar_event_id": "google-event-1",
		},
		update_modified=False,
	)
	frappe.db.commit()
	jobs.clear()
	doc.reload()
	doc.delete()  # no call to Google in the delete: it would fail here
	frappe.db.commit()
	assert jobs == [
		(
			google_push.CANCEL_JOB,
			{
				"event": event.name,
				"google_calendar": google.name,
				"google_calendar_id": CALENDAR_ID,
				"google_calendar_event_id": "google-event-1",
			},
		)
	]


def test_no_push_for_a_host_without_a_pushing_google_calendar(google, jobs):
	frappe.db.set_value("Google Calendar", google.name, "push_to_google_calendar", 0)
	frappe.db.commit()
	booked()
	assert jobs == []
	assert google_push.host_calendar(HOST) is None
	assert google_push.host_calendar(None) is None
