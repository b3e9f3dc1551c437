"""The reminder job, run at controlled times: what is due is queued once, with an .ics invitation."""

from datetime import timedelta

import frappe
import pytest
import vobject
from frappe.utils import get_datetime

from crm_appointments.notify.reminders import send_due_reminders
from tests.factories import commit, future, make


def queued_for(doc):
	"""(minutes_before, state) of each reminder row of the appointment, and its Email Queue rows."""
	rows = frappe.get_all(
		"CRM Appointment Reminder",
		filters={"appointment": doc.name},
		fields=["minutes_before", "state", "email_queue", "scheduled_time"],
		order_by="minutes_before desc",
	)
	emails = frappe.get_all(
		"Email Queue", filters={"reference_doctype": "CRM Appointment", "reference_name": doc.name}
	)
	return rows, emails


@pytest.fixture
def start():
	return future(days=3).replace(second=0)


@pytest.fixture
def booked(committed, start):
	return commit(make(status="scheduled", scheduled_time=start, customer_email="rem@example.org"))


def test_nothing_is_sent_before_the_first_reminder_moment(booked, start):
	assert send_due_reminders(now=start - timedelta(hours=25)) == 0
	assert queued_for(booked) == ([], [])


def test_the_day_before_reminder_goes_out_once(booked, start):
	assert send_due_reminders(now=start - timedelta(hours=23)) == 1
	assert send_due_reminders(now=start - timedelta(hours=22)) == 0
	rows, emails = queued_for(booked)
	assert [(r.minutes_before, r.state) for r in rows] == [(1440, "Queued")]
	assert len(emails) == 1 and rows[0].email_queue == emails[0].name


def test_each_offset_goes_out_at_its_own_moment(booked, start):
	send_due_reminders(now=start - timedelta(hours=23))
	assert send_due_reminders(now=start - timedelta(minutes=59)) == 1
	rows, emails = queued_for(booked)
	assert [(r.minutes_before, r.state) for r in rows] == [(1440, "Queued"), (60, "Queued")]
	assert len(emails) == 2


def test_once_it_has_started_no_reminder_goes_out(booked, start):
	assert send_due_reminders(now=start + timedelta(minutes=1)) == 0
	assert queued_for(booked) == ([], [])


def test_reminders_missed_while_the_scheduler_was_down_go_out_late_but_only_the_nearest(booked, start):
	assert send_due_reminders(now=start - timedelta(minutes=30)) == 1
	rows, emails = queued_for(booked)
	assert [(r.minutes_before, r.state) for r in rows] == [(1440, "Skipped"), (60, "Queued")]
	assert len(emails) == 1


@pytest.mark.parametrize("status", ["draft", "cancelled", "completed", "no_show"])
def test_only_scheduled_and_confirmed_appointments_are_reminded(committed, start, status):
	if status == "completed" or status == "no_show":
		doc = commit(make(status="scheduled", scheduled_time=start))
		frappe.db.set_value(
			"CRM Appointment", doc.name, "status", "Completed" if status == "completed" else "No Show"
		)
	elif status == "cancelled":
		doc = make(status="draft", scheduled_time=start)
		doc.status = "cancelled"
		doc.save()
	else:
		doc = make(status="draft", scheduled_time=start)
	frappe.db.commit()
	assert send_due_reminders(now=start - timedelta(hours=23)) == 0
	assert queued_for(doc) == ([], [])


def test_confirmed_appointments_are_reminded(committed, start):
	commit(make(status="confirmed", scheduled_time=start))
	assert send_due_reminders(now=start - timedelta(hours=23)) == 1


def test_rescheduling_re_arms_the_reminders(booked, start):
	send_due_reminders(now=start - timedelta(hours=23))
	booked.reload()
	new_start = start + timedelta(days=2)
	booked.scheduled_time = new_start
	booked.save()
	frappe.db.commit()
	assert send_due_reminders(now=start - timedelta(hours=22)) == 0
	assert send_due_reminders(now=new_start - timedelta(hours=23)) == 1
	rows, _ = queued_for(booked)
	assert sorted((get_datetime(r.scheduled_time), r.minutes_before) for r in rows) == [
		(start, 1440),
		(new_start, 1440),
	]


def test_cancelling_stops_pending_reminders(booked, start):
	booked.reload()
	booked.status = "cancelled"
	booked.save()
	frappe.db.commit()
	assert send_due_reminders(now=start - timedelta(hours=23)) == 0
	assert frappe.get_all("CRM Appointment Reminder", filters={"appointment": booked.name}) == []


def test_turning_reminders_off_sends_none(booked, start):
	settings = frappe.get_single("CRM Appointment Settings")
	settings.enable_reminders = 0
	settings.save()
	frappe.db.commit()
	try:
		assert send_due_reminders(now=start - timedelta(hours=23)) == 0
	finally:
		settings.reload()
		settings.enable_reminders = 1
		settings.save()
		frappe.db.commit()


def test_the_reminder_goes_to_the_customer_owner_and_assignees(committed, start, as_user):
	from frappe.desk.form.assign_to import add as assign

	from tests.factories import USERS

	as_user("manager")
	booked = commit(make(status="scheduled", scheduled_time=start, customer_email="rem@example.org"))
	frappe.set_user("Administrator")
	assign({"doctype": "CRM Appointment", "name": booked.name, "assign_to": [USERS["user"]]})
	frappe.db.commit()
	send_due_reminders(now=start - timedelta(hours=23))
	(row,), _ = queued_for(booked)
	email = frappe.get_doc("Email Queue", row.email_queue)
	assert sorted(r.recipient for r in email.recipients) == sorted(
		["rem@example.org", USERS["manager"], USERS["user"]]
	)
	frappe.db.delete("ToDo", {"reference_name": booked.name})
	frappe.db.commit()


def test_the_email_is_on_the_appointments_timeline_and_names_the_time_zone(booked, start):
	send_due_reminders(now=start - timedelta(hours=23))
	communication = frappe.get_last_doc(
		"Communication", filters={"reference_doctype": "CRM Appointment", "reference_name": booked.name}
	)
	assert communication.communication_medium == "Email"
	assert "Asia/Kolkata" in communication.subject
	assert "in 1 day" in communication.content


def invitation_of(doc) -> vobject.base.Component:
	email = frappe.get_last_doc(
		"Email Queue", filters={"reference_name": doc.name, "communication": ("is", "set")}
	)
	raw = email.message
	assert "appointment.ics" in raw
	import email as email_lib

	message = email_lib.message_from_string(raw)
	for part in message.walk():
		if part.get_filename() == "appointment.ics":
			return vobject.readOne(part.get_payload(decode=True).decode())
	raise AssertionError("no .ics part")


def test_the_invitation_is_valid_icalendar_in_utc(booked, start):
	send_due_reminders(now=start - timedelta(hours=23))
	calendar = invitation_of(booked)
	event = calendar.vevent
	assert calendar.method.value == "REQUEST"
	assert event.uid.value.startswith(booked.name + "@")
	assert event.sequence.value == "0"
	utc_start = start.replace(tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Kolkata")).astimezone(
		__import__("datetime").timezone.utc
	)
	assert event.dtstart.value == utc_start
	assert event.dtend.value - event.dtstart.value == timedelta(minutes=30)
	assert event.attendee.value == "mailto:rem@example.org"


def test_the_emailed_invitation_names_the_attendee_as_typed(committed, start):
	"""A name with iCalendar's delimiters in it once rewrote the attendee's address."""
	booked = commit(
		make(
			status="scheduled",
			scheduled_time=start,
			customer_email="rem@example.org",
			customer_name="Bob:mailto:attacker@evil.example?x=",
		)
	)
	send_due_reminders(now=start - timedelta(hours=23))
	(attendee,) = invitation_of(booked).vevent.attendee_list
	assert attendee.value == "mailto:rem@example.org"
	assert attendee.params["CN"] == ["Bob:mailto:attacker@evil.example?x="]


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(booked, start):
	send_due_reminders(now=start - timedelta(hours=23))
	first = invitation_of(booked).vevent
	booked.reload()
	booked.scheduled_time = start + timedelta(days=1)
	booked.save()
	frappe.db.commit()
	send_due_reminders(now=start + timedelta(hours=1))
	second = invitation_of(booked).vevent
	assert second.uid.value == first.uid.value
	assert int(second.sequence.value) == int(first.sequence.value) + 1


def test_a_cancellation_sends_method_cancel(booked, start):
	booked.reload()
	booked.status = "cancelled"
	booked.save()
	frappe.db.commit()
	calendar = invitation_of(booked)
	assert calendar.method.value == "CANCEL"
	assert calendar.vevent.status.value == "CANCELLED"
	assert int(calendar.vevent.sequence.value) == 1


def test_a_reminder_on_a_site_without_an_outgoing_email_account_is_recorded_as_not_sent(booked, start):
	from harness.site_data import OUTBOX

	frappe.db.set_value("Email Account", OUTBOX, "default_outgoing", 0)
	frappe.local.outgoing_email_account = {}
	try:
		assert send_due_reminders(now=start - timedelta(hours=23)) == 0
		rows, emails = queued_for(booked)
		assert [(r.minutes_before, r.state, r.email_queue) for r in rows] == [(1440, "Not Sent", None)]
		assert emails == []
		assert "outgoing Email Account" in frappe.db.get_value(
			"CRM Appointment Reminder", {"appointment": booked.name}, "note"
		)
		# The appointment says so too, and the next run does not try again.
		assert frappe.db.exists(
			"Comment", {"reference_name": booked.name, "content": ("like", "Not emailed%")}
		)
		assert send_due_reminders(now=start - timedelta(hours=22)) == 0
	finally:
		frappe.db.set_value("Email Account", OUTBOX, "default_outgoing", 1)
		frappe.db.commit()
		frappe.local.outgoing_email_account = {}
