# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from crm_appointments import site_address
from crm_appointments.doctypes import SETTINGS

DEFAULT_OFFSETS = (1440, 60)  # a day and an hour before the start
# An appointment's length in minutes: the limits of its duration and of the default duration here.
DEFAULT_DURATION = 30
MIN_DURATION, MAX_DURATION = 5, 1440
# Booking: the buffer kept after each live appointment, and how far ahead slots reach.
MAX_BUFFER = 1440
MAX_HORIZON_DAYS = 730
DEFAULT_NOTICE, DEFAULT_HORIZON_DAYS = 120, 30


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

	def on_update(self):
		from crm_appointments.booking_page import clear_page_cache

		clear_page_cache()  # /book shows the title, the intro and whether booking is on

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


def get_settings():
	"""The settings (Frappe caches single documents and clears the cache when they are saved)."""
	return frappe.get_cached_doc(SETTINGS)


def reminder_offsets() -> list[int]:
	settings = get_settings()
	if not settings.enable_reminders:
		return []
	return sorted({row.minutes_before for row in settings.reminder_offsets}, reverse=True)


def booking_duration() -> int:
	"""Minutes: the length of a booked slot (and of /api/crm/slots' slots unless asked otherwise)."""
	settings = get_settings()
	return settings.booking_duration or settings.default_duration or DEFAULT_DURATION


def buffer_minutes() -> int:
	"""Minutes kept free after each live appointment of a host (the overlap rule counts them)."""
	return get_settings().buffer_minutes or 0
