# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""CRM Appointment Type: a kind of appointment customers can book (contract.md, "Appointment types"):
its length, slot interval, buffers before and after, notice, horizon and most a day per host; who
picks the host and among whom; where it takes place; the questions on the booking form.

Named by its slug, its address on the booking page and its id in the API. Empty timing fields take
the booking settings' values (`effective`), so the `appointment` type a site gets from its settings
behaves exactly as booking did before types. Users read types; Managers write them.
"""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint

from crm_appointments.core import slugs
from crm_appointments.core.names import APPOINTMENT_TYPE
from crm_appointments.core.random_ids import random_part
from crm_appointments.core.settings import (
	MAX_BUFFER,
	MAX_DURATION,
	MAX_HORIZON_DAYS,
	MIN_DURATION,
	get_settings,
)
from crm_appointments.scheduling import timing

QUESTION_KINDS = ("Data", "Long Text", "Select", "Check")
DEFAULT_VIDEO_SERVICE = "https://meet.jit.si/"
RESERVED_SLUGS = ("manage",)
MAX_QUESTIONS = 20


class CRMAppointmentType(Document):
	def autoname(self):
		self.set_slug()
		self.name = self.slug

	def validate(self):
		self.title = (self.title or "").strip()
		if not self.title:
			frappe.throw(_("Give the type a title."), title=_("Title missing"))
		if self.is_new():
			self.set_slug()
		self.validate_timing()
		self.validate_hosts()
		self.validate_location()
		self.validate_questions()

	def set_slug(self):
		slug = slugs.settle(self.slug, APPOINTMENT_TYPE, self.title, "type", exclude=self.name)
		if slug in RESERVED_SLUGS:  # /book/manage/<token> is the manage link's address
			frappe.throw(_("{0} cannot be a type's slug: choose another.").format(frappe.bold(slug)))
		if slug is None:
			frappe.throw(
				_("The slug may hold only lowercase letters, digits and single hyphens (like intro-call)."),
				title=_("Invalid slug"),
			)
		self.slug = slug

	def validate_timing(self):
		for fieldname in ("duration", "slot_interval"):
			value = self.get(fieldname)
			if value not in (None, "", 0) and not MIN_DURATION <= cint(value) <= MAX_DURATION:
				frappe.throw(
					_("{0} must be empty or from {1} to {2} minutes.").format(
						_(self.meta.get_label(fieldname)), MIN_DURATION, MAX_DURATION
					)
				)
		for fieldname in ("buffer_before", "buffer_after"):
			if not 0 <= cint(self.get(fieldname)) <= MAX_BUFFER:
				frappe.throw(
					_("{0} must be from 0 to {1} minutes.").format(
						_(self.meta.get_label(fieldname)), MAX_BUFFER
					)
				)
		if self.minimum_notice not in (None, "") and cint(self.minimum_notice) < 0:
			frappe.throw(_("Minimum Notice cannot be negative."))
		if (
			self.booking_horizon not in (None, "", 0)
			and not 1 <= cint(self.booking_horizon) <= MAX_HORIZON_DAYS
		):
			frappe.throw(_("Booking Horizon must be empty or from 1 to {0} days.").format(MAX_HORIZON_DAYS))
		if cint(self.max_per_day) < 0:
			frappe.throw(_("Most a Day per Host cannot be negative (0: no limit)."))

	def validate_hosts(self):
		seen = set()
		for row in self.hosts:
			if row.host in seen:
				frappe.throw(_("Hosts row {0}: {1} is listed twice.").format(row.idx, frappe.bold(row.host)))
			seen.add(row.host)

	def validate_location(self):
		self.location = (self.location or "").strip() or None
		if self.location_kind == "In person" and not self.location:
			frappe.throw(_("Give the address of an In person type: customers need to know where to go."))
		if self.location_kind == "Video" and self.location and not self.location.startswith("https://"):
			frappe.throw(
				_(
					"A fixed meeting address must start with https:// (or leave it empty for a new room each time)."
				)
			)

	def validate_questions(self):
		if len(self.questions) > MAX_QUESTIONS:
			frappe.throw(_("A type may ask at most {0} questions.").format(MAX_QUESTIONS))
		labels = set()
		for row in self.questions:
			row.label = (row.label or "").strip()
			if not row.label:
				frappe.throw(_("Questions row {0}: give the question.").format(row.idx))
			if row.label.lower() in labels:
				frappe.throw(
					_("Questions row {0}: {1} is asked twice.").format(row.idx, frappe.bold(row.label))
				)
			labels.add(row.label.lower())
			if row.kind not in QUESTION_KINDS:
				frappe.throw(_("Questions row {0}: choose a kind.").format(row.idx))
			if row.kind == "Select" and not choices(row):
				frappe.throw(
					_("Questions row {0}: a Select question needs its choices, one per line.").format(row.idx)
				)

	def effective(self) -> frappe._dict:
		"""The timing this type books with: its own values, or the booking settings' where left at 0
		(scheduling/timing.py, the one place that says so)."""
		rules = timing.timing_from(self)
		return frappe._dict(
			duration=rules.duration,
			slot_interval=rules.interval or rules.duration,
			buffer_before=rules.buffer_before,
			buffer_after=rules.buffer_after,
			minimum_notice=rules.minimum_notice,
			booking_horizon=rules.booking_horizon,
			max_per_day=rules.max_per_day,
		)


def choices(question) -> list[str]:
	return [line.strip() for line in (question.options or "").splitlines() if line.strip()]


def location_for(appointment_type, customer_phone_number: str | None = None) -> str | None:
	"""Where a new appointment of this type takes place: the address (In person), the fixed meeting
	link or a new private room on the settings' meeting service (Video), the type's number or else
	the customer's (Phone)."""
	kind = appointment_type.location_kind
	if kind == "Video" and not appointment_type.location:
		return new_video_room()
	if kind == "Phone" and not appointment_type.location:
		return customer_phone_number or None
	return appointment_type.location or None


def new_video_room() -> str:
	"""A room link nobody can guess (over 100 random bits) on the site's public meeting service."""
	service = (get_settings().video_meeting_service or DEFAULT_VIDEO_SERVICE).strip()
	if not service.endswith("/"):
		service += "/"
	return service + "crm-" + random_part(20)


@frappe.whitelist()
def desk_defaults(appointment_type: str) -> dict:
	"""What the appointment form takes from a type when it is chosen: its duration, and its fixed
	location (an address, a meeting link, a phone number), for a user who may read the type."""
	doc = frappe.get_doc(APPOINTMENT_TYPE, appointment_type)
	doc.check_permission("read")
	return {
		"duration": doc.effective().duration,
		"location_kind": doc.location_kind or None,
		"location": doc.location or None,
	}
