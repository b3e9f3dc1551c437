"""Events the app made before keep out of Frappe's morning digest, which mails them to every user."""

import frappe


def execute():
	events = frappe.get_all(
		"CRM Appointment", filters={"calendar_event": ("is", "set")}, pluck="calendar_event"
	)
	for start in range(0, len(events), 1000):
		frappe.db.set_value(
			"Event",
			{"name": ("in", events[start : start + 1000]), "send_reminder": 1},
			"send_reminder",
			0,
			update_modified=False,
		)
