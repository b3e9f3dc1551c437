"""iCalendar (RFC 5545) invitations for appointments, built with the icalendar library.

One VEVENT per appointment, the same in an invitation and in a host's calendar feed: its UID is
stable for the appointment's life, SEQUENCE rises with each reschedule (and the cancellation),
DTSTAMP/DTSTART/DTEND are in UTC (so no VTIMEZONE). In an invitation METHOD:REQUEST invites or
updates and METHOD:CANCEL withdraws; a feed (a published calendar) has no METHOD, and lists cancelled
appointments with STATUS:CANCELLED for a while (calendar_feed.py).

icalendar escapes TEXT values, quotes parameter values and folds lines; `_parameter` and `_text`
replace only what RFC 5545 cannot carry, or readers would not show alike.
"""

import re
from datetime import datetime, timedelta, timezone

import frappe
from frappe.utils import cint
from icalendar import Calendar, Event, vCalAddress

from crm_appointments.core import site_address
from crm_appointments.core.names import APPOINTMENT
from crm_appointments.scheduling.timezones import as_utc

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


# How often a subscribed calendar should look again (RFC 7986 REFRESH-INTERVAL; Outlook reads
# X-PUBLISHED-TTL). A hint: Google Calendar keeps its own pace (hours).
FEED_REFRESH = timedelta(hours=1)
_CALENDAR_END = b"END:VCALENDAR\r\n"


def uid_domain() -> str:
	"""The site's host name: the configured host_name, else the site's name (site_address). Not the
	request's Host: an invitation the scheduler sends, one a desk request sends and the feed a
	calendar polls (by any address) must name an appointment alike, or calendars would show it twice."""
	return site_address.hostname()


def uid(appointment, domain: str | None = None) -> str:
	return f"{appointment.name}@{domain or uid_domain()}"


def _parameter(value) -> str:
	return _PARAMETER_CONTROLS.sub(" ", str(value or "")).translate(_PARAMETER_LOOKALIKES).strip()


def _text(value) -> str:
	value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
	return _TEXT_CONTROLS.sub("", value)


def invitation(
	appointment, organizer_email: str, organizer_name: str | None = None, cancel: bool = False
) -> str:
	attendee = vCalAddress.new(
		appointment.customer_email,
		cn=_parameter(appointment.customer_name) or None,
		role="REQ-PARTICIPANT",
		rsvp=True,
	)
	invite = event(
		appointment,
		stamp=datetime.now(timezone.utc),
		cancelled=cancel,
		description=_text(appointment.customer_details),
		organizer=vCalAddress.new(organizer_email, cn=_parameter(organizer_name) or None),
		attendees=[attendee],
	)
	calendar = _calendar()
	calendar.add("method", "CANCEL" if cancel else "REQUEST")
	calendar.add_component(invite)
	return calendar.to_ical().decode()


def feed(name: str, events) -> bytes:
	"""A published calendar (a host's feed) of VEVENTs serialised by `feed_event`. The calendar around
	them is icalendar's, with its last line after the events, as Calendar.to_ical puts subcomponents
	after the calendar's properties."""
	calendar = _calendar()
	calendar.calendar_name = _text(name)
	calendar.refresh_interval = FEED_REFRESH
	calendar.add("x-published-ttl", FEED_REFRESH)
	head = calendar.to_ical()
	if not head.endswith(_CALENDAR_END):
		raise ValueError("icalendar did not end the calendar as expected")
	return head.removesuffix(_CALENDAR_END) + b"".join(events) + _CALENDAR_END


def feed_event(appointment, domain: str | None = None) -> bytes:
	"""An appointment's VEVENT for a feed, serialised: the time of its last change is its DTSTAMP, so
	the same appointment (name, modified) gives the same bytes (calendar_feed.py keeps them).

	The appointment needs name, scheduled_time, duration, calendar_sequence, customer_name,
	customer_email, customer_phone_number, customer_details, modified, and `cancelled` (a bool)."""
	changed = as_utc(appointment.modified)
	return event(
		appointment,
		stamp=changed,
		cancelled=appointment.cancelled,
		domain=domain,
		description=_text(feed_description(appointment)),
		last_modified=changed,
		url=frappe.utils.get_url_to_form(APPOINTMENT, appointment.name),
	).to_ical()


def host_copy(appointment) -> str:
	"""The copy of an appointment written to its host's own calendar (calendars/caldav_copies.py): one
	VCALENDAR holding the feed's VEVENT (its UID, SEQUENCE, times, how to reach the customer), with no
	METHOD. The appointment needs what `feed_event` needs."""
	calendar = _calendar()
	calendar.add_component(Event.from_ical(feed_event(appointment)))
	return calendar.to_ical().decode()


def event(appointment, stamp: datetime, cancelled: bool = False, domain: str | None = None, **more) -> Event:
	"""An appointment's VEVENT: its UID, SEQUENCE, times, summary and status; `more` adds properties
	(Event.new's keywords). It ends `duration` minutes after it starts, counted in real time as the
	overlap rule counts it (so also across a change of the clocks)."""
	start = as_utc(appointment.scheduled_time)
	if appointment.get("location"):
		more.setdefault("location", _text(appointment.location))
	return Event.new(
		uid=uid(appointment, domain),
		sequence=cint(appointment.calendar_sequence),
		stamp=stamp,
		start=start,
		end=start + timedelta(minutes=cint(appointment.duration)),
		summary=_text(appointment_summary(appointment)),
		status="CANCELLED" if cancelled else "CONFIRMED",
		**more,
	)


def _calendar() -> Calendar:
	calendar = Calendar()
	calendar.add("version", "2.0")
	calendar.add("prodid", PRODID)
	calendar.add("calscale", "GREGORIAN")
	return calendar


def appointment_summary(appointment) -> str:
	return frappe._("Appointment with {0}").format(appointment.customer_name)


def feed_description(appointment) -> str:
	"""What the host needs at a glance: how to reach the customer, then the notes."""
	contact = [appointment.customer_email, appointment.customer_phone_number]
	lines = [" \u00b7 ".join(value for value in contact if value)]
	if appointment.customer_details:
		lines += ["", appointment.customer_details]
	return "\n".join(lines)
