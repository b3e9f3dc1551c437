frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Appointments per Week by Status"] = {
	method: "crm_appointments.crm_appointments.dashboard_chart_source.appointments_per_week_by_status.appointments_per_week_by_status.get",
	filters: [],
};
