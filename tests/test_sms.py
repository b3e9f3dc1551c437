"""Text messages, against a real gateway: Frappe's SMS Settings point at an HTTP server of each test's
own on a loopback port, which keeps what it received (the number and the text) and answers 200, or
500, or nothing at all.

The jobs: as in test_webhooks.py, `sms.queue_job` (the one call through which the app hands a text to
frappe.enqueue, after the commit) is replaced by a recorder, and the test runs each recorded job as a
worker does. Bookings are made with booking/rules.py's `book`, `reschedule` and `cancel`, what the
booking routes and pages call, as the guest, and committed as a route commits. SMS Settings and CRM
Appointment Settings are put back as they were after each test.
"""

from contextlib import contextmanager
from datetime import timedelta

import frappe
import pytest
from frappe.desk.form.load import get_communications
from frappe.utils import now_datetime

from crm_appointments.booking import manage_links
from crm_appointments.booking import rules as booking
from crm_appointments.core import outbound
from crm_appointments.core.names import APPOINTMENT, REMINDER, SETTINGS
from crm_appointments.notify import sms
from crm_appointments.notify.reminders import send_due_reminders
from crm_appointments.scheduling.timezones import site_zone
from tests import factories, http_receiver
from tests.factories import OUTSIDER, USERS, commit, future, make
from tests.test_webhooks import Jobs

PHONE = "+49 30 1234567"
NUMBER = "+49301234567"  # as Frappe's validate_receiver_nos sends it
FROM = "+15005550006"
AUTH = "Basic QUN4eHg6c2VjcmV0"
SILENT = http_receiver.SILENT
TIMEOUT = 0.5


class Gateway(http_receiver.Receiver):
	"""An SMS gateway of the test's own (tests/http_receiver.py) at a path like Twilio's; it keeps
	each request with its parameters (form or query) under "params"."""

	def __init__(self):
		super().__init__("/2010-04-01/Accounts/ACxxx/Messages.json", TIMEOUT * 4)

	@property
	def requests(self) -> list[dict]:
		return [{**r, "params": self.params(r)} for r in self.received]

	def texts(self) -> list[tuple[str, str]]:
		"""(number, text) of each request, as Twilio's parameters name them."""
		return [(r["params"].get("To"), r["params"].get("Body")) for r in self.requests]


def snapshot_sms_settings():
	return (
		frappe.db.sql("select field, value from `tabSingles` where doctype = 'SMS Settings'"),
		frappe.db.sql("select * from `tabSMS Parameter` where parent = 'SMS Settings'", as_dict=True),
	)


def restore_sms_settings(saved):
	singles, parameters = saved
	frappe.db.rollback()
	frappe.db.delete("Singles", {"doctype": "SMS Settings"})
	for field, value in singles:
		frappe.db.sql(
			"insert into `tabSingles` (doctype, field, value) values ('SMS Settings', %s, %s)", (field, value)
		)
	frappe.db.delete("SMS Parameter", {"parent": "SMS Settings"})
	for row in parameters:
		columns = ", ".join(f"`{c}`" for c in row)
		frappe.db.sql(
			f"insert into `tabSMS Parameter` ({columns}) values ({', '.join(['%s'] * len(row))})",
			tuple(row.values()),
		)
	frappe.clear_document_cache("SMS Settings", "SMS Settings")
	frappe.db.commit()


@pytest.fixture
def gateway(committed, monkeypatch):
	"""A gateway, and SMS Settings set up for it as for Twilio's Messages API (a POST of To, From and
	Body, basic auth in a header); everything put back after."""
	server = Gateway()
	saved = snapshot_sms_settings()
	monkeypatch.setitem(frappe.local.conf, outbound.ALLOW_PRIVATE_CONFIG, 1)
	monkeypatch.setattr(sms, "TIMEOUT", TIMEOUT)
	settings = frappe.get_single("SMS Settings")
	settings.sms_gateway_url = server.url
	settings.message_parameter, settings.receiver_parameter, settings.use_post = "Body", "To", 1
	settings.set("parameters", [])
	settings.append("parameters", {"parameter": "From", "value": FROM, "header": 0})
	settings.append("parameters", {"parameter": "Authorization", "value": AUTH, "header": 1})
	settings.save()
	frappe.db.commit()
	yield server
	server.stop()
	restore_sms_settings(saved)
	frappe.db.rollback()
	if frappe.db.exists("DocType", sms.SMS_LOG):
		frappe.db.delete(sms.SMS_LOG, {"creation": (">=", committed)})
		frappe.db.commit()


@pytest.fixture
def jobs(monkeypatch):
	recorder = Jobs()
	monkeypatch.setattr(sms, "queue_job", recorder.record)
	return recorder


@contextmanager
def channels(**by_minutes):
	"""The reminder offsets' channels (minutes=channel, e.g. m1440="SMS"), put back after."""
	table = "CRM Appointment Reminder Offset"
	before = frappe.get_all(table, filters={"parent": SETTINGS}, fields=["name", "channel"])
	for key, channel in by_minutes.items():
		frappe.db.set_value(
			table,
			{"parent": SETTINGS, "minutes_before": int(key[1:])},
			"channel",
			channel,
			update_modified=False,
		)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	frappe.db.commit()
	try:
		yield
	finally:
		frappe.db.rollback()
		for row in before:
			frappe.db.set_value(table, row.name, "channel", row.channel, update_modified=False)
		frappe.clear_document_cache(SETTINGS, SETTINGS)
		frappe.db.commit()


def claims(doc) -> list:
	return frappe.get_all(
		REMINDER,
		filters={"appointment": doc.name},
		fields=["minutes_before", "channel", "state", "email_queue", "sms_state", "sms_note"],
		order_by="minutes_before desc",
	)


def timeline(doc) -> tuple[list, list]:
	"""The appointment's SMS Communications (subject, content, phone) and its Info comments."""
	frappe.db.rollback()
	texts = frappe.get_all(
		"Communication",
		filters={"reference_doctype": APPOINTMENT, "reference_name": doc.name, "communication_medium": "SMS"},
		fields=["name", "subject", "content", "phone_no"],
	)
	notes = frappe.get_all(
		"Comment",
		filters={"reference_doctype": APPOINTMENT, "reference_name": doc.name, "comment_type": "Info"},
		pluck="content",
	)
	return texts, notes


def emails_of(doc) -> int:
	return frappe.db.count("Email Queue", {"reference_doctype": APPOINTMENT, "reference_name": doc.name})


@pytest.fixture
def start():
	return future(days=3).replace(second=0)


def appointment_at(start, phone=PHONE):
	return commit(
		make(
			status="scheduled",
			scheduled_time=start,
			customer_email="sms@example.org",
			customer_phone_number=phone,
		)
	)


# -- reminders ------------------------------------------------------------------------------------------


def test_an_offset_s_channel_is_email_unless_chosen_and_rows_from_before_stay_email():
	field = frappe.get_meta("CRM Appointment Reminder Offset").get_field("channel")
	assert (field.options.split("\n"), field.default) == (["Email", "SMS", "Email and SMS"], "Email")
	frappe.db.sql(
		f"update `tabCRM Appointment Reminder Offset` set channel = null where parent = '{SETTINGS}'"
	)
	from crm_appointments.patches.v0_6 import text_message_settings

	text_message_settings.execute()
	assert set(frappe.get_all("CRM Appointment Reminder Offset", {"parent": SETTINGS}, pluck="channel")) == {
		"Email"
	}


def test_an_sms_reminder_is_sent_once_under_the_claim_however_often_the_jobs_run(gateway, jobs, start):
	doc = appointment_at(start)
	with channels(m1440="SMS"):
		assert send_due_reminders(now=start - timedelta(hours=23)) == 1
		assert [m for m, _kw in jobs.queued] == [sms.REMINDER_JOB]
		# The scheduler again an hour later, the job not run yet: the claim is taken, and the text,
		# still Queued, is handed to a job again; both jobs run.
		assert send_due_reminders(now=start - timedelta(hours=22)) == 0
		assert jobs.run() == 2
		# A later run finds nothing to send or queue (the text is Sent).
		send_due_reminders(now=start - timedelta(hours=21))
		assert jobs.queued == []
	[(number, text)] = gateway.texts()
	assert number == NUMBER and text.startswith("Reminder: your appointment is ")
	assert f"({site_zone().key})" in text  # no host: the site's zone, named
	request = gateway.requests[0]
	assert (request["method"], request["params"]["From"], request["headers"]["authorization"]) == (
		"POST",
		FROM,
		AUTH,
	)
	[row] = claims(doc)
	assert (row.channel, row.state, row.email_queue, row.sms_state) == ("SMS", "Not Sent", None, "Sent")
	assert emails_of(doc) == 0
	texts, notes = timeline(doc)
	assert [(t.subject, t.phone_no) for t in texts] == [("Text message: reminder", NUMBER)] and notes == []
	assert texts[0].content == f"<p>{frappe.utils.escape_html(text)}</p>"


def test_email_and_sms_sends_both_and_an_email_offset_no_text(gateway, jobs, start):
	doc = appointment_at(start)
	with channels(m1440="Email and SMS", m60="Email"):
		send_due_reminders(now=start - timedelta(hours=23))
		jobs.run()
		send_due_reminders(now=start - timedelta(minutes=59))
		assert jobs.run() == 0
	rows = claims(doc)
	assert [(r.minutes_before, r.state, r.sms_state) for r in rows] == [
		(1440, "Queued", "Sent"),
		(60, "Queued", None),
	]
	assert emails_of(doc) == 2 and len(gateway.texts()) == 1


def test_a_rolled_back_reminder_run_queues_no_text(gateway, jobs, start):
	doc = appointment_at(start)
	assert sms.queue_reminder_text(doc, "no-such-claim") == {"sms_state": sms.QUEUED}
	frappe.db.rollback()
	frappe.db.commit()
	assert jobs.queued == [] and gateway.texts() == []


def test_the_reminder_uses_the_edited_template_in_the_host_s_zone(gateway, jobs, start):
	factories.host("user", time_zone="America/New_York")
	commit(make(status="scheduled", scheduled_time=start, customer_phone_number=PHONE, host=USERS["user"]))
	template = "Hi {{ customer_name }}: {{ start }} (in {{ reminder_text }}) with {{ host_name }}"
	with channels(m1440="SMS"), factories.booking_settings(sms_reminder_template=template):
		send_due_reminders(now=start - timedelta(hours=23))
		jobs.run()
	[(_number, text)] = gateway.texts()
	assert text.startswith("Hi Ada Lovelace: ") and text.endswith(" (in 1 day) with CRM test user")
	assert "(America/New_York)" in text


def test_no_phone_number_or_no_sms_settings_is_noted_on_the_timeline_and_nothing_sent(gateway, jobs, start):
	no_phone = appointment_at(start, phone=None)
	with channels(m1440="SMS"):
		send_due_reminders(now=start - timedelta(hours=23))
		frappe.db.set_single_value("SMS Settings", "sms_gateway_url", "")
		frappe.db.commit()
		no_gateway = appointment_at(start + timedelta(minutes=30))
		send_due_reminders(now=start - timedelta(hours=23))
	assert jobs.queued == [] and gateway.texts() == []
	assert claims(no_phone)[0].sms_state == "Not Sent"
	assert claims(no_phone)[0].sms_note == "the customer gave no phone number"
	_texts, notes = timeline(no_phone)
	assert notes == ["Text message not sent (reminder): the customer gave no phone number."]
	_texts, notes = timeline(no_gateway)
	assert notes == [
		"Text message not sent (reminder): SMS Settings have no SMS Gateway URL: set them up to send"
		" text messages."
	]


def test_a_gateway_that_fails_or_is_silent_is_noted_and_the_text_not_sent_again(gateway, jobs, start):
	with channels(m1440="SMS"):
		for answer, why in (
			(500, "the SMS gateway answered 500"),
			(SILENT, f"the SMS gateway did not answer within {TIMEOUT} seconds"),
		):
			doc = appointment_at(start)
			gateway.answers = [answer]
			send_due_reminders(now=start - timedelta(hours=23))
			assert jobs.run() == 1
			send_due_reminders(now=start - timedelta(hours=22))
			assert jobs.run() == 0
			[row] = claims(doc)
			assert (row.sms_state, row.sms_note) == ("Not Sent", why)
			texts, notes = timeline(doc)
			assert texts == [] and notes == [f"Text message not sent (reminder): {why}."]
			start += timedelta(hours=2)
	assert len(gateway.received) == 2


def test_a_text_queued_but_never_handed_to_a_worker_is_queued_again_and_still_sent_once(gateway, jobs, start):
	doc = appointment_at(start)
	with channels(m1440="SMS"):
		claimed_at = start - timedelta(hours=23)
		send_due_reminders(now=claimed_at)
		jobs.queued.clear()  # lost (Redis was away at the commit)
		send_due_reminders(now=claimed_at + sms.LOST_AFTER + timedelta(minutes=1))
		assert [kw["claim"] for _m, kw in jobs.queued] == [
			frappe.get_all(REMINDER, {"appointment": doc.name}, pluck="name")[0]
		]
		jobs.run()
	assert len(gateway.texts()) == 1 and claims(doc)[0].sms_state == "Sent"


# -- bookings ----------------------------------------------------------------------------------------------


@pytest.fixture
def open_booking(committed):
	"""A host free all day every day (the site's zone), public booking and booking texts on."""
	factories.host("user")
	frappe.db.commit()
	with factories.booking_settings(
		enable_public_booking=1, booking_duration=60, slot_interval=0, sms_booking_messages=1
	):
		yield


def slot(days: int = 2, hour: int = 10):
	return future(days=days).replace(hour=hour, minute=0, second=0).replace(tzinfo=site_zone())


def book_as_guest(**fields):
	frappe.set_user("Guest")
	try:
		doc, token = booking.book(
			start=fields.pop("start", slot()),
			customer_name="Grace Hopper",
			customer_email="grace@example.org",
			customer_phone_number=fields.pop("phone", PHONE),
			**fields,
		)
		frappe.db.commit()  # as the route does
	finally:
		frappe.set_user("Administrator")
	return doc, token


def test_a_booking_is_confirmed_by_text_in_the_customer_s_zone_with_the_link_kept_off_the_timeline(
	gateway, jobs, open_booking
):
	doc, token = book_as_guest(time_zone="Asia/Tokyo")
	assert [m for m, _kw in jobs.queued] == [sms.TEXT_JOB]
	jobs.run()
	[(number, text)] = gateway.texts()
	link = manage_links.manage_url(token)
	assert number == NUMBER and text.startswith("Booked: ") and text.endswith(f"To change or cancel: {link}")
	assert "(Asia/Tokyo)" in text and "with CRM test user" in text
	assert len(text) <= 306  # two SMS segments
	texts, notes = timeline(doc)
	assert notes == [] and [t.subject for t in texts] == ["Text message: booking confirmation"]
	assert token not in texts[0].content and "private manage link]" in texts[0].content
	# The timeline's copy is the appointment's: the form shows it to whoever may read the appointment;
	# to anyone else neither it nor (by its reference) the Communication itself.
	frappe.set_user(USERS["manager"])
	assert texts[0].name in [c.name for c in get_communications(APPOINTMENT, doc.name)]
	for user in (OUTSIDER, USERS["nobody"], "Guest"):
		frappe.set_user(user)
		with pytest.raises(frappe.PermissionError):
			get_communications(APPOINTMENT, doc.name)
		assert not frappe.has_permission("Communication", "read", doc=texts[0].name, user=user)
	frappe.set_user("Administrator")


def test_moving_and_cancelling_through_the_link_are_texted_too(gateway, jobs, open_booking):
	doc, token = book_as_guest()
	frappe.set_user("Guest")
	try:
		booking.reschedule(frappe.get_doc(APPOINTMENT, doc.name), token, slot(days=3))
		frappe.db.commit()
		booking.cancel(frappe.get_doc(APPOINTMENT, doc.name))
		frappe.db.commit()
	finally:
		frappe.set_user("Administrator")
	assert jobs.run() == 3
	kinds = [text.split(":")[0] for _n, text in gateway.texts()]
	assert kinds == ["Booked", "Moved", "Cancelled"]
	texts, _notes = timeline(doc)
	assert sorted(t.subject for t in texts) == [
		"Text message: booking cancelled",
		"Text message: booking confirmation",
		"Text message: booking moved",
	]


def test_a_failing_gateway_never_blocks_or_loses_a_booking_and_no_number_is_noted(
	gateway, jobs, open_booking
):
	gateway.answers = [500]
	doc, _token = book_as_guest()
	jobs.run()
	assert frappe.db.exists(APPOINTMENT, doc.name) and len(gateway.received) == 1
	texts, notes = timeline(doc)
	assert texts == [] and notes == [
		"Text message not sent (booking confirmation): the SMS gateway answered 500."
	]
	no_phone, _token = book_as_guest(phone=None, start=slot(hour=11))
	assert jobs.queued == []
	_texts, notes = timeline(no_phone)
	assert notes == ["Text message not sent (booking confirmation): the customer gave no phone number."]


def test_booking_texts_are_off_unless_switched_on(gateway, jobs, open_booking):
	with factories.booking_settings(sms_booking_messages=0):
		doc, _token = book_as_guest()
	assert jobs.queued == [] and timeline(doc) == ([], [])


# -- the log, the templates ------------------------------------------------------------------------------------


@pytest.fixture
def sms_log_doctype():
	"""Frappe 15 has no SMS Log (ERPNext brings it; Frappe itself from 16): a copy of its fields, made
	for the test and dropped after, as a site with it has it."""
	if frappe.db.exists("DocType", sms.SMS_LOG):
		yield
		return
	fields = [
		("sent_on", "Date"),
		("message", "Small Text"),
		("no_of_requested_sms", "Int"),
		("requested_numbers", "Code"),
		("no_of_sent_sms", "Int"),
		("sent_to", "Code"),
	]
	frappe.get_doc(
		{
			"doctype": "DocType",
			"name": sms.SMS_LOG,
			"module": "CRM Appointments",
			"custom": 1,
			"autoname": "hash",
			"fields": [{"fieldname": f, "fieldtype": t, "label": f} for f, t in fields],
			"permissions": [{"role": "System Manager", "read": 1}],
		}
	).insert()
	frappe.db.commit()
	yield
	frappe.db.rollback()
	frappe.delete_doc("DocType", sms.SMS_LOG, force=True, ignore_permissions=True)
	frappe.db.commit()


def test_a_sent_text_is_in_the_sms_log_where_the_site_has_one(gateway, jobs, open_booking, sms_log_doctype):
	book_as_guest()
	jobs.run()
	[(_number, text)] = gateway.texts()
	[entry] = frappe.get_all(
		sms.SMS_LOG, filters={"creation": (">=", now_datetime() - timedelta(minutes=1))}, fields=["*"]
	)
	assert (entry.message, entry.sent_to, entry.no_of_sent_sms) == (text, NUMBER, 1)


def test_the_default_texts_fit_two_segments_and_a_broken_template_is_refused(start):
	doc = make(status="scheduled", scheduled_time=start, customer_phone_number=PHONE, location="A" * 60)
	link = "https://crm.example.com/book/manage/" + "x" * 43
	for kind in (sms.BOOKED, sms.MOVED, sms.CANCELLED, sms.REMINDER_TEXT):
		text = sms.render(
			kind, doc, "America/Argentina/Buenos_Aires", manage_link=link, reminder_text="1 day"
		)
		assert 20 < len(text) <= 306, (kind, text)
	settings = frappe.get_single(SETTINGS)
	settings.sms_reminder_template = "Hi {% if customer_name %}{{ customer_name }"
	with pytest.raises(frappe.ValidationError, match="Reminder Text is not a valid template"):
		settings.save()
	assert frappe.db.get_single_value(SETTINGS, "sms_reminder_template") != settings.sms_reminder_template
