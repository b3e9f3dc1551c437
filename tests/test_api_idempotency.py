"""Idempotency-Key on POST: retries are safe, even when they arrive at the same moment."""

import threading

import frappe

from crm_appointments.rest import idempotency
from tests.factories import USERS
from tests.http import Api, error_of

URL = "/api/crm/appointment"
BODY = {
	"customer_name": "Retry Ruth",
	"customer_email": "ruth@example.org",
	"scheduled_time": "2031-06-01T09:00:00Z",
	"status": "draft",
}


def count():
	return frappe.db.count("CRM Appointment", {"customer_email": "ruth@example.org"})


def test_a_retry_with_the_same_key_returns_the_first_response_and_creates_nothing(api, keys):
	headers = {"Idempotency-Key": "retry-1"}
	first = api.post(URL, key=keys["user"], json=BODY, headers=headers)
	second = api.post(URL, key=keys["user"], json=BODY, headers=headers)
	assert first.status_code == second.status_code == 200
	assert second.get_json() == first.get_json()
	assert second.headers["ETag"] == first.headers["ETag"]
	assert count() == 1


def test_the_same_key_with_another_body_is_a_409(api, keys):
	api.post(URL, key=keys["user"], json=BODY, headers={"Idempotency-Key": "retry-2"})
	response = api.post(
		URL, key=keys["user"], json={**BODY, "customer_name": "Other"}, headers={"Idempotency-Key": "retry-2"}
	)
	assert response.status_code == 409
	assert error_of(response)["type"] == "conflict_error"
	assert count() == 1


def test_keys_belong_to_the_caller(api, keys):
	api.post(URL, key=keys["user"], json=BODY, headers={"Idempotency-Key": "shared-name"})
	response = api.post(URL, key=keys["manager"], json=BODY, headers={"Idempotency-Key": "shared-name"})
	assert response.status_code == 200
	assert count() == 2


def test_a_failed_request_does_not_use_up_its_key(api, keys):
	headers = {"Idempotency-Key": "retry-3"}
	failed = api.post(URL, key=keys["user"], json={**BODY, "customer_email": "broken"}, headers=headers)
	assert failed.status_code == 400
	assert not frappe.db.exists("CRM API Idempotency Key", idempotency._row_name(USERS["user"], "retry-3"))
	# The client fixes its body and retries with the same key: the key was not used up by the failure.
	fixed = api.post(URL, key=keys["user"], json=BODY, headers=headers)
	assert fixed.status_code == 200, fixed.get_data(as_text=True)
	assert count() == 1


def test_two_identical_requests_at_the_same_moment_create_one_appointment(api, keys, site):
	results = []
	barrier = threading.Barrier(4)

	def send():
		barrier.wait()
		results.append(
			Api(site).post(
				URL, key=keys["user"], json=BODY, headers={"Idempotency-Key": "race-1"}, refresh=False
			)
		)

	threads = [threading.Thread(target=send) for _ in range(4)]
	for thread in threads:
		thread.start()
	for thread in threads:
		thread.join()
	frappe.db.rollback()
	assert count() == 1
	statuses = sorted(r.status_code for r in results)
	assert set(statuses) <= {200, 409}
	created = {r.get_json()["id"] for r in results if r.status_code == 200}
	assert len(created) == 1


def test_an_empty_or_overlong_key_is_a_400(api, keys):
	for key in (" ", "k" * 256):
		response = api.post(URL, key=keys["user"], json=BODY, headers={"Idempotency-Key": key})
		assert response.status_code == 400
		assert error_of(response)["param"] == "Idempotency-Key"
	assert count() == 0
