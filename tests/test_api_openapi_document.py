"""The served OpenAPI document says what the server does: read-only fields are read-only, the
controller's text rules are patterns a generator can use, and the limits are the parser's."""

import re

import frappe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_appointments.core.exceptions import InvalidFieldError
from crm_appointments.rest import openapi, schema
from tests.factories import appointment
from tests.http import error_of

URL = "/api/crm/appointment"
EXAMPLES = settings(
	max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def document():
	return openapi.document()


def component(document, name):
	return document["components"]["schemas"][name]


def test_calendar_event_is_read_only_and_left_out_of_request_bodies(document):
	assert component(document, "Appointment")["properties"]["calendar_event"]["readOnly"] is True
	for body in ("AppointmentCreate", "AppointmentUpdate"):
		assert "calendar_event" not in component(document, body)["properties"]


def test_sending_calendar_event_is_a_400_saying_it_is_read_only(api, keys):
	from tests.factories import api_body

	response = api.post(URL, key=keys["manager"], json={**api_body(), "calendar_event": None})
	assert response.status_code == 400
	error = error_of(response)
	assert error["param"] == "calendar_event" and "read-only" in error["message"]


def test_the_status_enum_is_one_component_every_schema_refers_to(document):
	assert component(document, "Status")["enum"] == list(schema.FIELDS_BY_NAME["status"].enum)
	for name in ("Appointment", "AppointmentCreate", "AppointmentUpdate"):
		assert component(document, name)["properties"]["status"] == {"$ref": "#/components/schemas/Status"}


def test_the_limits_of_the_parser_are_in_the_document(document):
	params = {p["name"]: p["schema"] for p in document["paths"]["/api/crm/appointment"]["get"]["parameters"]}
	assert params["offset"]["maximum"] == schema.MAX_OFFSET
	if_match = next(
		p
		for p in document["paths"]["/api/crm/appointment/{id}"]["patch"]["parameters"]
		if p["name"] == "If-Match"
	)
	assert if_match["schema"]["minLength"] == 1


def test_an_offset_past_the_documented_maximum_is_a_400(api, keys):
	response = api.get(URL, key=keys["manager"], query_string={"offset": str(schema.MAX_OFFSET + 1)})
	assert response.status_code == 400 and error_of(response)["param"] == "offset"


def test_an_empty_if_match_is_a_400_naming_it(api, keys):
	from tests.factories import commit, make

	doc = commit(make())
	response = api.patch(f"{URL}/{doc.name}", key=keys["manager"], json={}, headers={"If-Match": " "})
	assert response.status_code == 400 and error_of(response)["param"] == "If-Match"


def test_a_401_names_the_scheme_in_www_authenticate_as_documented(api, document):
	response = api.get(URL)
	assert response.status_code == 401
	assert response.headers["WWW-Authenticate"].startswith("Bearer")
	assert (
		"WWW-Authenticate" in document["paths"]["/api/crm/appointment"]["get"]["responses"]["401"]["headers"]
	)
	bad = api.get(URL, auth="Bearer sk_test_nope")
	assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("year", ["1899", "9999"])
def test_years_outside_the_documented_range_are_refused_as_written(api, keys, year):
	from tests.factories import api_body

	value = f"{year}-06-01T10:00:00Z"
	assert not re.match(schema.YEAR_PATTERN, value)
	response = api.post(URL, key=keys["manager"], json={**api_body(status="draft"), "scheduled_time": value})
	assert response.status_code == 400 and error_of(response)["param"] == "scheduled_time"


def test_the_edge_years_are_accepted_whatever_the_offset():
	for value in ("1900-01-01T00:00:00+14:00", "9998-12-31T23:59:00-12:00"):
		assert re.match(schema.YEAR_PATTERN, value)
		schema.parse_datetime(value, "scheduled_time")  # no ApiError


# -- the patterns and the controller's rules agree ---------------------------------------------

TEXT = st.text(
	alphabet=st.one_of(
		st.sampled_from([*"0123456789 +-().a\t\n\r\x00\x1f\x7f\x85", "\u00a0", "\u2003"]),
		st.characters(codec="utf-8", exclude_categories=("Cs",)),
	),
	max_size=24,
)


def controller_accepts(fieldname, value) -> bool:
	frappe.db.savepoint("pattern")
	try:
		appointment(**{fieldname: value}).insert()
		return True
	except InvalidFieldError as refused:
		assert refused.fieldname == fieldname, (fieldname, value, refused)
		return False
	finally:
		frappe.db.rollback(save_point="pattern")


@EXAMPLES
@given(value=TEXT)
@pytest.mark.parametrize("fieldname", ["customer_name", "customer_phone_number", "customer_skype"])
def test_a_field_pattern_matches_exactly_what_the_controller_accepts(fieldname, value):
	field = schema.FIELDS_BY_NAME[fieldname]
	documented = bool(re.search(field.pattern, value)) and len(value.strip()) <= field.max_length
	if fieldname == "customer_name" and not frappe.utils.strip_html(value).strip():
		documented = False  # markup alone: a rule no pattern states (see the controller)
	assert controller_accepts(fieldname, value) == documented, repr(value)
