# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils.jinja import get_jenv
from jinja2 import TemplateSyntaxError

from crm_appointments.core import site_address
from crm_appointments.core.settings import MAX_BUFFER, MAX_DURATION, MAX_HORIZON_DAYS, MIN_DURATION

TEXT_TEMPLATE_FIELDS = (
	"sms_booked_template",
	"sms_rescheduled_template",
	"sms_cancelled_template",
	"sms_reminder_template",
)


class CRMAppointmentSettings(Document):
	def validate(self):
		seen = set()
		for row in self.reminder_offsets:
			if row.minutes_before < 1:
				frappe.throw(_("Row {0}: remind at least one minute before the start.").format(row.idx))
			if row.minutes_before in seen:
				frappe.throw(_("Row {0}: {1} minutes is listed twice.").format(row.idx, row.minutes_before))
			seen.add(row.minutes_before)
		if not MIN_DURATION <= (self.default_duration or 0) <= MAX_DURATION:
			frappe.throw(
				_("Default Duration must be from {0} to {1} minutes.").format(MIN_DURATION, MAX_DURATION)
			)
		self.validate_booking()
		self.validate_text_templates()

	def validate_text_templates(self):
		"""The text messages' templates must be Jinja that renders (notify/sms.py sends them)."""
		for fieldname in TEXT_TEMPLATE_FIELDS:
			text = (self.get(fieldname) or "").strip()
			self.set(fieldname, text or None)
			if not text:
				continue
			try:
				get_jenv().from_string(text)
			except TemplateSyntaxError as error:
				frappe.throw(
					_("{0} is not a valid template (line {1}: {2}).").format(
						_(self.meta.get_label(fieldname)), error.lineno, error.message
					),
					title=_("Invalid template"),
				)

	def validate_booking(self):
		if self.enable_public_booking and not site_address.configured():
			frappe.throw(
				_(
					"Set the site's address before turning public booking on: the links mailed to customers"
					" are built from it. Run: bench --site {0} set-config host_name https://your.domain"
				).format(frappe.local.site),
				title=_("Site address missing"),
			)
		for fieldname in ("booking_duration", "slot_interval"):
			value = self.get(fieldname) or 0
			if value and not MIN_DURATION <= value <= MAX_DURATION:
				frappe.throw(
					_("{0} must be empty or from {1} to {2} minutes.").format(
						_(self.meta.get_label(fieldname)), MIN_DURATION, MAX_DURATION
					)
				)
		if not 0 <= (self.buffer_minutes or 0) <= MAX_BUFFER:
			frappe.throw(_("The buffer must be from 0 to {0} minutes.").format(MAX_BUFFER))
		if (self.minimum_notice or 0) < 0:
			frappe.throw(_("Minimum Notice cannot be negative."))
		if not 1 <= (self.booking_horizon or 0) <= MAX_HORIZON_DAYS:
			frappe.throw(_("Booking Horizon must be from 1 to {0} days.").format(MAX_HORIZON_DAYS))
		self.video_meeting_service = (self.video_meeting_service or "").strip() or None
		if self.video_meeting_service and not self.video_meeting_service.startswith("https://"):
			frappe.throw(
				_("The Video Meeting Service must be an https:// address, like https://meet.jit.si/."),
				title=_("Invalid value"),
			)
