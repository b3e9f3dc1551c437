# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from crm_appointments.doctypes import SETTINGS

DEFAULT_OFFSETS = (1440, 60)  # a day and an hour before the start
# An appointment's length in minutes: the limits of its duration and of the default duration here.
DEFAULT_DURATION = 30
MIN_DURATION, MAX_DURATION = 5, 1440


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


def get_settings():
	"""The settings (Frappe caches single documents and clears the cache when they are saved)."""
	return frappe.get_cached_doc(SETTINGS)


def reminder_offsets() -> list[int]:
	settings = get_settings()
	if not settings.enable_reminders:
		return []
	return sorted({row.minutes_before for row in settings.reminder_offsets}, reverse=True)
