"""iCalendar (RFC 5545) invitations for appointments, built with the icalendar library.

One VEVENT per appointment: its UID is stable for the appointment's life, SEQUENCE rises with each
reschedule (and the cancellation), DTSTAMP/DTSTART/DTEND are in UTC (so no VTIMEZONE).
METHOD:REQUEST invites or updates; METHOD:CANCEL withdraws.

icalendar escapes TEXT values, quotes parameter values and folds lines; `_parameter` and `_text`
replace only what RFC 5545 cannot carry, or readers would not show alike.
"""

import re
from datetime import datetime, timezone
from urllib.parse import urlparse

import frappe
from icalendar import Calendar, Event, vCalAddress

from crm_appointments.timezones import as_utc

PRODID = "-//crm_appointments//Frappe CRM Appointments//EN"

# A parameter value holds no control character (RFC 5545 3.1), a tab included here: each is a space.
# Nor a double quote; and a caret is an escape to RFC 6868 readers, a backslash to some others (the
# icalendar parser among them), while the rest show them as typed. So that every calendar shows the
# CN alike, they are written as look-alikes: " as ', ^ as U+02C6 MODIFIER LETTER CIRCUMFLEX ACCENT,
# \ as U+29F5 REVERSE SOLIDUS OPERATOR.
_PARAMETER_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_PARAMETER_LOOKALIKES = str.maketrans({'"': "'", "^": "\u02c6", "\\": "\u29f5"})
# TEXT holds no control character but tab and (escaped) line breaks (RFC 5545 3.3.11).
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def uid(appointment) -> str:
	"""The same from any request or job: the site's configured host name, else the site's name (not
	the request's Host, which differs between a guest's booking and the scheduler's reminders)."""
	configured = frappe.local.conf.host_name or frappe.local.conf.hostname
	host = urlparse(configured if "//" in configured else f"//{configured}").hostname if configured else None
	return f"{appointment.name}@{host or frappe.local.site}"


def _parameter(value) -> str:
	return _PARAMETER_CONTROLS.sub(" ", str(value or "")).translate(_PARAMETER_LOOKALIKES).strip()


def _text(value) -> str:
	value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
	return _TEXT_CONTROLS.sub("", value)


def invitation(appointment, organizer_email: str, cancel: bool = False) -> str:
	attendee = vCalAddress.new(
		appointment.customer_email,
		cn=_parameter(appointment.customer_name) or None,
		role="REQ-PARTICIPANT",
		rsvp=True,
	)
	event = Event.new(
		uid=uid(appointment),
		sequence=appointment.calendar_sequence or 0,
		stamp=datetime.now(timezone.utc),
		start=as_utc(appointment.scheduled_time),
		end=as_utc(appointment.end_time()),
		summary=_text(appointment_summary(appointment)),
		description=_text(appointment.customer_details),
		organizer=vCalAddress.new(organizer_email),
		attendees=[attendee],
		status="CANCELLED" if cancel else "CONFIRMED",
	)
	calendar = Calendar()
	calendar.add("version", "2.0")
	calendar.add("prodid", PRODID)
	calendar.add("calscale", "GREGORIAN")
	calendar.add("method", "CANCEL" if cancel else "REQUEST")
	calendar.add_component(event)
	return calendar.to_ical().decode()


def appointment_summary(appointment) -> str:
	return frappe._("Appointment with {0}").format(appointment.customer_name)
