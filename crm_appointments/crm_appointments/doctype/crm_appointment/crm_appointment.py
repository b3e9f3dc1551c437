# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""CRM Appointment: field rules and the status workflow.

Every path that saves an appointment (the desk, the REST API, the ORM, Data Import) comes through
`validate`, so every rule lives here, once. The workflow itself is data in `status_workflow`.
"""

import json
import re
from datetime import timedelta

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, cstr, get_datetime, now_datetime, strip_html, validate_email_address

from crm_appointments.calendars import caldav_copies
from crm_appointments.calendars import event as calendar_sync
from crm_appointments.core import exceptions
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.exceptions import (
	DoubleBookingError,
	InvalidFieldError,
	StatusTransitionError,
	TerminalAppointmentError,
)
from crm_appointments.core.frappe_adapter import ChecksBeforeLinks
from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE, HOST
from crm_appointments.core.party import party_doctypes
from crm_appointments.core.random_ids import random_part
from crm_appointments.core.settings import (
	DEFAULT_DURATION,
	MAX_DURATION,
	MIN_DURATION,
	get_settings,
)
from crm_appointments.crm_appointments.doctype.crm_appointment_type import crm_appointment_type as types
from crm_appointments.notify import assignments as host_assignment
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.records import deletion as belongings
from crm_appointments.scheduling import availability, caldav_busy, event_busy, host_calendars, timing
from crm_appointments.scheduling.host_calendars import host_name
from crm_appointments.scheduling.timezones import site_zone, zone_of

NAME_PREFIX = "appointment_"
NAME_RANDOM_LENGTH = 16  # 36**16 ~ 8e24: unguessable, and never drawn twice in practice

MAX_DATA_LENGTH = 140
# Frappe refuses a longer value in a Phone field with its own error, naming no field; ours comes first.
MAX_PHONE_LENGTH = 20
MAX_REASON_LENGTH = 1000
MAX_ANSWER_LENGTH = 2000

PHONE_PATTERN = re.compile(r"^[0-9 +\-().]+$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
SINGLE_LINE_FIELDS = ("customer_name", "customer_phone_number", "customer_skype", "customer_email")
OPTIONAL_FIELDS = (
	"customer_phone_number",
	"customer_skype",
	"customer_details",
	"calendar_event",
	"appointment_with",
	"party",
	"host",
	"appointment_type",
	"location",
)


def get_for_update(name: str, hosts=()):
	"""The appointment, locked for a write: the host's rows first, as every save takes them (its host,
	and `hosts`, those the write may give it). Should another save give it another host between
	reading the host and locking the appointment, saving it would take that host's row after the
	appointment's, against the order every other save keeps (a deadlock): the same conflict as a
	change made meanwhile, to retry."""
	host = host_calendars.committed_host(name)
	host_calendars.lock_hosts([host, *hosts])
	doc = frappe.get_doc(APPOINTMENT, name, for_update=True)
	if (doc.host or None) != host:
		raise frappe.TimestampMismatchError(
			_("The appointment was changed by another request at the same time. Retry.")
		)
	return doc


def new_appointment_id() -> str:
	return NAME_PREFIX + random_part(NAME_RANDOM_LENGTH)


class CRMAppointment(ChecksBeforeLinks, Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		answers: DF.JSON | None
		appointment_type: DF.Link | None
		appointment_with: DF.Link | None
		calendar_event: DF.Link | None
		customer_details: DF.LongText | None
		customer_email: DF.Data
		customer_name: DF.Data
		customer_phone_number: DF.Data | None
		calendar_sequence: DF.Int
		customer_skype: DF.Data | None
		duration: DF.Int
		host: DF.Link | None
		location: DF.SmallText | None
		manage_token_hash: DF.Data | None
		party: DF.DynamicLink | None
		scheduled_time: DF.Datetime
		status: DF.Literal["Draft", "Scheduled", "Confirmed", "Completed", "Cancelled", "No Show"]
	# end: auto-generated types

	def autoname(self):
		"""A random name that no appointment has, and none had: a deleted one's name stays its own,
		so restoring it from Deleted Document (which keeps its id) cannot collide and an id is never
		reused."""
		if self.flags.restoring:
			self.name = self.flags.restored_name
			return
		self.name = new_appointment_id()
		while frappe.db.exists(self.doctype, self.name) or frappe.db.exists(
			"Deleted Document", {"deleted_doctype": self.doctype, "deleted_name": self.name}
		):
			self.name = new_appointment_id()

	def check_if_latest(self):
		"""Frappe locks the row here, before any hook; the hosts' rows come first (see
		host_calendars.lock_hosts: one lock order for every save). The host's outside calendar is read
		before that, when it is not cached: never while a row is locked."""
		self.read_outside_calendar()
		if not self.is_new():
			host_calendars.lock_hosts([host_calendars.committed_host(self.name), self.host])
		super().check_if_latest()

	def read_outside_calendar(self):
		"""Warm the cache of the host's CalDAV busy time around this appointment (caldav_busy.busy reads
		only what is not cached, and nothing while this transaction holds host rows), so the overlap
		rule, under the host's lock, can count it from the cache."""
		if self.host and self.is_live() and self.scheduled_time:
			caldav_busy.busy([self.host], *self.held_interval())  # nothing for a host with CalDAV off

	def onload(self):
		"""What the desk needs to draw the status buttons."""
		current = workflow.value_of(self.status)
		self.set_onload("status_moves", [workflow.label_of(v) for v in workflow.allowed_moves(current)])

	@frappe.whitelist()
	def move_to(self, status: str, reason: str | None = None):
		"""Move to another status (a desk button); the same rules as any save apply. A reason, when
		given (the desk asks for one on cancelling), is kept in the timeline as a comment."""
		reason = cstr(reason).strip()
		if len(reason) > MAX_REASON_LENGTH:
			self.throw_invalid(
				"reason", _("The reason may be at most {0} characters long.").format(MAX_REASON_LENGTH)
			)
		self.status = status
		self.save()
		if reason:
			self.add_comment(
				"Comment", _("{0}: {1}").format(_(self.status), frappe.utils.escape_html(reason))
			)

	@frappe.whitelist()
	def reschedule(self, scheduled_time: str, duration: int | str | None = None):
		"""Give the appointment a new time, and optionally a new duration (the desk's Reschedule
		dialog and calendar drags). The rules of any save apply: a confirmed appointment goes back to
		scheduled, and a final one cannot move."""
		self.scheduled_time = scheduled_time
		if duration not in (None, ""):
			self.duration = duration
		self.save()

	def changes(self, values: dict) -> list[str]:
		"""The fields that saving these values would change, compared as a save stores them (trimmed,
		e-mail lower-case, statuses as labels). Saving no change is not a write: an API PATCH that
		changes nothing leaves the appointment, its modified time and its Versions as they are."""
		candidate = frappe.get_doc(self.as_dict())
		candidate.update(values)
		candidate.normalise_fields()
		return [f for f in values if field_changed(self.meta, f, self.get(f), candidate.get(f))]

	def before_link_validation(self):
		# Frappe checks links on every insert and save, before `validate` (frappe_adapter): normalise
		# the input and apply our link rules here, first, so their errors name the field. They are not
		# repeated in `validate`.
		self.normalise_fields()
		if self.is_new() and (copy := belongings.deleted_copy(self)):
			# Frappe's restore (Deleted Document > Restore) inserts the kept copy: it keeps its id
			# (autoname, which runs later in the insert), and its Event comes back after the insert
			# (belongings.restore), if it can.
			self.flags.restoring, self.flags.restored_name = copy, self.name
			self.flags.restored_event, self.calendar_event = self.calendar_event, None
		self.validate_party()
		self.validate_host()
		self.validate_calendar_event()

	def validate(self):
		self.flags.host_zone = None  # read again by this save (host_zone)
		if self.flags.restoring:
			self.keep_as_deleted()
		if not (self.is_new() and self.flags.customer_fields_checked):  # a booking checked them first
			self.validate_customer_fields()
		self.validate_scheduled_time()
		self.validate_duration()
		self.validate_type()
		self.validate_answers()
		if not self.flags.restoring:
			# A restored appointment's status and times were valid when it was deleted; they come back
			# as they were, if its host is still free then.
			self.validate_status()
			self.keep_manage_token()
			self.bump_calendar_sequence()
		if self.holds_new_time():
			self.validate_host_is_free()
			self.validate_max_per_day()
			self.warn_outside_hours()

	def keep_as_deleted(self):
		"""A restored appointment keeps its owner and creation (Frappe's insert sets them anew)."""
		kept = json.loads(frappe.db.get_value("Deleted Document", self.flags.restoring, "data"))
		self.owner, self.creation = kept["owner"], kept["creation"]

	def after_insert(self):
		if not self.flags.restoring:
			return
		with host_assignment.app_assigning():  # its ToDos come back as they were
			not_restored = belongings.restore(self, self.flags.restored_event)
		if not_restored:
			frappe.msgprint(
				_("Restored, except:")
				+ "<ul>"
				+ "".join(f"<li>{escape(line)}</li>" for line in not_restored)
				+ "</ul>",
				title=_("Not everything came back"),
				indicator="orange",
			)

	def on_update(self):
		# Taken first: calendar_sync's db_set loads the document as saved into the same place.
		before = self.get_doc_before_save()
		calendar_sync.sync(self)
		caldav_copies.queue_sync(self, before)
		host_assignment.sync(self, before)
		if self.moved_from_live_to("cancelled"):
			appointment_mail.send_cancellation(self)

	def on_trash(self):
		belongings.stash(self)
		calendar_sync.remove(self)
		caldav_copies.queue_sync(self)
		belongings.set_user_permissions_aside(self)

	def after_delete(self):
		belongings.put_user_permissions_back(self)

	def keep_manage_token(self):
		"""The manage token's hash is the app's: a booking sets it (booking.book, through
		`flags.manage_token_hash`), and no save changes it after (the form, /api/resource, Data Import):
		a planted hash would manage the booking as a guest."""
		if self.is_new():
			self.manage_token_hash = self.flags.manage_token_hash or None
		else:
			self.manage_token_hash = self.get_doc_before_save().manage_token_hash

	def bump_calendar_sequence(self):
		"""iCalendar SEQUENCE: rises each time the invitation changes (a new time or a cancellation);
		the app's alone, whatever a save sends."""
		if self.is_new():
			self.calendar_sequence = 0
			return
		before = self.get_doc_before_save()
		changed = (
			field_changed(self.meta, "scheduled_time", before.scheduled_time, self.scheduled_time)
			or cint(before.duration) != cint(self.duration)
			or self.moved_from_live_to("cancelled")
		)
		self.calendar_sequence = cint(before.calendar_sequence) + (1 if changed else 0)

	def end_time(self):
		"""When the appointment ends: its start plus its duration."""
		return get_datetime(self.scheduled_time) + timedelta(minutes=cint(self.duration))

	def is_live(self) -> bool:
		return workflow.value_of(self.status) in workflow.LIVE

	def held_interval(self):
		"""What the appointment holds of its host's time (UTC): its length, padded by its type's buffers
		(scheduling/timing.py)."""
		buffers = timing.buffers_by_type()
		return timing.held(
			host_calendars.as_utc(self.scheduled_time),
			cint(self.duration),
			buffers.get(self.appointment_type or None, buffers[None]),
		)

	def holds_new_time(self) -> bool:
		"""Whether this save gives a host time they did not hold for it before: a live appointment that
		is new, or got this host, a new time or length, or came back to live."""
		if not (self.host and self.is_live()):
			return False
		before = None if self.is_new() else self.get_doc_before_save()
		return (
			before is None
			or before.host != self.host
			or workflow.value_of(before.status) not in workflow.LIVE
			or field_changed(self.meta, "scheduled_time", before.scheduled_time, self.scheduled_time)
			or cint(before.duration) != cint(self.duration)
		)

	def moved_from_live_to(self, status: str) -> bool:
		before = self.get_doc_before_save()
		return bool(
			before
			and workflow.value_of(before.status) in workflow.LIVE
			and workflow.value_of(self.status) == status
		)

	# -- field rules ---------------------------------------------------------------------------

	def normalise_fields(self):
		"""Trim what is typed, store e-mail lower-case, blank optional fields as unset, statuses as labels."""
		for fieldname in SINGLE_LINE_FIELDS:
			if isinstance(self.get(fieldname), str):
				self.set(fieldname, self.get(fieldname).strip())
		if self.customer_email:
			self.customer_email = self.customer_email.lower()
		for fieldname in OPTIONAL_FIELDS:
			value = self.get(fieldname)
			if value is not None and not cstr(value).strip():
				self.set(fieldname, None)
		if self.duration in (None, ""):
			self.duration = (
				timing.timing_of(self.appointment_type).duration
				if self.appointment_type
				else get_settings().default_duration or DEFAULT_DURATION
			)
		if self.status in (None, ""):
			self.status = workflow.label_of(workflow.DEFAULT)
		self.status = workflow.label_of(self.status) or self.status

	def validate_customer_fields(self):
		"""The customer's own fields (normalised first): self-service booking checks them on their own
		before it looks for a free host, so bad input is a 400 whatever the time asked for."""
		self.validate_customer_name()
		self.validate_customer_email()
		self.validate_phone_number()
		self.validate_single_line_fields()

	def validate_customer_name(self):
		if not self.customer_name:
			self.throw_invalid("customer_name", _("Customer Name is required."))
		# Frappe counts a required field whose text is all markup as empty (and would refuse it with its
		# own message, naming no field for the API): the same rule, said here.
		if not strip_html(self.customer_name).strip():
			self.throw_invalid("customer_name", _("Customer Name must contain some text, not only markup."))
		self.validate_length("customer_name")

	def validate_customer_email(self):
		email = self.customer_email
		if not email:
			self.throw_invalid("customer_email", _("Customer Email is required."))
		if re.search(r"[\s<>,;]", email) or validate_email_address(email) != email:
			self.throw_invalid(
				"customer_email", _("{0} is not a valid email address.").format(frappe.bold(escape(email)))
			)
		self.validate_length("customer_email")

	def validate_phone_number(self):
		phone = self.customer_phone_number
		if phone is None:
			return
		if not PHONE_PATTERN.match(phone) or not re.search(r"\d", phone):
			self.throw_invalid(
				"customer_phone_number",
				_(
					"Customer Phone Number may contain only digits, spaces and + - ( ) ., and at least one digit."
				),
			)
		self.validate_length("customer_phone_number", MAX_PHONE_LENGTH)

	def validate_single_line_fields(self):
		for fieldname in SINGLE_LINE_FIELDS:
			value = self.get(fieldname)
			if value and CONTROL_CHARACTERS.search(value):
				self.throw_invalid(
					fieldname,
					_("{0} must be a single line of text.").format(_(self.meta.get_label(fieldname))),
				)
			self.validate_length(fieldname)

	def validate_length(self, fieldname, limit=MAX_DATA_LENGTH):
		value = self.get(fieldname)
		if value and len(value) > limit:
			self.throw_invalid(
				fieldname,
				_("{0} may be at most {1} characters long (it has {2}).").format(
					_(self.meta.get_label(fieldname)), limit, len(value)
				),
			)

	def validate_party(self):
		if self.appointment_with:
			allowed = party_doctypes()
			if self.appointment_with not in allowed:
				self.throw_invalid(
					"appointment_with",
					_("Appointment With must be one of: {0}.").format(
						", ".join(allowed) or _("none on this site")
					),
				)
		if self.party:
			if not self.appointment_with:
				self.throw_invalid("party", _("Set Appointment With before Party."))
			if not frappe.db.exists(self.appointment_with, self.party):
				self.throw_invalid(
					"party",
					_("{0} {1} does not exist.").format(
						_(self.appointment_with), frappe.bold(escape(self.party))
					),
				)

	def validate_host(self):
		"""A host is a CRM Appointment Host (named by their user id); a newly given one must be able to
		take appointments (host_calendars.ACTIVE_HOST). An appointment keeps a host who has since left
		until someone gives it another (their form lists such appointments)."""
		if not self.host:
			return
		if not frappe.db.exists(HOST, self.host):
			self.throw_invalid(
				"host",
				_("{0} is not a host. Add them as a CRM Appointment Host first.").format(
					frappe.bold(escape(self.host))
				),
			)
		before = None if self.is_new() else self.get_doc_before_save()
		if (before is None or before.host != self.host) and (why := host_calendars.why_not_active(self.host)):
			self.throw_invalid(
				"host",
				_("{0} cannot take appointments: {1} Choose another host.").format(
					frappe.bold(escape(self.host)), why
				),
			)

	def validate_host_is_free(self):
		"""The overlap rule: a host's live appointments never overlap, buffer included. The host's row
		is locked first, so of two saves racing for one host's time the second waits for the first,
		and then reads what it committed (see host_calendars)."""
		host_calendars.lock_hosts([self.host])
		held = self.held_interval()
		busy = host_calendars.busy_intervals([self.host], *held, exclude=self.name, locking=True)
		if not busy[self.host]:
			self.validate_host_has_no_meeting(held)
			return
		start, end = self.clashing_appointment(min(busy[self.host]))
		site_start, site_end = host_calendars.to_site(start), host_calendars.to_site(end)
		until = (
			frappe.utils.format_time(site_end)
			if site_start.date() == site_end.date()
			else frappe.utils.format_datetime(site_end)
		)
		# In the site's time zone, as the desk shows stored times; named, for users in another zone.
		message = _("{0} already has an appointment from {1} to {2} ({3}).").format(
			escape(host_name(self.host)), frappe.utils.format_datetime(site_start), until, site_zone().key
		)
		buffers = timing.buffers_by_type()
		before, after = buffers.get(self.appointment_type or None, buffers[None])
		if before:
			message += " " + _(
				"Appointments of this kind keep {0} minutes free before and {1} after them."
			).format(before, after)
		elif after:
			message += " " + _("Appointments keep {0} minutes free after them.").format(after)
		message += " " + _("Choose another time or host.")
		exceptions.throw(DoubleBookingError, message, fieldname="scheduled_time", title=_("Host not free"))

	def host_zone(self):
		"""The host's time zone, read once a save (the meeting check and the day's limit both count
		days and all-day meetings in it)."""
		if (self.flags.host_zone or (None,))[0] != self.host:
			time_zone = frappe.db.get_value(HOST, self.host, "time_zone")
			self.flags.host_zone = (self.host, zone_of(time_zone))
		return self.flags.host_zone[1]

	def validate_host_has_no_meeting(self, held):
		"""The host's own Frappe Events (a meeting in their calendar: scheduling/event_busy.py) block
		the time too; the message names the times only, not what the meeting is."""
		zone = self.host_zone()
		meetings = event_busy.busy([self.host], *held, {self.host: zone})[self.host]
		outside = caldav_busy.cached(self.host, *held)
		if outside is None:
			self.outside_calendar_unknown()
		else:
			meetings = meetings + outside
		if not meetings:
			return
		start, end = min(meetings)
		message = _("{0} has another meeting in their calendar from {1} to {2} ({3}).").format(
			escape(host_name(self.host)),
			frappe.utils.format_datetime(host_calendars.to_site(start)),
			frappe.utils.format_datetime(host_calendars.to_site(end)),
			site_zone().key,
		)
		message += " " + _("Choose another time or host.")
		exceptions.throw(DoubleBookingError, message, fieldname="scheduled_time", title=_("Host not free"))

	def outside_calendar_unknown(self):
		"""The host's CalDAV calendar could not be read (or has not been yet): a customer's booking is
		refused (the next free host is tried), as the time may be taken there; staff are warned and the
		save goes through."""
		trouble = caldav_busy.unreadable([self.host]).get(self.host)
		why = trouble["error"] if trouble else _("It has not been read yet.")
		message = _("{0}'s own calendar could not be checked for other meetings at this time: {1}").format(
			escape(host_name(self.host)), escape(why)
		)
		if self.flags.self_service:
			exceptions.throw(
				DoubleBookingError, message, fieldname="scheduled_time", title=_("Host not free")
			)
		frappe.msgprint(message, title=_("Calendar not checked"), indicator="orange", alert=True)

	def clashing_appointment(self, padded):
		"""The start and end (UTC) of the appointment whose padded time is `padded` (for the message)."""
		buffers = timing.buffers_by_type()
		before, after = buffers.get(None)
		rows = frappe.db.sql(
			f"""select scheduled_time, duration, appointment_type from `tab{APPOINTMENT}`
			where host = %s and name != %s and status in %s and scheduled_time >= %s and scheduled_time <= %s""",
			(
				self.host,
				self.name or "",
				host_calendars.LIVE_LABELS,
				host_calendars.to_site(padded[0]) - timedelta(days=1),
				host_calendars.to_site(padded[1]),
			),
		)
		for scheduled_time, duration, appointment_type in rows:
			start = host_calendars.as_utc(scheduled_time)
			if timing.held(start, duration, buffers.get(appointment_type, (before, after))) == padded:
				return start, start + timedelta(minutes=cint(duration))
		return padded

	def validate_max_per_day(self):
		"""A type's most a day per host (its `max_per_day`): a customer's booking is refused past it, as
		a taken slot (the next free host is tried); staff are warned. Counted under the host's lock
		(validate_host_is_free took it), as committed now."""
		limit = timing.timing_of(self.appointment_type).max_per_day if self.appointment_type else 0
		if not limit:
			return
		zone = self.host_zone()
		start = host_calendars.as_utc(self.scheduled_time)
		held = host_calendars.held_that_day(self.host, self.appointment_type, start, zone, self.name)
		if held < limit:
			return
		message = _("{0} already has {1} appointments of this type that day (at most {2}).").format(
			escape(host_name(self.host)), held, limit
		)
		if self.flags.self_service:
			exceptions.throw(
				DoubleBookingError, message, fieldname="scheduled_time", title=_("Host fully booked")
			)
		frappe.msgprint(message, title=_("Past the day's limit"), indicator="orange", alert=True)

	def validate_type(self):
		"""The type is one that exists (a link); a new appointment, or one given another type, takes
		where it happens from the type unless a location was given; a Phone type with no number of
		its own calls the customer, whose number is then required."""
		if not self.appointment_type:
			return
		before = None if self.is_new() else self.get_doc_before_save()
		if before is not None and before.appointment_type == self.appointment_type:
			return
		kind = frappe.get_cached_doc(APPOINTMENT_TYPE, self.appointment_type)
		if kind.location_kind == "Phone" and not kind.location and not self.customer_phone_number:
			self.throw_invalid(
				"customer_phone_number",
				_("{0} takes place by phone: give the customer's phone number.").format(
					frappe.bold(escape(kind.title))
				),
			)
		if not self.location:
			self.location = types.location_for(kind, self.customer_phone_number)

	def validate_answers(self):
		"""Answers are a list of {"question", "answer"} texts (the booking's questions, as asked)."""
		answers = self.answers
		if answers in (None, "", "[]"):
			self.answers = None
			return
		if isinstance(answers, str):
			try:
				answers = json.loads(answers)
			except ValueError:
				self.throw_invalid("answers", _("Answers must be a JSON list."))
		if not isinstance(answers, list) or len(answers) > types.MAX_QUESTIONS:
			self.throw_invalid(
				"answers", _("Answers must be a list of at most {0} answers.").format(types.MAX_QUESTIONS)
			)
		for item in answers:
			if (
				not isinstance(item, dict)
				or set(item) != {"question", "answer"}
				or not all(isinstance(item[k], str) for k in item)
			):
				self.throw_invalid("answers", _('Each answer must be {"question": text, "answer": text}.'))
			if len(item["answer"]) > MAX_ANSWER_LENGTH or len(item["question"]) > MAX_DATA_LENGTH:
				self.throw_invalid(
					"answers", _("An answer may be at most {0} characters long.").format(MAX_ANSWER_LENGTH)
				)
		self.answers = json.dumps(answers, ensure_ascii=False)

	def warn_outside_hours(self):
		"""Staff may book a host outside their weekly hours; the desk says so. It says so too when the
		host, kept from before, can no longer take appointments (a newly given host was refused in
		validate_host if so)."""
		before = None if self.is_new() else self.get_doc_before_save()
		host_kept = before is not None and before.host == self.host
		if host_kept and (why := host_calendars.why_not_active(self.host)):
			frappe.msgprint(
				_("{0} can no longer take appointments: {1} Give this appointment another host.").format(
					escape(host_name(self.host)), why
				),
				title=_("Host has left"),
				indicator="orange",
			)
			return
		host = frappe.get_cached_doc(HOST, self.host)
		if not availability.within_hours(
			host_calendars.calendar_of(host), host_calendars.as_utc(self.scheduled_time), cint(self.duration)
		):
			frappe.msgprint(
				_("This is outside {0}'s hours or in their time off.").format(escape(host_name(self.host))),
				title=_("Outside hours"),
				indicator="orange",
				alert=True,
			)

	def validate_calendar_event(self):
		"""The Event is the app's to create, move and cancel (see calendar sync); nobody else sets it."""
		if self.flags.calendar_sync:
			return
		before = None if self.is_new() else self.get_doc_before_save()
		if (self.calendar_event or None) != ((before.calendar_event or None) if before else None):
			self.throw_invalid(
				"calendar_event", _("Calendar Event is kept in step by the app and cannot be set.")
			)

	def validate_scheduled_time(self):
		if not self.scheduled_time:
			self.throw_invalid("scheduled_time", _("Scheduled Time is required."))
		try:
			self.scheduled_time = get_datetime(self.scheduled_time)
		except (ValueError, TypeError, OverflowError):  # dateutil's ParserError is a ValueError
			self.throw_invalid(
				"scheduled_time",
				_("{0} is not a valid date and time.").format(frappe.bold(escape(cstr(self.scheduled_time)))),
			)

	def validate_duration(self):
		duration = self.duration
		if isinstance(duration, str) and re.fullmatch(r"\s*\d+\s*", duration):
			duration = int(duration)
		if (
			not isinstance(duration, int)
			or isinstance(duration, bool)
			or not (MIN_DURATION <= duration <= MAX_DURATION)
		):
			self.throw_invalid(
				"duration",
				_("Duration must be a whole number of minutes from {0} to {1}.").format(
					MIN_DURATION, MAX_DURATION
				),
			)
		self.duration = duration

	# -- status workflow -----------------------------------------------------------------------

	def validate_status(self):
		if not workflow.get(self.status):
			self.throw_invalid(
				"status",
				_("{0} is not a status. Use one of: {1}.").format(
					frappe.bold(escape(cstr(self.status))), ", ".join(workflow.VALUES)
				),
			)
		if self.is_new():
			self.validate_initial_status()
			self.validate_time_for_status(entering=True, time_changed=True)
			return

		before = self.get_doc_before_save()
		old = workflow.value_of(before.status)
		if old in workflow.TERMINAL:
			self.validate_terminal_unchanged(before, old)
			return

		time_changed = get_datetime(before.scheduled_time) != get_datetime(self.scheduled_time)
		new = workflow.value_of(self.status)
		if new != old and not workflow.can_move(old, new):
			self.throw_refused_move(old, new)
		if time_changed and new == old and old in workflow.RESCHEDULE_RESETS:
			new = workflow.RESCHEDULE_RESETS[old]
			self.status = workflow.label_of(new)
		self.validate_time_for_status(entering=new != old, time_changed=time_changed, previous=old)

	def validate_initial_status(self):
		if workflow.value_of(self.status) not in workflow.INITIAL:
			self.throw_invalid(
				"status",
				_("A new appointment can start as one of: {0}; not {1}.").format(
					", ".join(workflow.INITIAL), workflow.value_of(self.status)
				),
			)

	def validate_time_for_status(self, entering: bool, time_changed: bool, previous: str | None = None):
		"""scheduled/confirmed need a future time, completed/no_show a past one, when entered or rescheduled."""
		if not (entering or time_changed):
			return
		status = workflow.value_of(self.status)
		is_future = get_datetime(self.scheduled_time) > now_datetime()
		if status in workflow.NEEDS_FUTURE_TIME and not is_future:
			message = _("A {0} appointment needs a Scheduled Time in the future.").format(_(self.status))
		elif status in workflow.NEEDS_PAST_TIME and is_future:
			message = _("An appointment can be marked {0} only once its Scheduled Time has passed.").format(
				_(self.status)
			)
		else:
			return
		if previous and not time_changed:
			# The time was fine before; it is this move that comes too early or too late.
			self.throw_refused_move(previous, status, reason=message)
		self.throw_invalid("scheduled_time", message)

	def validate_terminal_unchanged(self, before, old: str):
		for fieldname in self.meta.get_valid_columns():
			if fieldname in workflow.EDITABLE_WHEN_TERMINAL or fieldname in frappe.model.default_fields:
				continue
			if field_changed(self.meta, fieldname, before.get(fieldname), self.get(fieldname)):
				exceptions.throw(
					TerminalAppointmentError,
					_("This appointment is {0}: only its notes (Customer Details) can change.").format(
						_(workflow.label_of(old))
					),
					fieldname=fieldname,
					title=_("Appointment closed"),
				)

	def throw_refused_move(self, old: str, new: str, reason: str | None = None):
		old_label, new_label = _(workflow.label_of(old)), _(workflow.label_of(new))
		allowed = [_(workflow.label_of(v)) for v in workflow.allowed_moves(old)]
		message = reason or _("Cannot move this appointment from {0} to {1}.").format(old_label, new_label)
		if allowed:
			message += " " + _("From {0} it can move to: {1}.").format(old_label, ", ".join(allowed))
		else:
			message += " " + _("{0} is final: it cannot move to any other status.").format(old_label)
		exceptions.throw(StatusTransitionError, message, fieldname="status", title=_("Status not changed"))

	def throw_invalid(self, fieldname: str, message: str):
		exceptions.throw(InvalidFieldError, message, fieldname=fieldname, title=_("Invalid value"))


def escape(value: str) -> str:
	return frappe.utils.escape_html(cstr(value))


def field_changed(meta, fieldname: str, old, new) -> bool:
	"""Compare a stored value with a new one the way the database would see them."""
	fieldtype = meta.get_field(fieldname).fieldtype if meta.get_field(fieldname) else "Data"
	if fieldtype in ("Datetime", "Date"):
		return (get_datetime(old) if old else None) != (get_datetime(new) if new else None)
	if fieldtype in ("Int", "Check"):
		return cint(old) != cint(new)
	return cstr(old) != cstr(new)


def on_doctype_update():
	# Newest first is the list order (InnoDB appends the name, the tie-break, to the index).
	frappe.db.add_index(APPOINTMENT, ["creation"])
	# The reminder job and the default list filter by status and time together.
	frappe.db.add_index(APPOINTMENT, ["status", "scheduled_time"])
	# The overlap rule and the slots read one host's appointments around a time.
	frappe.db.add_index(APPOINTMENT, ["host", "scheduled_time"])
	# autoname looks a new name up among the deleted ones; Frappe's table has no index for that.
	frappe.db.add_index("Deleted Document", ["deleted_name"])
