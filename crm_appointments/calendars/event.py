"""Keeps a Frappe Event in step with each appointment.

Entering scheduled or confirmed creates the Event (start, end from the duration, the party and the
appointment as participants) and links it in `calendar_event`; rescheduling moves it; cancelled and
no_show cancel it; completed closes it; deleting the appointment deletes it. A draft has none.
Participants someone added to the Event by hand stay.

Frappe writes an Event's timeline entry (a Communication with its subject, description and time) on
the page of each participant whose DocType shows Events in its timeline: a Contact's does. Its page
is read by whoever may read the Contact, past the appointment's permissions, so the entry for the
party is taken off again after every save of the Event (`keep_off_party_timeline`, an Event hook).
The appointment's own timeline keeps its entry.
"""

import frappe
from frappe.utils import escape_html, get_datetime

from crm_appointments.calendars import google_push, ics
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, HOST
from crm_appointments.core.random_ids import random_part

EVENT_STATUS = {"cancelled": "Cancelled", "no_show": "Cancelled", "completed": "Closed"}
# The app's Events are named like its appointments: random, never handed out twice. Frappe's EV.#####
# series gives the newest name out again once that Event is deleted, and the delayed clean-up jobs of
# the deleted Event then act on the new one.
EVENT_PREFIX = "EV-"
EVENT_RANDOM_LENGTH = 16


def sync(appointment):
	status = workflow.value_of(appointment.status)
	if status in workflow.LIVE:
		upsert_event(appointment)
	elif status in EVENT_STATUS and appointment.calendar_event:
		event = existing_event(appointment)
		if event and event.status != EVENT_STATUS[status]:
			event.status = EVENT_STATUS[status]
			google_push.before_event_save(event)
			event.save(ignore_permissions=True)
			google_push.after_event_save(appointment, event)


def existing_event(appointment):
	if appointment.calendar_event and frappe.db.exists("Event", appointment.calendar_event):
		return frappe.get_doc("Event", appointment.calendar_event)
	return None


def new_event():
	event = frappe.new_doc("Event")
	event.name = EVENT_PREFIX + random_part(EVENT_RANDOM_LENGTH)
	event.flags.name_set = True
	return event


def upsert_event(appointment):
	event = existing_event(appointment) or new_event()
	# The desk renders an Event's subject and description as HTML (timeline, calendar, form), and the
	# customer's name is stored exactly as typed: it goes in escaped.
	wanted = {
		"subject": escape_html(ics.appointment_summary(appointment)),
		"starts_on": get_datetime(appointment.scheduled_time),
		"ends_on": appointment.end_time(),
		"event_type": "Public",
		"event_category": "Meeting",
		# Frappe's morning digest mails each day's Events to every user, past permissions; the app
		# sends its own reminders (see event_permissions for who may see the Event).
		"send_reminder": 0,
		"status": "Open",
		"description": escape_html(
			frappe._("Appointment {0} with {1} ({2})").format(
				appointment.name, appointment.customer_name, appointment.customer_email
			)
		)
		+ (
			"<br>" + escape_html(frappe._("Where: {0}").format(appointment.location))
			if appointment.location
			else ""
		),
	}
	participants = [(APPOINTMENT, appointment.name)]
	if appointment.host:  # the Event shows on the host's page (and names them on its own)
		participants.append((HOST, appointment.host))
	if appointment.appointment_with and appointment.party:
		participants.append((appointment.appointment_with, appointment.party))
	rows = event.get("event_participants") or []
	added = [p for p in rows if not is_the_apps(p, appointment)]
	current = [(p.reference_doctype, p.reference_docname) for p in rows if p not in added]
	changed = (
		event.is_new()
		or current != participants
		or any(
			(get_datetime(event.get(k)) if k in ("starts_on", "ends_on") else event.get(k)) != v
			for k, v in wanted.items()
		)
	)
	if not changed:
		return
	event.update(wanted)
	# The rows are written anew only when they change: Frappe replaces a child table by deleting and
	# inserting its rows, and two saves doing so for neighbouring Events lock the same gap of the
	# participants' parent index and deadlock (two reschedules of different hosts at once did).
	if current != participants:
		event.set("event_participants", added)
		for doctype, name in participants:
			event.add_participant(doctype, name)
	event.flags.appointment = appointment
	google_push.before_event_save(event)
	event.save(ignore_permissions=True)
	if appointment.calendar_event != event.name:
		appointment.db_set("calendar_event", event.name, update_modified=False)
	google_push.after_event_save(appointment, event)


def is_the_apps(participant, appointment) -> bool:
	"""Whether the app put this participant on the appointment's Event: the appointment, a host, the
	party (as it is, or as it was before this save). Anyone else was added by hand."""
	if participant.reference_doctype in (APPOINTMENT, HOST):
		return True
	parties = {(appointment.appointment_with, appointment.party)}
	if before := appointment.get_doc_before_save():
		parties.add((before.appointment_with, before.party))
	return (participant.reference_doctype, participant.reference_docname) in parties


def keep_off_party_timeline(event, method=None):
	"""Event on_update (after Frappe's own, which writes the timeline entries): take the entry for the
	party of the appointment this Event belongs to off the party's page."""
	if not event.get("event_participants"):
		return
	# A new Event is not yet in its appointment's calendar_event: upsert_event says whose it is.
	appointment = event.flags.appointment or frappe.db.get_value(
		APPOINTMENT, {"calendar_event": event.name}, ["appointment_with", "party"], as_dict=True
	)
	if appointment and appointment.party:
		drop_timeline_entry(event.name, appointment.appointment_with, appointment.party)


def drop_timeline_entry(event: str, doctype: str, name: str):
	"""Remove the Event's timeline entry on the page of `doctype` `name` (a Communication linked to it
	alone, as Frappe writes them; one linked elsewhere too only loses that link)."""
	from crm_appointments.records.deletion import take_away

	for communication in frappe.get_all(
		"Communication",
		filters=[
			["reference_doctype", "=", "Event"],
			["reference_name", "=", event],
			["Communication Link", "link_doctype", "=", doctype],
			["Communication Link", "link_name", "=", name],
		],
		pluck="name",
		distinct=True,
	):
		links = frappe.get_all("Communication Link", {"parent": communication}, ["link_doctype", "link_name"])
		if {(link.link_doctype, link.link_name) for link in links} == {(doctype, name)}:
			take_away("Communication", communication, keep_copy=False)
		else:
			frappe.db.delete(
				"Communication Link", {"parent": communication, "link_doctype": doctype, "link_name": name}
			)


def remove(appointment):
	"""The appointment is being deleted: its Event goes too, with the Event's own timeline entries,
	into Deleted Document (see belongings.py; restoring the appointment brings it back)."""
	from crm_appointments.records import deletion as belongings

	if appointment.calendar_event and frappe.db.exists("Event", appointment.calendar_event):
		google_push.before_event_delete(appointment, appointment.calendar_event)
		belongings.take_away("Event", appointment.calendar_event)
