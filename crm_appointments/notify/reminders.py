"""The reminder job: run from the scheduler every 5 minutes (hooks.py).

For each offset in the settings (a day, an hour, ...), it reminds scheduled and confirmed
appointments whose reminder moment has come and whose start has not. Each (appointment, offset,
start time) is claimed by inserting its row in CRM Appointment Reminder, whose primary key makes
the claim atomic: two jobs running at once send one email. A new start time is a new row, so a
reschedule re-arms the reminders. When several offsets of one appointment are due together (the
scheduler was down, or it was booked at short notice), only the nearest is sent; the others are
recorded as skipped.

Each offset has a channel (`Email`, `SMS`, `Email and SMS`): the email is queued in the job's
transaction, the text message marked on the same claim row and sent by a job of its own after the
commit (notify/sms.py), so the claim that keeps the email once keeps the text once too.

The queries walk the (status, scheduled_time) index over the window of the longest offset, so a
run's work grows with the reminders due, not with the table.
"""

from collections import defaultdict
from datetime import timedelta

import frappe
from frappe.utils import get_datetime, now_datetime

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, REMINDER
from crm_appointments.core.settings import (
	get_settings,
	reminder_offsets,
)
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.notify import sms as text_messages
from crm_appointments.records.insert_once import insert_if_absent

LIVE_LABELS = tuple(workflow.label_of(v) for v in workflow.LIVE)


def send_due_reminders(now=None) -> int:
	"""Queue every reminder that is due. Returns how many reminders were queued (by email, text or
	both)."""
	now = get_datetime(now) if now else now_datetime()
	try:
		text_messages.queue_lost_reminder_texts(now)
	except Exception:  # the texts' housekeeping never holds up the reminders
		frappe.log_error(title="CRM Appointment text messages could not be queued again")
	due = due_reminders(now)
	sent = 0
	for (name, scheduled_time), offsets in due.items():
		try:
			if send_for_appointment(name, scheduled_time, sorted(offsets), now):
				sent += 1
			frappe.db.commit()  # the scheduler job's boundary: one appointment's reminders at a time
		except Exception:
			frappe.db.rollback()
			frappe.log_error(title=f"CRM Appointment reminder for {name} failed")
	return sent


def due_reminders(now) -> dict:
	"""{(appointment, scheduled_time): [offsets due and not yet claimed]}"""
	due = defaultdict(list)
	for minutes in reminder_offsets():
		rows = frappe.db.sql(
			f"""
			select a.name, a.scheduled_time
			from `tabCRM Appointment` a
			where a.status in %(live)s
				and a.scheduled_time > %(now)s
				and a.scheduled_time <= %(until)s
				and not exists (
					select 1 from `tab{REMINDER}` r
					where r.appointment = a.name and r.minutes_before = %(minutes)s
						and r.scheduled_time = a.scheduled_time
				)
			""",
			{"live": LIVE_LABELS, "now": now, "until": now + timedelta(minutes=minutes), "minutes": minutes},
		)
		for name, scheduled_time in rows:
			due[(name, scheduled_time)].append(minutes)
	return due


def claim(appointment: str, minutes: int, scheduled_time, now) -> str | None:
	"""Atomically take (appointment, offset, start) for this run: the row's name, or None when
	someone already has it."""
	name = f"{appointment}:{minutes}:{get_datetime(scheduled_time):%Y%m%d%H%M%S}"
	row = {
		"name": name,
		"creation": now,
		"modified": now,
		"owner": "Administrator",
		"modified_by": "Administrator",
	}
	values = {
		"appointment": appointment,
		"minutes_before": minutes,
		"scheduled_time": scheduled_time,
		"state": "Queued",
	}
	return name if insert_if_absent(REMINDER, {**row, **values}) else None


def send_for_appointment(appointment: str, scheduled_time, offsets: list[int], now) -> bool:
	claimed = [
		(minutes, row) for minutes in offsets if (row := claim(appointment, minutes, scheduled_time, now))
	]
	if not claimed:
		return False
	doc = frappe.get_doc(APPOINTMENT, appointment)
	if workflow.value_of(doc.status) not in workflow.LIVE or get_datetime(doc.scheduled_time) != get_datetime(
		scheduled_time
	):
		# Changed since the query: record the skip; the new state gets its own rows.
		for _minutes, row in claimed:
			frappe.db.set_value(REMINDER, row, {"state": "Skipped", "note": "The appointment changed"})
		return False
	(nearest, row), rest = claimed[0], claimed[1:]
	channel = channels().get(nearest) or text_messages.EMAIL
	email_queue, recipients = None, []
	if text_messages.by_email(channel):
		email_queue, recipients = appointment_mail.send_reminder(doc, nearest)
	if email_queue:
		outcome = {"email_queue": email_queue, "queued_at": now_datetime()}
	elif text_messages.by_email(channel):  # recorded as what happened, not as Queued
		outcome = {"state": "Not Sent", "note": appointment_mail.why_not_sent(recipients)}
	else:
		outcome = {"state": "Not Sent", "note": "By text message only (the offset's channel)"}
	if text_messages.by_sms(channel):
		outcome.update(text_messages.queue_reminder_text(doc, row))
	texted = outcome.get("sms_state") == text_messages.QUEUED
	if email_queue or texted:
		# Whoever listens for sent reminders (the webhooks, hooks.py), in this transaction.
		for method in frappe.get_hooks("crm_appointment_reminder_sent"):
			frappe.get_attr(method)(doc)
	frappe.db.set_value(REMINDER, row, {**outcome, "channel": channel, "recipients": ", ".join(recipients)})
	for _minutes, skipped in rest:
		frappe.db.set_value(
			REMINDER, skipped, {"state": "Skipped", "note": f"Superseded by the {nearest}-minute reminder"}
		)
	return bool(email_queue or texted)


def channels() -> dict[int, str]:
	"""{minutes before: the offset's channel}; a row from before channels existed is Email."""
	return {
		row.minutes_before: row.get("channel") or text_messages.EMAIL
		for row in get_settings().reminder_offsets
	}
