# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

from frappe.model.document import Document


class CRMAppointmentCount(Document):
	"""Rows are written by crm_appointments.records.status_counts with plain SQL; this class is for the desk."""
