"""What installing the app puts on a site, and that it installs beside ERPNext's "Appointment"."""

import os
import subprocess

import frappe
import pytest

from crm_appointments.setup.install import ROLES
from tests import factories


def test_the_roles_are_installed_with_desk_access():
	for role in ROLES:
		assert frappe.db.get_value("Role", role, "desk_access") == 1


def test_the_doctype_is_in_its_module_and_tracks_changes():
	meta = frappe.get_meta("CRM Appointment")
	assert meta.module == "CRM Appointments"
	assert meta.track_changes
	assert (meta.sort_field, meta.sort_order) == ("creation", "DESC")
	assert meta.title_field == "customer_name"
	assert set(meta.search_fields.split(",")) >= {"customer_name", "customer_email"}


def test_the_api_fields_are_all_there_with_their_types():
	meta = frappe.get_meta("CRM Appointment")
	expected = {
		"customer_name": "Data",
		"customer_phone_number": "Data",
		"customer_skype": "Data",
		"customer_details": "Long Text",
		"scheduled_time": "Datetime",
		"status": "Select",
		"calendar_event": "Link",
		"customer_email": "Data",
		"appointment_with": "Link",
		"party": "Dynamic Link",
		"duration": "Int",
	}
	assert {f: meta.get_field(f).fieldtype for f in expected} == expected
	assert meta.get_field("calendar_event").options == "Event"
	assert meta.get_field("appointment_with").options == "DocType"
	assert meta.get_field("party").options == "appointment_with"
	assert meta.get_field("status").options.split("\n") == [
		"Draft",
		"Scheduled",
		"Confirmed",
		"Completed",
		"Cancelled",
		"No Show",
	]


def test_lists_and_the_scheduler_have_indexes():
	indexes = frappe.db.sql("SHOW INDEX FROM `tabCRM Appointment`", as_dict=True)
	single = {row.Column_name for row in indexes if row.Seq_in_index == 1}
	assert {"status", "scheduled_time", "customer_email", "creation"} <= single
	composite = {}
	for row in indexes:
		composite.setdefault(row.Key_name, []).append(row.Column_name)
	assert ["status", "scheduled_time"] in composite.values()


def bench(*args):
	"""Run a bench command on the test site, as a person at the terminal would."""
	frappe.db.commit()  # release our locks, or DROP TABLE in the other process waits for them
	return subprocess.run(
		["bench", "--site", frappe.local.site, *args],
		cwd=os.environ["FRAPPE_BENCH"],
		capture_output=True,
		text=True,
		timeout=600,
		check=True,
	)


# What the app adds to the desk, beside its DocTypes.
DESK_RECORDS = (
	("Workspace", "CRM Appointments"),
	("Number Card", "Appointments Today"),
	("Number Card", "Appointments This Week"),
	("Number Card", "No-shows This Month"),
	("Dashboard Chart", "Appointments per Week by Status"),
	("Dashboard Chart Source", "Appointments per Week by Status"),
	("Kanban Board", "CRM Appointments by Status"),
)


@pytest.mark.slow
def test_uninstall_removes_the_app_cleanly_and_it_installs_beside_an_appointment_doctype():
	made_appointment_doctype = not frappe.db.exists("DocType", "Appointment")
	if made_appointment_doctype:  # ERPNext's name, taken by a custom DocType here
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": "Appointment",
				"module": "Custom",
				"custom": 1,
				"fields": [{"fieldname": "customer_name", "fieldtype": "Data", "label": "Customer Name"}],
				"permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1}],
			}
		).insert()
		frappe.db.commit()
	# The session's API keys (the `keys` fixture) go with the app; they are put back after.
	api_keys = frappe.get_all("CRM API Key", fields=["*"])
	try:
		bench("uninstall-app", "crm_appointments", "--yes", "--no-backup")
		frappe.clear_cache()
		assert "crm_appointments" not in frappe.get_installed_apps()
		assert not frappe.db.exists("DocType", "CRM Appointment")
		assert not frappe.db.table_exists("CRM Appointment")
		assert not frappe.db.exists("Module Def", "CRM Appointments")
		assert not any(frappe.db.exists("Role", role) for role in ROLES)
		assert not any(frappe.db.exists(doctype, name) for doctype, name in DESK_RECORDS)
		assert not frappe.db.exists("List Filter", {"reference_doctype": "CRM Appointment"})

		bench("install-app", "crm_appointments")
		frappe.clear_cache()
		assert "crm_appointments" in frappe.get_installed_apps()
		assert frappe.db.exists("DocType", "Appointment")
		assert frappe.db.table_exists("CRM Appointment")
		assert all(frappe.db.exists("Role", role) for role in ROLES)
		assert all(frappe.db.exists(doctype, name) for doctype, name in DESK_RECORDS)
		assert frappe.db.count("List Filter", {"reference_doctype": "CRM Appointment"}) == 2
		assert factories.make(status="scheduled").name.startswith("appointment_")
		frappe.db.rollback()
	finally:
		factories.make_users()  # uninstalling took the roles from the test users
		for row in api_keys:
			if not frappe.db.exists("CRM API Key", row.name):
				frappe.get_doc({**row, "doctype": "CRM API Key"}).db_insert()
		frappe.db.commit()
		if made_appointment_doctype:
			frappe.delete_doc("DocType", "Appointment", force=True)
		frappe.db.commit()
