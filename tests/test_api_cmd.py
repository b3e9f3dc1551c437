"""`cmd` is not a way into Frappe's RPC from our routes: Frappe runs any request carrying a `cmd`
argument as a call of that method, whatever its path. On /api/crm/ it is an unknown query parameter
or field, a 400 naming it, whatever the credentials; and the method never runs."""

import frappe
import pytest

from tests.factories import api_body, commit, frappe_token, make
from tests.http import error_of

URL = "/api/crm/appointment"
RPC = "frappe.auth.get_logged_user"


@pytest.fixture(params=["secret key", "frappe token"])
def auth(request, keys):
	if request.param == "secret key":
		return f"Bearer {keys['manager']}"
	return frappe_token("manager")


def refused_as_unknown(response):
	assert response.status_code == 400, response.get_data(as_text=True)[:300]
	assert "message" not in response.get_json()  # Frappe's RPC answer shape
	assert error_of(response)["param"] == "cmd"


def appointments():
	frappe.db.rollback()
	return frappe.db.count("CRM Appointment")


def test_cmd_in_the_list_query_is_an_unknown_parameter(api, auth):
	refused_as_unknown(api.get(f"{URL}?cmd={RPC}", auth=auth))


def test_cmd_in_a_create_query_or_body_creates_nothing(api, auth):
	before = appointments()
	refused_as_unknown(api.post(f"{URL}?cmd={RPC}", auth=auth, json=api_body()))
	refused_as_unknown(api.post(URL, auth=auth, json={**api_body(), "cmd": RPC}))
	assert appointments() == before


def test_cmd_on_one_appointment_is_refused_and_changes_nothing(api, auth):
	doc = commit(make())
	path = f"{URL}/{doc.name}"
	refused_as_unknown(api.get(f"{path}?cmd={RPC}", auth=auth))
	refused_as_unknown(api.patch(f"{path}?cmd={RPC}", auth=auth, json={"customer_name": "Changed"}))
	refused_as_unknown(api.patch(path, auth=auth, json={"customer_name": "Changed", "cmd": RPC}))
	refused_as_unknown(api.delete(f"{path}?cmd={RPC}", auth=auth))
	assert frappe.db.get_value("CRM Appointment", doc.name, "customer_name") == doc.customer_name


def test_cmd_on_the_openapi_document_is_refused_too(api):
	refused_as_unknown(api.get(f"/api/crm/openapi.json?cmd={RPC}"))


def test_a_desk_session_cannot_reach_frappes_rpc_through_our_routes(api):
	from frappe.sessions import clear_sessions
	from frappe.utils.password import update_password

	from tests.factories import USERS

	update_password(USERS["user"], "Pytest-Passw0rd!")
	frappe.db.commit()
	login = api.post("/api/method/login", json={"usr": USERS["user"], "pwd": "Pytest-Passw0rd!"})
	cookie = {"Cookie": login.headers["Set-Cookie"].split(";")[0]}
	try:
		refused_as_unknown(api.get(f"{URL}?cmd={RPC}", headers=cookie))
	finally:
		clear_sessions(USERS["user"], force=True)
		frappe.db.commit()
