"""Frappe's generic reads tell nothing of the app's documents to users who may not read them:
`frappe.client.get_count` (which Frappe 15.55 answers with no permission check) and
`frappe.desk.search.get_link_title`. Over the live server, as the desk user with no CRM role who
would count customers' emails or probe who is a host, and as a user narrowed by User Permissions."""

import json

import frappe
import pytest
import requests

from crm_appointments.core.names import APPOINTMENT, HOST, HOST_HOURS
from tests import factories
from tests.factories import OUTSIDER, USERS

pytestmark = pytest.mark.slow


@pytest.fixture
def method(live_server):
	tokens = {}

	def call(kind: str, name: str, **params):
		if kind not in tokens:
			tokens[kind] = factories.frappe_token(kind)
		return requests.get(
			f"{live_server}/api/method/{name}",
			params={k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()},
			headers={"Authorization": tokens[kind]},
			timeout=30,
		)

	return call


@pytest.fixture
def appointments(committed):
	factories.host("user")
	made = [
		factories.make(status="draft", customer_email="secret.customer@example.com"),
		factories.make(status="draft", customer_email="other@example.com"),
	]
	frappe.db.commit()
	return made


@pytest.mark.parametrize(
	"filters",
	[
		{"customer_email": "secret.customer@example.com"},
		{"customer_email": "nobody-has-this@example.com"},
		[["customer_details", "like", "%a%"]],
		[["name", "like", "appointment_a%"]],
	],
)
def test_a_desk_user_without_a_crm_role_cannot_count_appointments_whatever_the_filter(
	appointments, method, filters
):
	response = method(OUTSIDER, "frappe.client.get_count", doctype=APPOINTMENT, filters=filters)
	assert response.status_code == 403, response.text[:300]
	assert "message" not in response.json()


@pytest.mark.parametrize("doctype", [HOST, HOST_HOURS, "CRM API Key"])
def test_nor_count_hosts_their_hours_or_keys(appointments, method, doctype):
	response = method(OUTSIDER, "frappe.client.get_count", doctype=doctype)
	assert response.status_code == 403, response.text[:300]


def test_staff_count_what_they_may_read(appointments, method):
	response = method(
		"manager",
		"frappe.client.get_count",
		doctype=APPOINTMENT,
		filters={"customer_email": "secret.customer@example.com"},
	)
	assert response.status_code == 200, response.text[:300]
	assert response.json()["message"] == 1
	# Frappe's own DocTypes are counted as Frappe counts them.
	assert method(OUTSIDER, "frappe.client.get_count", doctype="ToDo").status_code == 200


def test_a_user_narrowed_by_user_permissions_counts_only_what_they_may_read(appointments, method):
	with factories.user_permission("user", appointments[1].name):
		response = method(
			"user",
			"frappe.client.get_count",
			doctype=APPOINTMENT,
			filters={"customer_email": "secret.customer@example.com"},
		)
		assert response.status_code == 200, response.text[:300]
		assert response.json()["message"] == 0
		everything = method("user", "frappe.client.get_count", doctype=APPOINTMENT)
		assert everything.json()["message"] == 1


def test_the_link_title_of_a_host_tells_nobody_without_the_role_who_is_a_host(appointments, method):
	answers = {
		user: method(OUTSIDER, "frappe.desk.search.get_link_title", doctype=HOST, docname=user).json()
		for user in (USERS["user"], USERS["manager"], "not-a-user@example.com")
	}
	# The name asked with, whether it is a host or not.
	assert answers == {user: {"message": user} for user in answers}
	# Staff who may read hosts get the title.
	title = method("manager", "frappe.desk.search.get_link_title", doctype=HOST, docname=USERS["user"])
	assert title.json()["message"] == frappe.db.get_value(HOST, USERS["user"], "full_name")


def test_the_link_title_of_an_appointment_is_the_same_whether_it_exists_or_not(appointments, method):
	real = appointments[0].name
	missing = "appointment_" + "0" * 16
	for name in (real, missing):
		answer = method(OUTSIDER, "frappe.desk.search.get_link_title", doctype=APPOINTMENT, docname=name)
		assert answer.json() == {"message": name}
