"""iCalendar (RFC 5545) invitations for appointments.

One VEVENT per appointment: its UID is stable for the appointment's life, SEQUENCE rises with each
reschedule (and the cancellation), DTSTART/DTEND are in UTC. METHOD:REQUEST invites or updates;
METHOD:CANCEL withdraws.
"""

from datetime import datetime, timezone
from urllib.parse import urlparse

import frappe
from frappe.utils import get_url

from crm_appointments.timezones import as_utc

PRODID = "-//crm_appointments//Frappe CRM Appointments//EN"


def uid(appointment) -> str:
	host = urlparse(get_url()).hostname or frappe.local.site
	return f"{appointment.name}@{host}"


def _utc(value) -> str:
	return as_utc(value).strftime("%Y%m%dT%H%M%SZ")


def _text(value) -> str:
	"""TEXT value escaping (RFC 5545 3.3.11)."""
	return (
		str(value or "")
		.replace("\\", "\\\\")
		.replace(";", "\\;")
		.replace(",", "\\,")
		.replace("\r\n", "\\n")
		.replace("\n", "\\n")
	)


def _fold(line: str) -> str:
	"""Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
	data = line.encode()
	if len(data) <= 75:
		return line
	parts, start = [], 0
	while start < len(data):
		end = min(start + (75 if not parts else 74), len(data))
		while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 character
			end -= 1
		parts.append(data[start:end].decode())
		start = end
	return "\r\n ".join(parts)


def invitation(appointment, organizer_email: str, cancel: bool = False) -> str:
	lines = [
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		f"PRODID:{PRODID}",
		"CALSCALE:GREGORIAN",
		f"METHOD:{'CANCEL' if cancel else 'REQUEST'}",
		"BEGIN:VEVENT",
		f"UID:{uid(appointment)}",
		f"SEQUENCE:{appointment.calendar_sequence or 0}",
		f"DTSTAMP:{_utc(datetime.now(timezone.utc))}",
		f"DTSTART:{_utc(appointment.scheduled_time)}",
		f"DTEND:{_utc(appointment.end_time())}",
		f"SUMMARY:{_text(appointment_summary(appointment))}",
		f"DESCRIPTION:{_text(appointment.customer_details)}",
		f"ORGANIZER:mailto:{organizer_email}",
		f"ATTENDEE;CN={_text(appointment.customer_name)};ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{appointment.customer_email}",
		f"STATUS:{'CANCELLED' if cancel else 'CONFIRMED'}",
		"END:VEVENT",
		"END:VCALENDAR",
	]
	return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def appointment_summary(appointment) -> str:
	return frappe._("Appointment with {0}").format(appointment.customer_name)
