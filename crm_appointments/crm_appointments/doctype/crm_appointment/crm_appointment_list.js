// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Fields with ignore_xss_filter are stored exactly as typed (the server keeps markup rather than
// silently dropping it), so they must be displayed as text: Frappe's formatters would render them as
// HTML. Frappe runs this script whenever it loads the DocType (frappe.model.init_doctype), before
// any form, list, report, board or calendar of it is drawn, so this one place serves them all.
for (const df of (frappe.get_meta("CRM Appointment") || { fields: [] }).fields) {
	if (df.ignore_xss_filter) {
		df.formatter = (value) => frappe.utils.escape_html(value || "").replace(/\n/g, "<br>");
	}
}

frappe.listview_settings["CRM Appointment"] = {
	add_fields: ["status", "scheduled_time"],
	get_indicator(doc) {
		const workflow = frappe.boot.crm_appointment_workflow || { statuses: [] };
		const status = workflow.statuses.find((s) => s.label === doc.status);
		return [__(doc.status), status ? status.indicator : "gray", "status,=," + doc.status];
	},
	onload(listview) {
		// "Today" and "Upcoming" are shared saved filters; "Mine" names its user, so each user's
		// is made the first time they open the list.
		if (frappe.boot.crm_appointment_mine_filter_checked) return;
		frappe.boot.crm_appointment_mine_filter_checked = true;
		frappe.xcall("crm_appointments.desk_views.ensure_mine_filter").then((made) => {
			const list_filter = listview.list_sidebar && listview.list_sidebar.list_filter;
			if (made && list_filter) list_filter.refresh();
		});
	},
};
