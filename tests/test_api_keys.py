"""Who may issue, see and revoke the app's secret keys: anyone their own (if their roles allow keys
at all); only a System Manager someone else's. A key acts as its user, so minting one for another
user would be acting as them."""

import json

import frappe
import pytest

from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key
from tests.factories import USERS, frappe_token

ISSUE = "/api/method/crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.issue_key"
URL = "/api/crm/appointment"


def keys_of(user: str) -> int:
	return frappe.db.count("CRM API Key", {"user": user})


@pytest.fixture
def made_keys(committed):
	"""Keys made by requests in the test are removed with it."""
	before = set(frappe.get_all("CRM API Key", pluck="name"))
	yield
	frappe.db.rollback()
	for name in set(frappe.get_all("CRM API Key", pluck="name")) - before:
		frappe.db.delete("CRM API Key", {"name": name})
	frappe.db.commit()


def test_a_manager_cannot_mint_a_key_for_another_user_over_http(api, made_keys):
	before = keys_of("Administrator")
	response = api.post(ISSUE, auth=frappe_token("manager"), json={"user": "Administrator", "mode": "test"})
	assert response.status_code == 403, response.get_data(as_text=True)
	assert "sk_" not in response.get_data(as_text=True)
	assert keys_of("Administrator") == before


def test_a_manager_issues_their_own_key_and_it_acts_as_them(api, made_keys):
	response = api.post(ISSUE, auth=frappe_token("manager"), json={"user": USERS["manager"], "mode": "test"})
	assert response.status_code == 200, response.get_data(as_text=True)
	issued = response.get_json()["message"]
	assert issued["user"] == USERS["manager"]
	assert api.get(URL, key=issued["key"]).status_code == 200


def test_a_crm_user_issues_their_own_key_but_not_one_for_a_colleague(api, made_keys):
	before = keys_of(USERS["manager"])
	own = api.post(ISSUE, auth=frappe_token("user"), json={"user": USERS["user"]})
	assert own.status_code == 200
	theirs = api.post(ISSUE, auth=frappe_token("user"), json={"user": USERS["manager"]})
	assert theirs.status_code == 403
	assert keys_of(USERS["manager"]) == before


def test_a_user_whose_roles_do_not_allow_keys_cannot_issue_one_even_for_themselves(api, made_keys):
	before = keys_of(USERS["nobody"])
	response = api.post(ISSUE, auth=frappe_token("nobody"), json={"user": USERS["nobody"]})
	assert response.status_code == 403
	assert keys_of(USERS["nobody"]) == before


def test_a_system_manager_issues_a_key_for_another_user():
	issued = issue_key(USERS["user"], "test", "issued for a colleague")
	assert frappe.db.get_value("CRM API Key", issued["name"], "user") == USERS["user"]


def test_the_orm_refuses_a_key_for_another_user_too(as_user):
	as_user("manager")
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc({"doctype": "CRM API Key", "user": "Administrator", "mode": "test"}).insert(
			ignore_permissions=True
		)


# -- the desk: the form's save, the list, the Revoke button --------------------------------------


@pytest.fixture
def desk(api, made_keys):
	"""A desk session of the manager: request headers with its cookie and CSRF token."""
	import re

	from frappe.sessions import clear_sessions
	from frappe.utils.password import update_password

	update_password(USERS["manager"], "Pytest-Passw0rd!")
	frappe.db.commit()
	login = api.post("/api/method/login", json={"usr": USERS["manager"], "pwd": "Pytest-Passw0rd!"})
	sid = re.search(r"sid=([^;]+)", login.headers.get("Set-Cookie", "")).group(1)
	cookie = {"Cookie": f"sid={sid}"}
	csrf = re.search(r'csrf_token = "([^"]+)"', api.get("/app", headers=cookie).get_data(as_text=True)).group(
		1
	)
	yield {**cookie, "X-Frappe-CSRF-Token": csrf}
	clear_sessions(USERS["manager"], force=True)
	frappe.db.commit()


def test_the_desk_form_cannot_save_a_key_for_another_user(api, desk):
	before = keys_of("Administrator")
	doc = {"doctype": "CRM API Key", "user": "Administrator", "mode": "live", "__islocal": 1, "name": "new-1"}
	response = api.post(
		"/api/method/frappe.desk.form.save.savedocs",
		headers=desk,
		data={"doc": json.dumps(doc), "action": "Save"},
		content_type="application/x-www-form-urlencoded",
	)
	assert response.status_code == 403, response.get_data(as_text=True)[:500]
	assert keys_of("Administrator") == before


def test_the_desk_list_shows_a_user_only_their_own_keys(api, desk, keys):
	theirs = issue_key(USERS["user"], "test", "a colleague's key")
	frappe.db.commit()
	response = api.post(
		"/api/method/frappe.desk.reportview.get",
		headers=desk,
		data={
			"doctype": "CRM API Key",
			"fields": json.dumps(["`tabCRM API Key`.`name`", "`tabCRM API Key`.`user`"]),
		},
		content_type="application/x-www-form-urlencoded",
	)
	assert response.status_code == 200, response.get_data(as_text=True)[:500]
	message = response.get_json()["message"]
	rows = [dict(zip(message["keys"], values, strict=True)) for values in message["values"]]
	assert {row["user"] for row in rows} == {USERS["manager"]}
	names = {row["name"] for row in rows}
	assert theirs["name"] not in names
	opened = api.get(f"/api/resource/CRM API Key/{theirs['name']}", headers=desk)
	assert opened.status_code == 403


def test_a_system_manager_sees_everyones_keys(keys):
	frappe.set_user("Administrator")
	users = set(frappe.get_list("CRM API Key", pluck="user"))
	assert {USERS["manager"], USERS["user"]} <= users


def press_revoke(api, desk, name: str):
	"""The Revoke button on a key's form, as the desk sends it."""
	return api.post(
		"/api/method/frappe.handler.run_doc_method",
		headers=desk,
		data={"dt": "CRM API Key", "dn": name, "method": "revoke"},
		content_type="application/x-www-form-urlencoded",
	)


def test_the_revoke_button_refuses_another_users_key(api, desk):
	theirs = issue_key(USERS["user"], "test", "a colleague's key")
	frappe.db.commit()
	response = press_revoke(api, desk, theirs["name"])
	assert response.status_code == 403, response.get_data(as_text=True)[:500]
	assert not frappe.db.get_value("CRM API Key", theirs["name"], "revoked")
	frappe.set_user(USERS["manager"])
	mine = issue_key(USERS["manager"], "test", "mine")
	frappe.set_user("Administrator")
	frappe.db.commit()
	response = press_revoke(api, desk, mine["name"])
	assert response.status_code == 200, response.get_data(as_text=True)[:500]
	assert frappe.db.get_value("CRM API Key", mine["name"], "revoked") == 1
