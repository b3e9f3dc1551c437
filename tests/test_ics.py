"""The .ics invitation, read back by two independent parsers (vobject and icalendar): whatever the
customer's name, the notes and the addresses, each value comes back as it was, and nothing in them
can add or change a property or a parameter."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlparse

import frappe
import icalendar
import pytest
import vobject
from frappe.utils import get_url
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from crm_appointments.calendars import ics
from crm_appointments.core.exceptions import InvalidFieldError
from crm_appointments.scheduling.timezones import as_utc
from tests.factories import appointment

EXAMPLES = settings(
	max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ORGANIZER = "organizer@example.com"
START = datetime(2031, 1, 15, 9, 30)  # naive, in the site's time zone, as Frappe stores it

# What breaks hand-written iCalendar: its delimiters, quotes, escapes, RFC 6868 carets, line breaks
# (also the Unicode ones a splitlines() would honour), controls and characters of every plane.
HOSTILE_TEXT = st.lists(
	st.one_of(
		st.characters(codec="utf-8", exclude_categories=("Cs",)),
		st.sampled_from([*":;,\"'\\^n=\r\n\t\x00\x0b\x1c\x85\u2028 ", "mailto:", "\r\n ", "\U0001f600"]),
	),
	max_size=120,
).map("".join)
EMAILS = st.one_of(
	st.emails(),
	st.sampled_from(["o'neil+tag@example.com", "a.b=c?d@example.org", "x^y{z}|~#$%&*/!@example.net"]),
).map(str.lower)
NAMES_THAT_BROKE_IT = [
	"Dr: Who",
	"Smith, John",
	"Zoë;x",
	'Ann "Quote" Lee',
	"Bob:mailto:attacker@evil.example?x=",
]


def invite(name, notes=None, email="ada@example.com", organizer=ORGANIZER, sequence=0, cancel=False):
	doc = appointment(
		customer_name=name,
		customer_details=notes,
		customer_email=email,
		scheduled_time=START,
		duration=45,
		calendar_sequence=sequence,
	)
	doc.name = "CRM-APT-ICSTEST"
	return doc, ics.invitation(doc, organizer, cancel=cancel)


def read_with_vobject(text: str) -> dict:
	calendar = vobject.readOne(text)
	(event,) = calendar.vevent_list
	(attendee,) = event.attendee_list
	(organizer,) = event.organizer_list
	return {
		"method": calendar.method.value,
		"timezones": len(getattr(calendar, "vtimezone_list", [])),
		"uid": event.uid.value,
		"sequence": int(event.sequence.value),
		"status": event.status.value,
		"start": event.dtstart.value,
		"end": event.dtend.value,
		"summary": event.summary.value,
		"description": event.description.value,
		"organizer": organizer.value,
		"attendee": attendee.value,
		"attendee_params": {key: values for key, values in attendee.params.items()},
	}


def read_with_icalendar(text: str) -> dict:
	calendar = icalendar.Calendar.from_ical(text)
	(event,) = calendar.walk("VEVENT")
	assert not calendar.errors and not event.errors, (calendar.errors, event.errors)
	attendee = event["ATTENDEE"]
	assert not isinstance(attendee, list), "more than one ATTENDEE"
	assert not isinstance(event["ORGANIZER"], list), "more than one ORGANIZER"
	return {
		"method": str(calendar["METHOD"]),
		"timezones": len(calendar.walk("VTIMEZONE")),
		"uid": str(event["UID"]),
		"sequence": int(event["SEQUENCE"]),
		"status": str(event["STATUS"]),
		"start": event["DTSTART"].dt,
		"end": event["DTEND"].dt,
		"summary": str(event["SUMMARY"]),
		"description": str(event["DESCRIPTION"]),
		"organizer": str(event["ORGANIZER"]),
		"attendee": str(attendee),
		"attendee_params": {key: [value] for key, value in attendee.params.items()},
	}


def as_parameter(value: str) -> str:
	"""What a parameter value (RFC 5545 3.1) can carry of a name, shown alike by every reader: no
	control characters (each is a space), no double quote (it is '), no caret (an escape to RFC 6868
	readers: it is U+02C6) and no backslash (an escape to some readers: it is U+29F5); trimmed.
	A name is never blank (its field rule), but if it were, there would be no CN."""
	value = re.sub(r"[\x00-\x1f\x7f]", " ", value)
	return value.replace('"', "'").replace("^", "\u02c6").replace("\\", "\u29f5").strip()


def as_text(value: str) -> str:
	"""What a TEXT value (RFC 5545 3.3.11) can carry: line breaks (each becomes \\n) and tabs, no other
	control characters."""
	value = value.replace("\r\n", "\n").replace("\r", "\n")
	return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)


def expected(doc, name, notes, email, organizer, sequence, cancel) -> dict:
	utc_start = as_utc(START)
	return {
		"method": "CANCEL" if cancel else "REQUEST",
		"timezones": 0,
		"uid": f"{doc.name}@{urlparse(get_url()).hostname}",
		"sequence": sequence,
		"status": "CANCELLED" if cancel else "CONFIRMED",
		"start": utc_start,
		"end": utc_start + timedelta(minutes=45),
		"summary": as_text(frappe._("Appointment with {0}").format(name)),
		"description": as_text(notes or ""),
		"organizer": f"mailto:{organizer}",
		"attendee": f"mailto:{email}",
		"attendee_params": {
			"ROLE": ["REQ-PARTICIPANT"],
			"RSVP": ["TRUE"],
			**({"CN": [as_parameter(name)]} if as_parameter(name) else {}),
		},
	}


def accepted_email(email: str) -> bool:
	"""Only addresses the appointment's own rule accepts ever reach an invitation."""
	try:
		appointment(customer_email=email).validate_customer_email()
	except InvalidFieldError:
		return False
	return True


@EXAMPLES
@given(
	name=HOSTILE_TEXT,
	notes=st.one_of(st.none(), HOSTILE_TEXT),
	email=EMAILS,
	organizer=EMAILS,
	sequence=st.integers(min_value=0, max_value=2**31 - 1),
	cancel=st.booleans(),
)
@example(name="Bob:mailto:attacker@evil.example?x=", notes=None, email="ada@example.com", organizer=ORGANIZER, sequence=0, cancel=False)  # fmt: skip
def test_every_value_of_the_invitation_comes_back_from_two_parsers(
	name, notes, email, organizer, sequence, cancel
):
	assume(accepted_email(email) and accepted_email(organizer))
	doc, text = invite(name, notes, email, organizer, sequence, cancel)
	want = expected(doc, name, notes, email, organizer, sequence, cancel)
	assert read_with_vobject(text) == want
	assert read_with_icalendar(text) == want


@pytest.mark.parametrize("name", NAMES_THAT_BROKE_IT)
def test_names_that_broke_the_hand_written_invitation_name_the_attendee_exactly(name):
	_, text = invite(name)
	shown = name.replace('"', "'")
	for read in (read_with_vobject, read_with_icalendar):
		values = read(text)
		assert values["attendee"] == "mailto:ada@example.com"
		assert values["attendee_params"] == {"CN": [shown], "ROLE": ["REQ-PARTICIPANT"], "RSVP": ["TRUE"]}
		assert values["summary"] == f"Appointment with {name}"


@EXAMPLES
@given(name=HOSTILE_TEXT, notes=HOSTILE_TEXT)
def test_the_invitation_is_crlf_lines_of_at_most_75_octets(name, notes):
	_, text = invite(name, notes)
	assert text.endswith("\r\n")
	for line in text.removesuffix("\r\n").split("\r\n"):
		assert "\r" not in line and "\n" not in line
		assert len(line.encode()) <= 75, line


def test_the_uid_is_the_one_invitations_already_sent_carry():
	"""Calendars match an update to their entry by UID: it is still the appointment's name at the
	site's host, as before."""
	doc, text = invite("Ada Lovelace")
	assert read_with_vobject(text)["uid"] == f"CRM-APT-ICSTEST@{urlparse(get_url()).hostname}"
	assert ics.uid(doc) == f"CRM-APT-ICSTEST@{urlparse(get_url()).hostname}"
