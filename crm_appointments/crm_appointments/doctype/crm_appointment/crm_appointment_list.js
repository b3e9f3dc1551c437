// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

frappe.listview_settings["CRM Appointment"] = {
	add_fields: ["status", "scheduled_time"],
	get_indicator(doc) {
		const workflow = frappe.boot.crm_appointment_workflow || { statuses: [] };
		const status = workflow.statuses.find((s) => s.label === doc.status);
		return [__(doc.status), status ? status.indicator : "gray", "status,=," + doc.status];
	},
};
