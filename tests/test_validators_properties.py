"""Property tests of the field rules (hypothesis): for any input, a rule either accepts it as the
README says or refuses it with an InvalidFieldError naming the field. Nothing else escapes, and
what is accepted is stored as stated."""

import re
import string

import frappe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_appointments.core.exceptions import InvalidFieldError
from crm_appointments.rest.errors import ApiError
from crm_appointments.rest.schema import parse_datetime
from tests.factories import appointment

EXAMPLES = settings(
	max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Text with what breaks naive code: controls, quotes, SQL, markup, whitespace, astral characters.
HOSTILE_TEXT = st.text(
	alphabet=st.one_of(
		st.characters(codec="utf-8", exclude_categories=("Cs",)),
		st.sampled_from([*"'\";\\%_<>&\x00\n\t ", "\U0001f600"]),
	),
	max_size=200,
)


def try_insert(**fields):
	"""Insert in a savepoint: (doc, None) when saved, (None, error) when a field rule refused it."""
	frappe.db.savepoint("property")
	try:
		return appointment(**fields).insert(), None
	except InvalidFieldError as refused:
		frappe.db.rollback(save_point="property")
		return None, refused


@EXAMPLES
@given(name=HOSTILE_TEXT)
def test_customer_name_is_stored_trimmed_or_refused_by_its_rule(name):
	doc, refused = try_insert(customer_name=name)
	expected = name.strip()
	if doc:
		assert 1 <= len(expected) <= 140 and not CONTROL.search(expected)
		assert frappe.db.get_value(doc.doctype, doc.name, "customer_name") == expected
	else:
		assert refused.fieldname == "customer_name"
		assert not expected or len(expected) > 140 or CONTROL.search(expected)


@EXAMPLES
@given(phone=st.one_of(HOSTILE_TEXT, st.text(alphabet="0123456789 +-().", max_size=40)))
def test_phone_numbers_are_accepted_exactly_when_the_rule_says(phone):
	doc, refused = try_insert(customer_phone_number=phone)
	value = phone.strip()
	acceptable = not value or (
		re.fullmatch(r"[0-9 +\-().]+", value) and re.search(r"\d", value) and len(value) <= 20
	)
	assert bool(doc) == bool(acceptable), (phone, refused)
	if refused:
		assert refused.fieldname == "customer_phone_number"


@EXAMPLES
@given(duration=st.one_of(st.integers(min_value=-(10**20), max_value=10**20), st.integers(0, 2000)))
def test_durations_are_whole_minutes_from_5_to_1440(duration):
	doc, refused = try_insert(duration=duration)
	assert bool(doc) == (5 <= duration <= 1440)
	if refused:
		assert refused.fieldname == "duration"


@EXAMPLES
@given(email=st.one_of(HOSTILE_TEXT, st.emails()))
def test_emails_are_stored_lower_case_or_refused(email):
	doc, refused = try_insert(customer_email=email)
	if doc:
		stored = frappe.db.get_value(doc.doctype, doc.name, "customer_email")
		assert stored == email.strip().lower()
		assert "@" in stored and not re.search(r"[\s<>,;]", stored)
	else:
		assert refused.fieldname == "customer_email"


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(HOSTILE_TEXT, st.text(alphabet=string.digits + "-:TZ+. ", max_size=40)))
def test_any_text_as_a_datetime_parses_or_is_a_400_naming_the_parameter(value):
	try:
		parsed = parse_datetime(value, "scheduled_from")
	except ApiError as refused:
		assert (refused.status, refused.param) == (400, "scheduled_from")
	else:
		assert 1900 <= parsed.year <= 9998
