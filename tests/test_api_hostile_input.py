"""Hostile input through Frappe's full request pipeline: SQL in every parameter and field, control
characters, bad encodings, deep and huge JSON, over-long strings. The answer is always our JSON
error shape or a faithful store; never a 500, and nothing changes on a refusal."""

import json

import frappe
import pytest

from crm_appointments.rest import schema
from tests.factories import api_body, commit, make
from tests.http import error_of

URL = "/api/crm/appointment"
VALID = api_body()
SQL = [
	"' OR '1'='1",
	"'; DROP TABLE `tabCRM Appointment`; --",
	'" OR ""="',
	"1) OR (1=1",
	"%' UNION SELECT name, password FROM __Auth -- ",
	"\\'; SELECT SLEEP(5); --",
]
# Every parameter the list takes, as the validation and the OpenAPI document know them.
LIST_PARAMS = [param.name for param in schema.LIST_PARAMS]
TEXT_FIELDS = [
	"customer_name",
	"customer_email",
	"customer_phone_number",
	"customer_skype",
	"customer_details",
]


def count():
	frappe.db.rollback()
	return frappe.db.count("CRM Appointment")


def body_of(response):
	return response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("param", LIST_PARAMS)
@pytest.mark.parametrize("value", SQL)
def test_sql_in_a_list_parameter_is_refused_or_matches_nothing(api, keys, param, value):
	commit(make())
	before = count()
	response = api.get(URL, key=keys["manager"], query_string={param: value})
	assert response.status_code in (200, 400), body_of(response)
	if response.status_code == 400:
		assert error_of(response)["param"] == param
	else:
		assert response.get_json()["data"] == []  # taken as a plain value, which nothing equals
	assert count() == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", SQL)
def test_sql_in_a_field_is_refused_or_stored_exactly_as_sent(api, keys, field, value):
	before = count()
	response = api.post(URL, key=keys["manager"], json={**VALID, field: value})
	assert response.status_code in (200, 400), body_of(response)
	if response.status_code == 200:
		created = response.get_json()
		assert created[field] == (value.strip() if field != "customer_details" else value)
		assert frappe.db.get_value("CRM Appointment", created["id"], field) == created[field]
		assert count() == before + 1
	else:
		assert error_of(response)["param"] == field
		assert count() == before


def test_sql_in_the_path_is_a_404(api, keys):
	for value in SQL:
		response = api.get(f"{URL}/{value}", key=keys["manager"])
		assert response.status_code == 404, body_of(response)
		error_of(response)


@pytest.mark.parametrize(
	"field", ["customer_name", "customer_email", "customer_phone_number", "customer_skype"]
)
@pytest.mark.parametrize("character", ["\x00", "\n", "\r", "\x1b", "\x7f"])
def test_control_characters_in_a_single_line_field_are_a_400(api, keys, field, character):
	before = count()
	response = api.post(URL, key=keys["manager"], json={**VALID, field: f"12{character}34"})
	assert response.status_code == 400, body_of(response)
	assert error_of(response)["param"] == field
	assert count() == before


def test_a_nul_byte_in_the_notes_is_refused_or_kept(api, keys):
	response = api.post(URL, key=keys["manager"], json={**VALID, "customer_details": "a\x00b"})
	assert response.status_code in (200, 400), body_of(response)
	if response.status_code == 200:
		stored = frappe.db.get_value("CRM Appointment", response.get_json()["id"], "customer_details")
		assert stored == response.get_json()["customer_details"]
	else:
		assert error_of(response)["param"] == "customer_details"


@pytest.mark.parametrize(
	"raw",
	[
		b"\xff\xfe\x00{",  # not UTF-8
		b'{"customer_name": "\xc3\x28"}',  # an invalid UTF-8 sequence inside a string
		b'{"customer_name": "Ada"',  # cut short
		b"[]",
		b"null",
		b'"a string"',
		b"",
	],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, keys, raw):
	before = count()
	response = api.post(URL, key=keys["manager"], data=raw, headers={"Content-Type": "application/json"})
	assert response.status_code == 400, body_of(response)
	error_of(response)
	assert count() == before


@pytest.mark.parametrize("depth", [100, 10_000, 100_000])
def test_deeply_nested_json_is_a_400(api, keys, depth):
	nested = "[" * depth + "]" * depth
	raw = ('{"customer_name": "Ada", "customer_details": ' + nested + "}").encode()
	before = count()
	response = api.post(URL, key=keys["manager"], data=raw, headers={"Content-Type": "application/json"})
	assert response.status_code == 400, body_of(response)
	error_of(response)
	assert count() == before


@pytest.mark.parametrize(
	"duration", ["1" + "0" * 400, "1e400", "-1e400", "NaN", "Infinity", "9223372036854775808", "-0.5"]
)
def test_huge_or_odd_numbers_are_a_400(api, keys, duration):
	raw = json.dumps({**VALID}).replace("}", f', "duration": {duration}}}').encode()
	before = count()
	response = api.post(URL, key=keys["manager"], data=raw, headers={"Content-Type": "application/json"})
	assert response.status_code == 400, body_of(response)
	error_of(response)
	assert count() == before


@pytest.mark.parametrize("field", TEXT_FIELDS[:4])
def test_over_long_strings_are_a_400_that_names_the_field(api, keys, field):
	before = count()
	value = "9" * 100_000 if field == "customer_phone_number" else "a" * 100_000
	response = api.post(URL, key=keys["manager"], json={**VALID, field: value})
	assert response.status_code == 400, body_of(response)
	assert error_of(response)["param"] == field
	assert count() == before


def test_long_notes_are_kept_whole(api, keys):
	notes = "line\n" * 50_000  # 250,000 characters, under the 1 MB body limit
	response = api.post(URL, key=keys["manager"], json={**VALID, "customer_details": notes})
	assert response.status_code == 200, body_of(response)
	assert frappe.db.get_value("CRM Appointment", response.get_json()["id"], "customer_details") == notes


@pytest.mark.parametrize("value", [["a"], {"a": 1}, 12, True, None])
def test_a_field_of_the_wrong_json_type_is_a_400(api, keys, value):
	before = count()
	response = api.post(URL, key=keys["manager"], json={**VALID, "customer_name": value})
	assert response.status_code == 400, body_of(response)
	assert error_of(response)["param"] == "customer_name"
	assert count() == before


def test_a_refused_patch_changes_nothing(api, keys):
	doc = commit(make(customer_name="Before"))
	modified = frappe.db.get_value("CRM Appointment", doc.name, "modified")
	for body in ({"customer_name": "x" * 1000}, {"customer_email": "' OR 1=1"}, {"duration": 10**30}):
		response = api.patch(f"{URL}/{doc.name}", key=keys["manager"], json=body)
		assert response.status_code == 400, body_of(response)
	assert frappe.db.get_value("CRM Appointment", doc.name, ["customer_name", "modified"]) == (
		"Before",
		modified,
	)


@pytest.mark.parametrize("value", ["<img src=x onerror=alert(1)>", "<b></b>", "  <br>  "])
def test_a_name_that_is_only_markup_is_our_400_naming_customer_name(api, keys, value):
	"""Frappe counts a required field whose text is all markup as empty; the answer is ours, and a
	name with some text besides markup is stored as typed."""
	before = count()
	response = api.post(URL, key=keys["manager"], json={**VALID, "customer_name": value})
	assert response.status_code == 400, body_of(response)
	error = error_of(response)
	assert error["param"] == "customer_name"
	assert error["message"] == "Customer Name must contain some text, not only markup."
	assert count() == before
	typed = "Eve " + value
	response = api.post(URL, key=keys["manager"], json={**VALID, "customer_name": typed})
	assert response.status_code == 200, body_of(response)
	assert response.get_json()["customer_name"] == typed.strip()
