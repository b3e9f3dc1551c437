"""Data Import goes through the controller too: a sheet that double-books a host imports the first
row and refuses the second, naming the clash."""

import csv
import os
import tempfile

import frappe
from frappe.core.doctype.data_import.data_import import import_file

from tests import factories
from tests.factories import USERS, future


def test_a_data_import_that_double_books_a_host_imports_one_row_and_refuses_the_other(committed):
	factories.host("user")
	frappe.db.commit()
	start = future(days=3).strftime("%Y-%m-%d %H:%M:%S")
	rows = [
		["Customer Name", "Customer Email", "Scheduled Time", "Status", "Host"],
		["First Row", "first@example.com", start, "Scheduled", USERS["user"]],
		["Second Row", "second@example.com", start, "Scheduled", USERS["user"]],
	]
	with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as sheet:
		csv.writer(sheet).writerows(rows)
	try:
		import_file("CRM Appointment", sheet.name, "Insert", console=True)
	finally:
		os.unlink(sheet.name)
	frappe.db.rollback()
	imported = frappe.get_all("CRM Appointment", filters={"host": USERS["user"]}, pluck="customer_name")
	assert imported == ["First Row"]
	logs = frappe.get_all(
		"Data Import Log", filters={"creation": (">=", committed), "success": 0}, pluck="messages"
	)
	assert any("already has an appointment" in (log or "") for log in logs), logs
	frappe.db.delete("Data Import Log", {"creation": (">=", committed)})
	frappe.db.commit()
