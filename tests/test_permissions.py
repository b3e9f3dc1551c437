"""The two roles, as contract.md gives them, and a user with neither."""

import frappe
import pytest

from tests.factories import USERS, make


def test_a_manager_can_create_read_change_and_delete(as_user):
	as_user("manager")
	doc = make()
	assert frappe.get_doc("CRM Appointment", doc.name).has_permission("read")
	doc.customer_name = "Changed by the manager"
	doc.save()
	frappe.delete_doc("CRM Appointment", doc.name)
	assert not frappe.db.exists("CRM Appointment", doc.name)


def test_a_user_can_create_read_and_change(as_user):
	as_user("user")
	doc = make()
	assert [row.name for row in frappe.get_list("CRM Appointment", filters={"name": doc.name})] == [doc.name]
	doc.customer_name = "Changed by the user"
	doc.save()
	assert frappe.db.get_value("CRM Appointment", doc.name, "customer_name") == "Changed by the user"


def test_a_user_cannot_delete(as_user):
	doc = make()
	as_user("user")
	with pytest.raises(frappe.PermissionError):
		frappe.delete_doc("CRM Appointment", doc.name)
	assert frappe.db.exists("CRM Appointment", doc.name)


def test_a_user_with_neither_role_cannot_create(as_user):
	as_user("nobody")
	with pytest.raises(frappe.PermissionError):
		make()


def test_a_user_with_neither_role_cannot_read_or_list(as_user):
	doc = make()
	as_user("nobody")
	assert not frappe.has_permission("CRM Appointment", "read", doc.name)
	with pytest.raises(frappe.PermissionError):
		frappe.get_list("CRM Appointment")


def test_a_user_with_neither_role_cannot_change(as_user):
	doc = make()
	as_user("nobody")
	doc = frappe.get_doc("CRM Appointment", doc.name)
	doc.customer_name = "Intruder"
	with pytest.raises(frappe.PermissionError):
		doc.save()
	assert frappe.db.get_value("CRM Appointment", doc.name, "customer_name") == "Ada Lovelace"


@pytest.mark.parametrize(
	("kind", "expected"),
	[
		("manager", {"read", "write", "create", "delete"}),
		("user", {"read", "write", "create"}),
		("nobody", set()),
	],
)
def test_the_permission_table(kind, expected):
	ptypes = {"read", "write", "create", "delete"}
	granted = {p for p in ptypes if frappe.has_permission("CRM Appointment", p, user=USERS[kind])}
	assert granted == expected
