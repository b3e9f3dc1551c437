"""PATCH and DELETE /api/crm/appointment/{id}: partial updates, the workflow over HTTP, ETags."""

import frappe
import pytest

from tests.factories import commit, let_time_pass, make
from tests.http import error_of

URL = "/api/crm/appointment"


@pytest.fixture
def scheduled(api):
	return commit(make(status="scheduled", customer_phone_number="555 0100", customer_details="Notes"))


def test_patch_changes_only_the_fields_given(api, keys, scheduled):
	before = api.get(f"{URL}/{scheduled.name}", key=keys["user"]).get_json()
	response = api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={"customer_name": "Ada Byron"})
	assert response.status_code == 200, response.get_data(as_text=True)
	after = response.get_json()
	assert after["customer_name"] == "Ada Byron"
	assert {k: v for k, v in after.items() if k not in ("customer_name", "updated_at")} == {
		k: v for k, v in before.items() if k not in ("customer_name", "updated_at")
	}
	assert frappe.db.get_value("CRM Appointment", scheduled.name, "customer_name") == "Ada Byron"


def test_null_clears_an_optional_field(api, keys, scheduled):
	response = api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={"customer_phone_number": None})
	assert response.get_json()["customer_phone_number"] is None
	assert frappe.db.get_value("CRM Appointment", scheduled.name, "customer_phone_number") is None


@pytest.mark.parametrize("field", ["customer_name", "customer_email", "scheduled_time", "status"])
@pytest.mark.parametrize("value", [None, ""])
def test_null_or_blank_on_a_required_field_is_a_400(api, keys, scheduled, field, value):
	response = api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={field: value})
	assert response.status_code == 400
	assert error_of(response)["param"] == field


def stored_state(api, key, doc) -> tuple:
	"""What a PATCH that changes nothing must leave alone: the object (its updated_at), its ETag, the
	stored modified time to the microsecond and the number of Versions."""
	response = api.get(f"{URL}/{doc.name}", key=key)
	return (
		response.get_json(),
		response.headers["ETag"],
		frappe.db.get_value("CRM Appointment", doc.name, "modified"),
		frappe.db.count("Version", {"ref_doctype": "CRM Appointment", "docname": doc.name}),
	)


def test_an_empty_patch_changes_nothing(api, keys, scheduled):
	before = stored_state(api, keys["user"], scheduled)
	response = api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={})
	assert response.status_code == 200
	assert response.headers["ETag"] == before[1]
	assert stored_state(api, keys["user"], scheduled) == before


def test_a_patch_that_repeats_the_stored_values_changes_nothing(api, keys, scheduled):
	before = stored_state(api, keys["user"], scheduled)
	obj = before[0]
	same = {
		"customer_name": f"  {obj['customer_name']} ",
		"customer_email": obj["customer_email"].upper(),
		"status": obj["status"],
		"scheduled_time": obj["scheduled_time"].replace("Z", "+00:00"),
		"duration": obj["duration"],
		"customer_phone_number": obj["customer_phone_number"],
	}
	response = api.patch(
		f"{URL}/{scheduled.name}", key=keys["user"], json=same, headers={"If-Match": before[1]}
	)
	assert response.status_code == 200, response.get_data(as_text=True)
	assert response.headers["ETag"] == before[1]
	assert stored_state(api, keys["user"], scheduled) == before


def test_a_patch_that_changes_nothing_still_honours_a_stale_if_match(api, keys, scheduled):
	response = api.patch(
		f"{URL}/{scheduled.name}", key=keys["user"], json={}, headers={"If-Match": '"stale"'}
	)
	assert response.status_code == 412


def test_a_move_the_workflow_refuses_is_a_409_naming_the_allowed_moves(api, keys, scheduled):
	response = api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={"status": "draft"})
	assert response.status_code == 409
	error = error_of(response)
	assert error["type"] == "conflict_error"
	assert error["param"] == "status"
	assert "Scheduled" in error["message"] and "Confirmed, Completed, Cancelled, No Show" in error["message"]
	assert frappe.db.get_value("CRM Appointment", scheduled.name, "status") == "Scheduled"


def test_the_workflow_end_to_end_over_http(api, keys, scheduled):
	path = f"{URL}/{scheduled.name}"
	assert api.patch(path, key=keys["user"], json={"status": "confirmed"}).get_json()["status"] == "confirmed"
	moved = api.patch(path, key=keys["user"], json={"scheduled_time": "2032-03-01T10:00:00Z"}).get_json()
	assert (moved["status"], moved["scheduled_time"]) == ("scheduled", "2032-03-01T10:00:00Z")
	let_time_pass(scheduled)
	frappe.db.commit()
	assert api.patch(path, key=keys["user"], json={"status": "completed"}).get_json()["status"] == "completed"


def test_editing_a_final_appointment_is_a_409_except_its_notes(api, keys):
	doc = commit(make(status="completed", scheduled_time="2020-01-01 10:00:00"))
	refused = api.patch(f"{URL}/{doc.name}", key=keys["user"], json={"customer_name": "Changed"})
	assert refused.status_code == 409
	assert error_of(refused) | {"message": ""} == {
		"type": "conflict_error",
		"message": "",
		"param": "customer_name",
	}
	notes = api.patch(f"{URL}/{doc.name}", key=keys["user"], json={"customer_details": "Went well."})
	assert notes.status_code == 200
	assert notes.get_json()["customer_details"] == "Went well."


def test_a_stale_if_match_is_a_412_and_changes_nothing(api, keys, scheduled):
	first = api.get(f"{URL}/{scheduled.name}", key=keys["user"])
	api.patch(f"{URL}/{scheduled.name}", key=keys["user"], json={"customer_name": "Someone changed me"})
	response = api.patch(
		f"{URL}/{scheduled.name}",
		key=keys["user"],
		json={"customer_name": "Lost update"},
		headers={"If-Match": first.headers["ETag"]},
	)
	assert response.status_code == 412
	assert error_of(response)["type"] == "conflict_error"
	assert frappe.db.get_value("CRM Appointment", scheduled.name, "customer_name") == "Someone changed me"


def test_the_current_if_match_lets_the_patch_through_and_gives_a_new_etag(api, keys, scheduled):
	current = api.get(f"{URL}/{scheduled.name}", key=keys["user"]).headers["ETag"]
	response = api.patch(
		f"{URL}/{scheduled.name}",
		key=keys["user"],
		json={"customer_name": "New"},
		headers={"If-Match": current},
	)
	assert response.status_code == 200
	assert response.headers["ETag"] != current


def test_patching_an_unknown_id_is_a_404(api, keys):
	response = api.patch(f"{URL}/appointment_nosuchthing0", key=keys["user"], json={"customer_name": "x"})
	assert response.status_code == 404


def test_delete_answers_with_the_id_and_keeps_a_restorable_copy(api, keys, scheduled):
	response = api.delete(f"{URL}/{scheduled.name}", key=keys["manager"])
	assert response.status_code == 200
	assert response.get_json() == {"id": scheduled.name, "deleted": True}
	assert not frappe.db.exists("CRM Appointment", scheduled.name)
	assert frappe.db.exists(
		"Deleted Document", {"deleted_doctype": "CRM Appointment", "deleted_name": scheduled.name}
	)


def test_a_second_delete_is_a_404(api, keys, scheduled):
	api.delete(f"{URL}/{scheduled.name}", key=keys["manager"])
	response = api.delete(f"{URL}/{scheduled.name}", key=keys["manager"])
	assert response.status_code == 404
	assert error_of(response)["type"] == "not_found_error"


def test_a_delete_with_a_stale_if_match_is_a_412_and_deletes_nothing(api, keys, scheduled):
	stale = api.get(f"{URL}/{scheduled.name}", key=keys["manager"]).headers["ETag"]
	api.patch(f"{URL}/{scheduled.name}", key=keys["manager"], json={"customer_name": "Changed"})
	response = api.delete(f"{URL}/{scheduled.name}", key=keys["manager"], headers={"If-Match": stale})
	assert response.status_code == 412
	assert frappe.db.exists("CRM Appointment", scheduled.name)


def test_a_user_without_delete_permission_gets_a_403_and_the_appointment_stays(api, keys, scheduled):
	response = api.delete(f"{URL}/{scheduled.name}", key=keys["user"])
	assert response.status_code == 403
	assert error_of(response)["type"] == "permission_error"
	assert frappe.db.exists("CRM Appointment", scheduled.name)
