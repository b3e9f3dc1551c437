// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Frappe runs this script whenever it loads the DocType (frappe.model.init_doctype), before any form,
// list, report, board or calendar of it is drawn: what the other scripts of the DocType share is
// defined here.
frappe.provide("crm_appointments.workflow");
frappe.provide("crm_appointments.appointment_list");
frappe.provide("crm_appointments.hosts");

// The status workflow as the server sends it at login (crm_appointments/boot.py, from
// status_workflow.py): statuses, their colours and captions, and the field rules. None of them is
// written again in JavaScript.
Object.assign(crm_appointments.workflow, {
	table() {
		return frappe.boot.crm_appointment_workflow || { statuses: [] };
	},
	// A status by its label (what the desk shows) or its API value; undefined when it names none.
	status(name) {
		return crm_appointments.workflow.table().statuses.find((s) => s.label === name || s.value === name);
	},
	indicator(name) {
		const status = crm_appointments.workflow.status(name);
		return status ? status.indicator : "gray";
	},
	// Whether the status named is in one of the table's lists (reschedulable, asks_reason, ...).
	is(list, name) {
		const status = crm_appointments.workflow.status(name);
		return !!status && (crm_appointments.workflow.table()[list] || []).includes(status.value);
	},
});

// Hosts, as the views of appointments show and offer them.
Object.assign(crm_appointments.hosts, {
	// Frappe's own colour names, grey left for appointments without a host.
	palette: ["blue", "green", "orange", "purple", "pink", "red", "yellow", "dark-green"],
	// A host's colour: the same for them on every page and every day (a hash of their user id).
	colour(host) {
		let hash = 0;
		for (const char of host) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
		const palette = crm_appointments.hosts.palette;
		return palette[hash % palette.length];
	},
	// A new appointment's host is offered from the hosts who can take appointments only: enabled, and
	// their user an enabled desk user with a CRM role (the server refuses others).
	enabled_query() {
		return { query: "crm_appointments.desk.link_titles.search_active_hosts" };
	},
});

// Quick entry (Add CRM Appointment in the list) offers the Host field too: Frappe looks its form up by
// this name.
frappe.ui.form.CRMAppointmentQuickEntryForm = class CRMAppointmentQuickEntryForm extends (
	frappe.ui.form.QuickEntryForm
) {
	render_dialog() {
		super.render_dialog();
		const host = this.dialog.fields_dict.host;
		if (host) host.get_query = crm_appointments.hosts.enabled_query;
	}
};

// Fields with ignore_xss_filter are stored exactly as typed (the server keeps markup rather than
// silently dropping it), so they must be displayed as text: Frappe's formatters would render them as
// HTML. Set here, when the DocType loads, so every view of it shows them so.
for (const df of (frappe.get_meta("CRM Appointment") || { fields: [] }).fields) {
	if (df.ignore_xss_filter) {
		df.formatter = (value) => frappe.utils.escape_html(value || "").replace(/\n/g, "<br>");
	}
}

frappe.listview_settings["CRM Appointment"] = {
	add_fields: ["status", "scheduled_time"],
	get_indicator(doc) {
		return [__(doc.status), crm_appointments.workflow.indicator(doc.status), "status,=," + doc.status];
	},
	onload(listview) {
		// "Today" and "Upcoming" are shared saved filters; "Mine" names its user, so each user's
		// is made the first time they open the list.
		const state = crm_appointments.appointment_list;
		if (state.mine_filter_checked) return;
		state.mine_filter_checked = true;
		frappe.xcall("crm_appointments.desk.saved_views.ensure_mine_filter").then((made) => {
			const list_filter = listview.list_sidebar && listview.list_sidebar.list_filter;
			if (made && list_filter) list_filter.refresh();
		});
	},
};
