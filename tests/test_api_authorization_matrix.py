"""Who may do what through the REST API: each role x each route x their own and others' records,
with the site's default permissions (README, "Installing into an existing bench")."""

import frappe
import pytest

from tests.factories import USERS, api_body, commit, make
from tests.http import error_of

URL = "/api/crm/appointment"
NEW = api_body(customer_name="Matrix", customer_email="matrix@example.com")
ROUTES = ("list", "read", "create", "update", "delete")
# Written out from the README's role table, not read from the permissions in the code.
ALLOWED = {
	"manager": {"list", "read", "create", "update", "delete"},
	"user": {"list", "read", "create", "update"},
	"nobody": set(),
}


def call(api, key, route, name):
	if route == "list":
		return api.get(URL, key=key)
	if route == "read":
		return api.get(f"{URL}/{name}", key=key)
	if route == "create":
		return api.post(URL, key=key, json=NEW)
	if route == "update":
		return api.patch(f"{URL}/{name}", key=key, json={"customer_details": "changed"})
	return api.delete(f"{URL}/{name}", key=key)


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", ["manager", "user", "nobody"])
def test_each_role_on_each_route_for_own_and_others_records(api, keys, kind, route, whose):
	owner = USERS[kind] if whose == "own" else USERS["manager" if kind != "manager" else "user"]
	doc = make(customer_details="original")
	frappe.db.set_value("CRM Appointment", doc.name, "owner", owner, update_modified=False)
	commit(doc)

	response = call(api, keys[kind], route, doc.name)

	if route in ALLOWED[kind]:
		assert response.status_code == 200, response.get_data(as_text=True)[:300]
	elif route in ("read", "update", "delete") and "read" not in ALLOWED[kind]:
		# A record the caller may not read is not there, as far as they can tell.
		assert response.status_code == 404, response.get_data(as_text=True)[:300]
		assert error_of(response)["type"] == "not_found_error"
	else:
		assert response.status_code == 403, response.get_data(as_text=True)[:300]
		assert error_of(response)["type"] == "permission_error"
	# What a refusal leaves: the record as it was.
	stored = frappe.db.get_value("CRM Appointment", doc.name, "customer_details")
	if route == "update" and route in ALLOWED[kind]:
		assert stored == "changed"
	elif route == "delete" and route in ALLOWED[kind]:
		assert stored is None
	else:
		assert stored == "original"
	if route == "create":
		created = frappe.db.count("CRM Appointment", {"customer_email": "matrix@example.com"})
		assert created == (1 if route in ALLOWED[kind] else 0)


@pytest.mark.parametrize("route", ROUTES)
def test_no_credentials_on_any_route_is_a_401(api, route):
	doc = commit(make(customer_details="original"))
	response = call(api, None, route, doc.name)
	assert response.status_code == 401
	assert error_of(response)["type"] == "authentication_error"
	assert frappe.db.get_value("CRM Appointment", doc.name, "customer_details") == "original"
