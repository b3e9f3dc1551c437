"""Text messages: the reminder offsets made before channels existed stay Email, and the settings'
empty text templates get the defaults (a single DocType's new fields are filled for a new one only)."""

import frappe

from crm_appointments.core.names import SETTINGS
from crm_appointments.notify.sms import EMAIL, install_templates


def execute():
	frappe.db.sql(
		"update `tabCRM Appointment Reminder Offset` set channel = %s"
		" where parent = %s and (channel is null or channel = '')",
		(EMAIL, SETTINGS),
	)
	install_templates()
