# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

from frappe.model.document import Document


class CRMAppointmentTypeHost(Document):
	pass
