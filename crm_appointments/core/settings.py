"""CRM Appointment Settings as every layer reads it: its getters, and the limits its fields and the
appointments' own fields share. The settings' controller (crm_appointment_settings.py) validates a save
against the same limits."""

import frappe

from crm_appointments.core.names import SETTINGS

DEFAULT_OFFSETS = (1440, 60)  # a day and an hour before the start
# An appointment's length in minutes: the limits of its duration and of the default duration here.
DEFAULT_DURATION = 30
MIN_DURATION, MAX_DURATION = 5, 1440
# Booking: the buffer kept after each live appointment, and how far ahead slots reach.
MAX_BUFFER = 1440
MAX_HORIZON_DAYS = 730
DEFAULT_NOTICE, DEFAULT_HORIZON_DAYS = 120, 30


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
