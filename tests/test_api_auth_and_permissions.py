"""Who may call the API: secret keys, Frappe tokens, OAuth bearer tokens, session cookies with CSRF,
and the acting user's permissions deciding what they see and do."""

import re

import frappe
import pytest
from frappe.utils import now_datetime

from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import hash_key, issue_key
from tests.factories import USERS, api_body, commit, make, user_permission
from tests.http import error_of

URL = "/api/crm/appointment"


def test_no_credentials_is_a_401(api):
	response = api.get(URL)
	assert response.status_code == 401
	assert error_of(response)["type"] == "authentication_error"


@pytest.mark.parametrize(
	"header",
	[
		"Bearer sk_live_aaaaaaaaaaaa_" + "a" * 32,
		"Bearer sk_test_",
		"Bearer nonsense",
		"token nokey:nosecret",
		"Basic bm9rZXk6bm9zZWNyZXQ=",
		"Bearer",
	],
)
def test_bad_credentials_are_a_401_in_the_error_shape(api, header):
	response = api.get(URL, auth=header)
	assert response.status_code == 401
	assert error_of(response)["type"] == "authentication_error"


def test_errors_are_json_even_when_the_client_asks_for_html(api):
	response = api.get(URL, headers={"Accept": "text/html"}, auth="Bearer sk_live_wrong")
	assert response.status_code == 401
	assert error_of(response)["type"] == "authentication_error"


def test_a_secret_key_acts_as_its_user_and_records_its_use(api, keys):
	issued = issue_key(USERS["user"], "live", "last-used check")
	frappe.db.commit()
	response = api.get(URL, key=issued["key"])
	assert response.status_code == 200
	assert frappe.db.get_value("CRM API Key", issued["name"], "last_used_at")
	assert "Set-Cookie" not in response.headers


def test_only_a_hash_of_the_key_is_stored(keys):
	issued = issue_key(USERS["user"])
	stored = frappe.db.get_value("CRM API Key", issued["name"], ["secret_hash", "key_hint"], as_dict=True)
	assert stored.secret_hash == hash_key(issued["key"])
	assert issued["key"] not in str(frappe.get_doc("CRM API Key", issued["name"]).as_dict())
	assert re.match(r"^sk_live_[a-z0-9]{12}_[A-Za-z0-9]{32}$", issued["key"])


def test_a_revoked_key_stops_working(api):
	issued = issue_key(USERS["user"])
	frappe.db.commit()
	assert api.get(URL, key=issued["key"]).status_code == 200
	frappe.get_doc("CRM API Key", issued["name"]).revoke()
	frappe.db.commit()
	assert api.get(URL, key=issued["key"]).status_code == 401


def test_a_key_with_one_wrong_character_is_refused(api):
	issued = issue_key(USERS["user"])
	frappe.db.commit()
	key = issued["key"]
	tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
	assert api.get(URL, key=tampered).status_code == 401


def test_a_key_of_a_disabled_user_is_refused(api):
	issued = issue_key(USERS["user"])
	frappe.db.set_value("User", USERS["user"], "enabled", 0)
	frappe.db.commit()
	try:
		assert api.get(URL, key=issued["key"]).status_code == 401
	finally:
		frappe.db.set_value("User", USERS["user"], "enabled", 1)
		frappe.db.commit()


def test_secret_keys_only_open_the_apps_routes(api, keys):
	response = api.get("/api/resource/CRM Appointment", key=keys["manager"])
	assert response.status_code in (401, 403)


def test_frappes_token_key_secret_works(api):
	from frappe.core.doctype.user.user import generate_keys

	secret = generate_keys(USERS["user"])["api_secret"]
	api_key = frappe.db.get_value("User", USERS["user"], "api_key")
	frappe.db.commit()
	response = api.get(URL, auth=f"token {api_key}:{secret}")
	assert response.status_code == 200


def test_frappe_oauth_bearer_tokens_work(api):
	client = frappe.get_doc(
		{
			"doctype": "OAuth Client",
			"app_name": "pytest",
			"scopes": "all openid",
			"redirect_uris": "http://localhost",
			"default_redirect_uri": "http://localhost",
			"skip_authorization": 1,
		}
	).insert(ignore_permissions=True)
	token = frappe.get_doc(
		{
			"doctype": "OAuth Bearer Token",
			"client": client.name,
			"user": USERS["user"],
			"scopes": "all",
			"access_token": frappe.generate_hash(length=30),
			"expiration_time": now_datetime().replace(year=now_datetime().year + 1),
			"expires_in": 3600,
			"status": "Active",
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		assert api.get(URL, auth=f"Bearer {token.access_token}").status_code == 200
		assert api.get(URL, auth=f"Bearer {token.access_token}x").status_code == 401
	finally:
		frappe.delete_doc("OAuth Bearer Token", token.name, force=True, ignore_permissions=True)
		frappe.delete_doc("OAuth Client", client.name, force=True, ignore_permissions=True)
		frappe.db.commit()


@pytest.fixture
def session(api):
	"""A desk session of the test user: (cookie header, CSRF token)."""
	from frappe.utils.password import update_password

	update_password(USERS["user"], "Pytest-Passw0rd!")
	frappe.db.commit()
	login = api.post("/api/method/login", json={"usr": USERS["user"], "pwd": "Pytest-Passw0rd!"})
	assert login.status_code == 200, login.get_data(as_text=True)
	sid = re.search(r"sid=([^;]+)", login.headers.get("Set-Cookie", "")).group(1)
	cookie = {"Cookie": f"sid={sid}"}
	desk = api.get("/app", headers=cookie)  # the desk page creates the session's CSRF token
	csrf = re.search(r'csrf_token = "([^"]+)"', desk.get_data(as_text=True)).group(1)
	yield cookie, csrf
	from frappe.sessions import clear_sessions

	clear_sessions(USERS["user"], force=True)
	frappe.db.commit()


def test_a_desk_session_can_read(api, session):
	cookie, _ = session
	assert api.get(URL, headers=cookie).status_code == 200


def test_a_desk_session_must_send_the_csrf_token_to_write(api, session):
	cookie, csrf = session
	body = api_body(customer_name="Cookie", customer_email="cookie@example.org")
	refused = api.post(URL, headers=cookie, json=body)
	assert refused.status_code == 403
	assert "CSRF" in error_of(refused)["message"]
	assert not frappe.db.exists("CRM Appointment", {"customer_email": "cookie@example.org"})
	accepted = api.post(URL, headers={**cookie, "X-Frappe-CSRF-Token": csrf}, json=body)
	assert accepted.status_code == 200


# -- permissions --------------------------------------------------------------------------------


def test_a_user_with_neither_role_gets_403_on_the_list_and_create(api, keys):
	assert api.get(URL, key=keys["nobody"]).status_code == 403
	response = api.post(
		URL,
		key=keys["nobody"],
		json=api_body(customer_name="x", customer_email="x@example.org"),
	)
	assert response.status_code == 403
	assert error_of(response)["type"] == "permission_error"


def test_an_appointment_the_user_may_not_read_is_a_404(api, keys):
	doc = commit(make())
	response = api.get(f"{URL}/{doc.name}", key=keys["nobody"])
	assert response.status_code == 404
	assert api.patch(f"{URL}/{doc.name}", key=keys["nobody"], json={"customer_name": "x"}).status_code == 404


def test_the_list_shows_only_what_user_permissions_allow(api, keys):
	visible, hidden = commit(
		[make(customer_email="visible@example.org"), make(customer_email="hidden@example.org")]
	)
	with user_permission("user", visible.name):
		body = api.get(URL, key=keys["user"], query_string={"limit": 100}).get_json()
		assert [o["id"] for o in body["data"]] == [visible.name]
		assert body["total"] == 1
		assert api.get(f"{URL}/{hidden.name}", key=keys["user"]).status_code == 404


def test_if_owner_rules_limit_a_user_to_their_own(api, keys):
	from frappe.permissions import setup_custom_perms

	theirs = commit(make(customer_email="others@example.org"))
	# What Role Permissions Manager does when an admin ticks "Only If Creator" for the role.
	setup_custom_perms("CRM Appointment")
	frappe.db.set_value(
		"Custom DocPerm", {"parent": "CRM Appointment", "role": "CRM Appointment User"}, "if_owner", 1
	)
	frappe.clear_cache(doctype="CRM Appointment")
	frappe.db.commit()
	try:
		mine = api.post(
			URL,
			key=keys["user"],
			json=api_body(customer_name="Mine", customer_email="mine@example.org"),
		)
		assert mine.status_code == 200
		listed = [
			o["id"] for o in api.get(URL, key=keys["user"], query_string={"limit": 100}).get_json()["data"]
		]
		assert listed == [mine.get_json()["id"]]
		assert api.get(f"{URL}/{theirs.name}", key=keys["user"]).status_code == 404
	finally:
		frappe.db.delete("Custom DocPerm", {"parent": "CRM Appointment"})
		frappe.clear_cache(doctype="CRM Appointment")
		frappe.db.commit()


# -- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	("method", "path", "allow"),
	[
		("PUT", URL, "GET, POST, HEAD"),
		("DELETE", URL, "GET, POST, HEAD"),
		("PATCH", URL, "GET, POST, HEAD"),
		("POST", f"{URL}/appointment_x", "GET, PATCH, DELETE, HEAD"),
		("PUT", f"{URL}/appointment_x", "GET, PATCH, DELETE, HEAD"),
	],
)
def test_other_methods_are_a_405_with_allow(api, keys, method, path, allow):
	response = api.request(method, path, key=keys["manager"])
	assert response.status_code == 405
	assert response.headers["Allow"] == allow
	assert error_of(response)["type"] == "invalid_request_error"


def test_an_unknown_path_under_the_api_is_a_json_404(api, keys):
	response = api.get("/api/crm/appointments-typo", key=keys["manager"])
	assert response.status_code == 404
	assert error_of(response)["type"] == "not_found_error"


def test_the_openapi_document_is_served_without_credentials(api):
	response = api.get("/api/crm/openapi.json")
	assert response.status_code == 200
	document = response.get_json()
	assert document["openapi"].startswith("3.1")
	assert set(document["paths"]) == {
		"/api/crm/appointment",
		"/api/crm/appointment/{id}",
		"/api/crm/slots",
		"/api/crm/appointment_types",
		"/api/crm/calendar/{secret}.ics",
		"/api/crm/bookings",
		"/api/crm/bookings/{token}",
		"/api/crm/bookings/{token}/cancel",
		"/api/crm/bookings/{token}/reschedule",
		"/api/crm/openapi.json",
	}
