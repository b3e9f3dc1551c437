"""An appointment's Event in the host's Google Calendar, pushed by Frappe's own Google sync
(contract.md, "Outside calendars").

Where the host's user has a Google Calendar in Frappe (enabled, with Push to Google Calendar on),
the appointment's Event is pushed there by Frappe's Event hooks
(`frappe.integrations.doctype.google_calendar.google_calendar`): they insert, update and cancel the
Google event when an Event with `sync_with_google_calendar` and `google_calendar` set is saved or
deleted. Those hooks call Google in the save itself and throw when it fails, so an Event saved with
the flag on inside a booking would make network calls while the host's row is locked, and a Google
outage would roll the booking back. So:

- inside the appointment's save the Event is always saved with the flag off (Frappe's hooks do
  nothing), and its deletion clears `google_calendar` first (Frappe's on_trash does nothing);
- after the commit a background job sets the flag and the host's calendar on the Event and saves it
  again, on its own: Frappe's hooks push it (insert, or update with the time and status: a cancelled
  or closed Event cancels the Google event), or, for a deleted appointment, the job calls Frappe's
  delete hook with the ids the Event had.

A push that fails is in the job's Error Log; the next save of the appointment pushes again. The
Google event is Frappe's: its title and description are the Event's (the app's own words, no more
than the Event shows), its attendees the participants with an email (the party's Contact).
"""

from functools import partial

import frappe

from crm_appointments.core.names import HOST

GOOGLE_CALENDAR = "Google Calendar"
QUEUE = "short"
PUSH_JOB = "crm_appointments.calendars.google_push.push"
CANCEL_JOB = "crm_appointments.calendars.google_push.cancel"


def host_calendar(host: str | None) -> str | None:
	"""The Google Calendar (Frappe's) the host's user pushes to, if any."""
	if not host or not frappe.db.table_exists(GOOGLE_CALENDAR):
		return None
	user = frappe.db.get_value(HOST, host, "user")
	if not user:
		return None
	return frappe.db.get_value(
		GOOGLE_CALENDAR,
		{"user": user, "enable": 1, "push_to_google_calendar": 1},
		"name",
		order_by="creation",
	)


def before_event_save(event) -> None:
	"""In the appointment's save: Frappe's Google hooks must not run (see the module's docstring)."""
	event.sync_with_google_calendar = 0


def after_event_save(appointment, event) -> None:
	"""The Event was saved in the appointment's save: push it after the commit when the host pushes."""
	calendar = host_calendar(appointment.host)
	if calendar:
		after_commit(PUSH_JOB, event=event.name, google_calendar=calendar)


def before_event_delete(appointment, event_name: str) -> None:
	"""The appointment's Event is about to be deleted: take it off Frappe's Google hooks and, if it
	was pushed, cancel the Google event after the commit."""
	pushed = frappe.db.get_value(
		"Event",
		event_name,
		["google_calendar", "google_calendar_id", "google_calendar_event_id"],
		as_dict=True,
	)
	if not pushed or not pushed.google_calendar:
		return
	frappe.db.set_value("Event", event_name, "google_calendar", None, update_modified=False)
	if pushed.google_calendar_event_id:
		after_commit(CANCEL_JOB, event=event_name, **pushed)


def after_commit(method: str, **kwargs) -> None:
	"""Queue the job once the transaction commits (never for a rolled-back one)."""
	frappe.db.after_commit.add(partial(queue_job, method, **kwargs))


def queue_job(method: str, **kwargs) -> None:
	"""Hand a job to Frappe's queue. (The tests put a recorder here and run the jobs themselves.)"""
	frappe.enqueue(method, queue=QUEUE, **kwargs)


def push(event: str, google_calendar: str) -> None:
	"""Job: save the Event with Google sync on, so Frappe's Event hooks push it."""
	if not frappe.db.exists("Event", event) or not frappe.db.exists(GOOGLE_CALENDAR, google_calendar):
		return
	doc = frappe.get_doc("Event", event)
	doc.sync_with_google_calendar = 1
	doc.google_calendar = google_calendar
	doc.save(ignore_permissions=True)
	frappe.db.commit()


def cancel(event: str, google_calendar: str, google_calendar_id: str, google_calendar_event_id: str) -> None:
	"""Job: cancel the Google event of a deleted appointment's Event, through Frappe's delete hook."""
	from frappe.integrations.doctype.google_calendar.google_calendar import delete_event_from_google_calendar

	delete_event_from_google_calendar(
		frappe._dict(
			name=event,
			google_calendar=google_calendar,
			google_calendar_id=google_calendar_id,
			google_calendar_event_id=google_calendar_event_id,
		)
	)
