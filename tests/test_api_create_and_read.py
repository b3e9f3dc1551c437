"""POST and GET /api/crm/appointment[/{id}] through Frappe's full request pipeline."""

import json
import re
from datetime import datetime, timezone

import frappe
import pytest

from tests.factories import commit, make
from tests.http import OBJECT_KEYS, error_of

URL = "/api/crm/appointment"
# The API document's create example, with a time that is in the future.
EXAMPLE = {
	"customer_name": "customer_name_example",
	"scheduled_time": "2031-01-15T09:30:00Z",
	"status": "draft",
	"customer_email": "jane@example.com",
}
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def test_creating_the_api_documents_example_returns_the_object(api, keys):
	response = api.post(URL, key=keys["manager"], json=EXAMPLE)
	assert response.status_code == 200, response.get_data(as_text=True)
	obj = response.get_json()
	assert list(obj) == OBJECT_KEYS
	assert re.match(r"^appointment_[a-z0-9]{12,}$", obj["id"])
	assert obj["status"] == "draft"
	assert obj["scheduled_time"] == "2031-01-15T09:30:00Z"
	assert obj["customer_phone_number"] is None and obj["party"] is None
	assert UTC_Z.match(obj["created_at"]) and UTC_Z.match(obj["updated_at"])
	assert response.headers["ETag"]
	assert frappe.db.get_value("CRM Appointment", obj["id"], "customer_name") == "customer_name_example"


def test_created_at_is_now_in_utc(api, keys):
	obj = api.post(URL, key=keys["manager"], json=EXAMPLE).get_json()
	created = datetime.strptime(obj["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
	assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 60


@pytest.mark.parametrize(
	("given", "stored_utc"),
	[
		("2031-01-15T09:30:00Z", "2031-01-15T09:30:00Z"),
		("2031-01-15T09:30:00+02:00", "2031-01-15T07:30:00Z"),
		("2031-01-15T09:30:00-0500", "2031-01-15T14:30:00Z"),
		# No offset: the site's time zone (the test site runs on Asia/Kolkata, UTC+05:30).
		("2031-01-15T09:30:00", "2031-01-15T04:00:00Z"),
		("2031-01-15 09:30", "2031-01-15T04:00:00Z"),
	],
)
def test_scheduled_time_takes_any_offset_and_comes_back_in_utc(api, keys, given, stored_utc):
	response = api.post(URL, key=keys["manager"], json={**EXAMPLE, "scheduled_time": given})
	assert response.status_code == 200, response.get_data(as_text=True)
	assert response.get_json()["scheduled_time"] == stored_utc


def test_every_field_round_trips(api, keys):
	contact = commit(
		frappe.get_doc({"doctype": "Contact", "first_name": "Round", "last_name": "Trip"}).insert()
	)
	body = {
		**EXAMPLE,
		"customer_phone_number": "+1 (555) 010-0199",
		"customer_skype": "live:jane",
		"customer_details": "Prefers mornings. <b>not html</b>",
		"appointment_with": "Contact",
		"party": contact.name,
		"duration": 45,
		"status": "scheduled",
	}
	try:
		obj = api.post(URL, key=keys["manager"], json=body).get_json()
		assert {k: obj[k] for k in body} == {**body, "scheduled_time": "2031-01-15T09:30:00Z"}
		assert api.get(f"{URL}/{obj['id']}", key=keys["manager"]).get_json() == obj
	finally:
		frappe.db.delete("CRM Appointment", {"party": contact.name})
		frappe.delete_doc("Contact", contact.name, force=True)
		frappe.db.commit()


@pytest.mark.parametrize("missing", ["customer_name", "scheduled_time", "status", "customer_email"])
def test_a_missing_required_field_is_a_400_naming_it(api, keys, missing):
	body = {k: v for k, v in EXAMPLE.items() if k != missing}
	response = api.post(URL, key=keys["manager"], json=body)
	assert response.status_code == 400
	assert error_of(response) | {"message": ""} == {
		"type": "invalid_request_error",
		"message": "",
		"param": missing,
	}


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at"])
def test_read_only_fields_are_refused(api, keys, field):
	response = api.post(URL, key=keys["manager"], json={**EXAMPLE, field: "x"})
	assert response.status_code == 400
	assert error_of(response)["param"] == field
	assert "read-only" in error_of(response)["message"]


def test_unknown_fields_are_refused_by_name(api, keys):
	response = api.post(URL, key=keys["manager"], json={**EXAMPLE, "colour": "red"})
	assert response.status_code == 400
	assert error_of(response)["param"] == "colour"


@pytest.mark.parametrize(
	("field", "value"),
	[
		("customer_name", 42),
		("customer_name", ["a"]),
		("duration", "30"),
		("duration", True),
		("duration", 30.5),
		("status", "Scheduled"),
		("status", "postponed"),
		("scheduled_time", "scheduled_time_example"),
		("scheduled_time", "2031-01-15"),
		("scheduled_time", "2031-02-30T10:00:00Z"),
		("scheduled_time", 1700000000),
	],
)
def test_values_of_the_wrong_shape_are_a_400_naming_the_field(api, keys, field, value):
	response = api.post(URL, key=keys["manager"], json={**EXAMPLE, field: value})
	assert response.status_code == 400, response.get_data(as_text=True)
	assert error_of(response)["param"] == field


@pytest.mark.parametrize(
	("field", "value"),
	[
		("customer_email", "not-an-email"),
		("customer_name", "   "),
		("customer_name", "x" * 141),
		("customer_phone_number", "call me"),
		("duration", 4),
		("appointment_with", "ToDo"),
		("party", "Nobody"),
		("calendar_event", "EV-0001"),
	],
)
def test_the_controllers_field_rules_answer_400_naming_the_field(api, keys, field, value):
	body = {**EXAMPLE, field: value}
	if field == "party":
		body["appointment_with"] = "Contact"
	response = api.post(URL, key=keys["manager"], json=body)
	assert response.status_code == 400, response.get_data(as_text=True)
	assert error_of(response)["param"] == field
	assert not frappe.db.exists("CRM Appointment", {"customer_email": "jane@example.com"})


def test_a_scheduled_appointment_in_the_past_is_a_400_on_scheduled_time(api, keys):
	response = api.post(
		URL,
		key=keys["manager"],
		json={**EXAMPLE, "status": "scheduled", "scheduled_time": "2020-01-01T10:00:00Z"},
	)
	assert response.status_code == 400
	assert error_of(response)["param"] == "scheduled_time"


def test_a_new_appointment_cannot_be_created_cancelled(api, keys):
	response = api.post(URL, key=keys["manager"], json={**EXAMPLE, "status": "cancelled"})
	assert response.status_code == 400
	assert error_of(response)["param"] == "status"


@pytest.mark.parametrize("raw", ["{bad json", "[1, 2]", '"a string"', "42", "null"])
def test_a_body_that_is_not_a_json_object_is_a_400(api, keys, raw):
	response = api.post(URL, key=keys["manager"], data=raw, headers={"Content-Type": "application/json"})
	assert response.status_code == 400
	assert error_of(response)["type"] == "invalid_request_error"


def test_a_body_over_1_mb_is_a_413(api, keys):
	body = {**EXAMPLE, "customer_details": "x" * (1024 * 1024 + 1)}
	response = api.post(URL, key=keys["manager"], json=body)
	assert response.status_code == 413
	assert error_of(response)["type"] == "invalid_request_error"


def test_get_returns_the_same_object_with_its_etag(api, keys):
	created = api.post(URL, key=keys["manager"], json=EXAMPLE)
	fetched = api.get(f"{URL}/{created.get_json()['id']}", key=keys["manager"])
	assert fetched.status_code == 200
	assert fetched.get_json() == created.get_json()
	assert fetched.headers["ETag"] == created.headers["ETag"]


def test_an_unknown_id_is_a_404(api, keys):
	response = api.get(f"{URL}/appointment_doesnotexist00", key=keys["manager"])
	assert response.status_code == 404
	assert error_of(response)["type"] == "not_found_error"


def test_stored_labels_come_out_as_snake_case_values(api, keys):
	doc = commit(make(status="no_show", scheduled_time="2020-01-01 10:00:00"))
	assert api.get(f"{URL}/{doc.name}", key=keys["manager"]).get_json()["status"] == "no_show"


def test_a_trailing_slash_is_tolerated(api, keys):
	created = api.post(f"{URL}/", key=keys["manager"], json=EXAMPLE)
	assert created.status_code == 200
	assert api.get(f"{URL}/{created.get_json()['id']}/", key=keys["manager"]).status_code == 200
	assert api.get(f"{URL}/", key=keys["manager"]).status_code == 200


def test_head_answers_like_get_without_a_body(api, keys):
	response = api.request("HEAD", URL, key=keys["manager"])
	assert response.status_code == 200
	assert response.get_data() == b""


def test_a_failed_create_writes_nothing(api, keys):
	before = frappe.db.count("CRM Appointment")
	versions = frappe.db.count("Version")
	api.post(URL, key=keys["manager"], json={**EXAMPLE, "customer_email": "broken"})
	assert frappe.db.count("CRM Appointment") == before
	assert frappe.db.count("Version") == versions


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(api, keys, monkeypatch):
	from crm_appointments.rest import schema

	def explode(row):
		raise RuntimeError("secret internals")

	monkeypatch.setattr(schema, "from_doc", explode)
	response = api.post(URL, key=keys["manager"], json=EXAMPLE)
	assert response.status_code == 500
	error = error_of(response)
	assert error["type"] == "api_error"
	assert "secret internals" not in json.dumps(error) and "Traceback" not in response.get_data(as_text=True)
	assert not frappe.db.exists("CRM Appointment", {"customer_email": "jane@example.com"})
