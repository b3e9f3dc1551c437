// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// The Calendar view: appointments from scheduled_time for their duration. Dragging or resizing one
// reschedules it through the same rules as the form; a refused move shows why and snaps back.
frappe.views.calendar["CRM Appointment"] = {
	field_map: {
		id: "name",
		start: "scheduled_time",
		end: "end_time",
		title: "title", // the customer's name, escaped by the server
	},
	get_events_method: "crm_appointments.calendar_view.get_events",
	update_event_method: "crm_appointments.calendar_view.update_event",
	get_css_class(event) {
		// Frappe's calendar knows a few colours, by class (its color_map: class -> colour). The status's
		// colour (crm_appointments.workflow, from the server) picks its class; others get the default.
		const colour = crm_appointments.workflow.indicator(event.status_value);
		const color_map = this.color_map || {};
		return Object.keys(color_map).find((css_class) => color_map[css_class] === colour) || "default";
	},
};
