"""Text messages to customers, through Frappe's SMS Settings (contract.md, "Text messages").

- **What goes.** A reminder, for each reminder offset whose channel is `SMS` or `Email and SMS`
  (reminders.py claims it, as it claims the email); and, while the settings' `sms_booking_messages`
  is on, a text when a customer books, moves or cancels through the booking page, the API's bookings
  or their private link (booking/rules.py). Only ever to the customer's phone number: the owner and the
  assignees get the email. Reminders go by text only while the settings remind the customer.
- **What it says.** The settings' short Jinja templates (empty: DEFAULT_TEMPLATES), with the context the
  emails use (the appointment's fields, `start`, `duration`, `host_name`, `manage_link` where the email
  has it, `reminder_text`). Times are in the zone the customer booked in when the booking gave one,
  else the host's, else the site's, and the zone is named.
- **Never under a lock.** The caller's transaction only decides and renders; the text is handed to a
  background job once that transaction commits (a rollback sends nothing). The job sends with a
  timeout (TIMEOUT), so a slow or dead gateway holds up a worker for seconds and never a save.
- **Once.** A reminder's text is marked on its claim row (CRM Appointment Reminder `sms_state`): the job
  moves it from Queued to Sending under the row's lock and commits, and only then sends; another job,
  or another run of the scheduler (which finds the claim taken), sends nothing. A job that dies after
  that leaves it Sending: a text is sent at most once, never twice. A text still Queued after
  LOST_AFTER (its job was lost, say to a Redis outage) is handed to a job again by the reminder run.
- **How.** As Frappe's send_sms sends (sms_settings.py): the gateway URL, the message and receiver
  parameters, the static parameters and headers, GET or POST (`use_post`), JSON when a header says
  `Content-Type: application/json`; a 2xx answer is a sent text. Unlike send_sms, the request goes
  through core/outbound.py's guarded session (so the gateway must be a public address unless the site
  config allows private ones) with a timeout, redirects not followed, and the SMS Log row is written
  only where the site has that DocType (ERPNext on Frappe 15; Frappe itself from 16), since Frappe 15's
  own send_sms fails after sending on a site without it.
- **Recorded.** Each text sent is a Communication (medium SMS) on the appointment's timeline, holding
  what the customer got with the manage link left out. A text not sent is an Info comment on the
  timeline saying why: no phone number, SMS Settings not set up, or the gateway's error (its status
  code, no answer in time, unreachable, or an address the app does not send to).
"""

from datetime import timedelta

import frappe
import requests
from frappe import _
from frappe.core.doctype.sms_settings.sms_settings import get_headers, validate_receiver_nos
from frappe.utils import get_datetime, now_datetime, nowdate

from crm_appointments.core import outbound
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT, HOST, REMINDER, SETTINGS
from crm_appointments.core.settings import get_settings
from crm_appointments.notify import emails
from crm_appointments.scheduling.host_calendars import host_name

SMS_SETTINGS = "SMS Settings"
SMS_LOG = "SMS Log"
TIMEOUT = 10  # seconds without an answer that make a send fail
QUEUE = "short"
TEXT_JOB = "crm_appointments.notify.sms.send_text"
REMINDER_JOB = "crm_appointments.notify.sms.send_reminder_text"
LOST_AFTER = timedelta(minutes=10)

# An offset's channel.
EMAIL, SMS, EMAIL_AND_SMS = "Email", "SMS", "Email and SMS"
# A reminder's text, on its claim row.
QUEUED, SENDING, SENT, NOT_SENT = "Queued", "Sending", "Sent", "Not Sent"
# What a text is about.
BOOKED, MOVED, CANCELLED, REMINDER_TEXT = "booked", "moved", "cancelled", "reminder"

TEMPLATE_FIELDS = {
	BOOKED: "sms_booked_template",
	MOVED: "sms_rescheduled_template",
	CANCELLED: "sms_cancelled_template",
	REMINDER_TEXT: "sms_reminder_template",
}
# One or two SMS segments for a usual appointment (the start is about 45 characters, a manage link
# about 80); only characters of the GSM alphabet, so a segment holds 160 (153 when joined).
DEFAULT_TEMPLATES = {
	BOOKED: (
		"Booked: {{ start }}, {{ duration }} min{% if host_name %} with {{ host_name }}{% endif %}."
		" To change or cancel: {{ manage_link }}"
	),
	MOVED: (
		"Moved: your appointment is now {{ start }}{% if host_name %} with {{ host_name }}{% endif %}."
		" To change or cancel: {{ manage_link }}"
	),
	CANCELLED: "Cancelled: your appointment on {{ start }}.",
	REMINDER_TEXT: (
		"Reminder: your appointment is {{ start }}{% if host_name %} with {{ host_name }}{% endif %}."
		"{% if location %} Where: {{ location }}{% endif %}"
	),
}


def by_email(channel: str | None) -> bool:
	return (channel or EMAIL) in (EMAIL, EMAIL_AND_SMS)


def by_sms(channel: str | None) -> bool:
	return channel in (SMS, EMAIL_AND_SMS)


def what(kind: str) -> str:
	"""The text's purpose, in words for the timeline."""
	return {
		BOOKED: _("booking confirmation"),
		MOVED: _("booking moved"),
		CANCELLED: _("booking cancelled"),
		REMINDER_TEXT: _("reminder"),
	}[kind]


def install_templates():
	"""Fill the settings' empty text templates with the defaults, so the form shows text to edit (an
	emptied one still sends the default)."""
	for kind, fieldname in TEMPLATE_FIELDS.items():
		if not frappe.db.get_single_value(SETTINGS, fieldname):
			frappe.db.set_single_value(SETTINGS, fieldname, DEFAULT_TEMPLATES[kind])


# -- what a text says ---------------------------------------------------------------------------------


def zone_for(appointment, time_zone: str | None = None) -> str | None:
	"""The zone its times are written in: the customer's (from the booking), else the host's, else
	None (the site's)."""
	if time_zone:
		return time_zone
	return frappe.db.get_value(HOST, appointment.host, "time_zone") if appointment.get("host") else None


def render(kind: str, appointment, time_zone: str | None = None, **extra) -> str:
	template = get_settings().get(TEMPLATE_FIELDS[kind]) or DEFAULT_TEMPLATES[kind]
	context = {
		**appointment.as_dict(),
		"start": emails.start_text(appointment, zone_for(appointment, time_zone)),
		"host_name": host_name(appointment.get("host")) or "",
		"status_label": workflow.label_of(appointment.status),
		**extra,
	}
	return frappe.render_template(template, context).strip()


def recorded_copy(message: str, manage_link: str | None) -> str:
	"""What the timeline keeps of a text: all of it but the customer's private link."""
	if not manage_link:
		return message
	return message.replace(manage_link, _("[the customer's private manage link]"))


# -- whether one can go -------------------------------------------------------------------------------


def gateway_missing() -> str | None:
	"""Why SMS Settings cannot send, or None when they can."""
	settings = frappe.get_single(SMS_SETTINGS)
	if not (settings.sms_gateway_url or "").strip():
		return _("SMS Settings have no SMS Gateway URL")
	if not settings.message_parameter or not settings.receiver_parameter:
		return _("SMS Settings have no Message Parameter or Receiver Parameter")
	return None


def why_not(appointment) -> str | None:
	"""Why no text can go to this appointment's customer, or None."""
	if not (appointment.get("customer_phone_number") or "").strip():
		return _("the customer gave no phone number")
	missing = gateway_missing()
	return _("{0}: set them up to send text messages").format(missing) if missing else None


def note_not_sent(appointment, kind: str, why: str):
	appointment.add_comment("Info", _("Text message not sent ({0}): {1}.").format(what(kind), why))


# -- handing a text to a job after the commit --------------------------------------------------------------


def queue_job(method: str, **kwargs):
	"""Hand a job to Frappe's queue. (The tests put a recorder here and run the jobs themselves.)"""
	frappe.enqueue(method, queue=QUEUE, **kwargs)


def after_commit(method: str, **kwargs):
	"""Queue the job once the current transaction commits; a rollback drops it."""

	def hand_over():
		try:
			queue_job(method, **kwargs)
		except Exception:  # committed already: a reminder's text is queued again later (LOST_AFTER)
			frappe.logger("crm_appointments").exception("a text message could not be queued")

	frappe.db.after_commit.add(hand_over)


def queue_booking_text(
	appointment, kind: str, manage_link: str | None = None, time_zone: str | None = None
) -> bool:
	"""A booking's text (BOOKED, MOVED, CANCELLED) to its customer after the commit, while the settings
	say so; a note on the timeline instead when it cannot go. Whether one was queued."""
	if not get_settings().sms_booking_messages:
		return False
	why = why_not(appointment)
	if why:
		note_not_sent(appointment, kind, why)
		return False
	extra = {"manage_link": manage_link} if manage_link else {}
	message = render(kind, appointment, time_zone, **extra)
	after_commit(
		TEXT_JOB,
		appointment=appointment.name,
		kind=kind,
		message=message,
		recorded=recorded_copy(message, manage_link),
	)
	return True


def queue_reminder_text(appointment, claim: str) -> dict:
	"""The text of a claimed reminder: queued for a job after the commit, or why not (also noted on
	the timeline). The claim row's SMS fields."""
	if not get_settings().remind_customer:
		return {"sms_state": NOT_SENT, "sms_note": _("Reminding the customer is off in the settings")}
	why = why_not(appointment)
	if why:
		note_not_sent(appointment, REMINDER_TEXT, why)
		return {"sms_state": NOT_SENT, "sms_note": why[:140]}
	after_commit(REMINDER_JOB, claim=claim)
	return {"sms_state": QUEUED}


def queue_lost_reminder_texts(now=None) -> int:
	"""Reminder texts still Queued LOST_AFTER after their claim (its job was lost, or the queue is that
	far behind): queued again; the job keeps each once. Returns how many."""
	now = get_datetime(now) if now else now_datetime()
	lost = frappe.get_all(
		REMINDER,
		filters={"sms_state": QUEUED, "creation": ("<", now - LOST_AFTER), "scheduled_time": (">", now)},
		pluck="name",
		limit=500,
	)
	for claim in lost:
		try:
			queue_job(REMINDER_JOB, claim=claim)
		except Exception:
			frappe.logger("crm_appointments").exception("a text message could not be queued")
			break
	return len(lost)


# -- the jobs -------------------------------------------------------------------------------------------


def send_text(appointment: str, kind: str, message: str, recorded: str):
	"""Job: send a booking's text, rendered when it was decided."""
	if not frappe.db.exists(APPOINTMENT, appointment):
		return
	doc = frappe.get_doc(APPOINTMENT, appointment)
	why = why_not(doc)  # the settings or the number may have changed since
	if why:
		note_not_sent(doc, kind, why)
		return
	deliver(doc, kind, message, recorded)


def send_reminder_text(claim: str):
	"""Job: send a claimed reminder's text, once (see the module's docstring)."""
	rows = frappe.db.sql(
		f"select appointment, minutes_before, scheduled_time, sms_state from `tab{REMINDER}`"
		" where name = %s for update",
		claim,
		as_dict=True,
	)
	if not rows or rows[0].sms_state != QUEUED:
		frappe.db.rollback()
		return
	row = rows[0]
	frappe.db.set_value(REMINDER, claim, "sms_state", SENDING, update_modified=False)
	frappe.db.commit()  # taken: no other job sends it, and no lock is held while it is sent
	outcome = {"sms_state": NOT_SENT}
	doc = (
		frappe.get_doc(APPOINTMENT, row.appointment)
		if frappe.db.exists(APPOINTMENT, row.appointment)
		else None
	)
	if (
		doc is None
		or workflow.value_of(doc.status) not in workflow.LIVE
		or get_datetime(doc.scheduled_time) != get_datetime(row.scheduled_time)
	):
		outcome["sms_note"] = _("The appointment changed")
	elif why := why_not(doc):
		note_not_sent(doc, REMINDER_TEXT, why)
		outcome["sms_note"] = why[:140]
	else:
		message = render(REMINDER_TEXT, doc, reminder_text=emails.duration_text(row.minutes_before))
		failure = deliver(doc, REMINDER_TEXT, message, message)
		if failure:
			outcome["sms_note"] = failure[:140]
		else:
			outcome = {"sms_state": SENT, "sms_sent_at": now_datetime()}
	frappe.db.set_value(REMINDER, claim, outcome)
	frappe.db.commit()


# -- sending ----------------------------------------------------------------------------------------------


def deliver(appointment, kind: str, message: str, recorded: str) -> str | None:
	"""Send the text to the customer's number and record it (SMS Log, the timeline); or note on the
	timeline why it failed. None when sent, else why not."""
	number = validate_receiver_nos([appointment.customer_phone_number])[0]
	try:
		status = send(number, message)
	except outbound.UnsafeTargetError as error:
		why = _("the SMS Gateway URL was refused: {0}").format(str(error).rstrip("."))
	except requests.Timeout:
		why = _("the SMS gateway did not answer within {0} seconds").format(TIMEOUT)
	except requests.RequestException as error:
		# Not the error's text: it may hold the URL, and a GET gateway's credentials with it.
		why = _("the SMS gateway could not be reached ({0})").format(type(error).__name__)
	else:
		why = None if 200 <= status < 300 else _("the SMS gateway answered {0}").format(status)
	if why:
		note_not_sent(appointment, kind, why)
		return why
	log(number, message)
	record(appointment, kind, number, recorded)
	return None


def send(number: str, message: str) -> int:
	"""One request to the gateway, shaped as Frappe's send_via_gateway shapes it; its status code."""
	settings = frappe.get_single(SMS_SETTINGS)
	url = settings.sms_gateway_url.strip()
	headers = get_headers(settings)
	params = {settings.message_parameter: message}
	for row in settings.get("parameters"):
		if not row.header:
			params[row.parameter] = row.value
	params[settings.receiver_parameter] = number
	kwargs = {"headers": headers, "timeout": TIMEOUT, "allow_redirects": False}
	if headers.get("Content-Type") == "application/json":
		kwargs["json"] = params
	elif settings.use_post:
		kwargs["data"] = params
	else:
		kwargs["params"] = params
	outbound.check_url(url)
	with outbound.guarded_session() as session:
		response = session.request("POST" if settings.use_post else "GET", url, **kwargs)
	return response.status_code


def log(number: str, message: str) -> str | None:
	"""An SMS Log row as Frappe's create_sms_log writes it, where the site has the DocType."""
	if not frappe.db.exists("DocType", SMS_LOG):
		return None
	entry = frappe.new_doc(SMS_LOG)
	entry.update(
		{
			"sent_on": nowdate(),
			"message": message,
			"no_of_requested_sms": 1,
			"requested_numbers": number,
			"no_of_sent_sms": 1,
			"sent_to": number,
		}
	)
	entry.insert(ignore_permissions=True)
	return entry.name


def record(appointment, kind: str, number: str, recorded: str):
	"""The text on the appointment's timeline: a Communication of medium SMS, which whoever may read the
	appointment may read (Frappe's rule for a Communication with a reference)."""
	frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Automated Message",
			"communication_medium": "SMS",
			"sent_or_received": "Sent",
			"delivery_status": "Sent",
			"subject": _("Text message: {0}").format(what(kind)),
			"content": "<p>{}</p>".format(frappe.utils.escape_html(recorded).replace("\n", "<br>")),
			"phone_no": number,
			"reference_doctype": appointment.doctype,
			"reference_name": appointment.name,
		}
	).insert(ignore_permissions=True)
