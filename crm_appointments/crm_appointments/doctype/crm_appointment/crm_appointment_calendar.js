// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// The Calendar view: appointments from scheduled_time for their duration. Dragging or resizing one
// reschedules it through the same rules as the form; a refused move shows why and snaps back.
// The list's filters apply (Host among them). An appointment with a host is titled "customer · host"
// and drawn in its host's colour (crm_appointments.hosts.colour); one without, in its status's colour.
frappe.views.calendar["CRM Appointment"] = {
	field_map: {
		id: "name",
		start: "scheduled_time",
		end: "end_time",
		title: "title", // the customer's name and the host's, escaped by the server
	},
	get_events_method: "crm_appointments.desk.calendar.get_events",
	update_event_method: "crm_appointments.desk.calendar.update_event",
	get_css_class(event) {
		// Frappe's calendar colours an event by class, through its color_map (class -> colour name).
		// A host's colour gets a class of its own; a status's colour (crm_appointments.workflow, from
		// the server) picks the class Frappe already has for it, others get the default.
		const color_map = this.color_map || {};
		if (event.host) {
			const colour = crm_appointments.hosts.colour(event.host);
			color_map[`crm-host-${colour}`] = colour;
			return `crm-host-${colour}`;
		}
		const colour = crm_appointments.workflow.indicator(event.status_value);
		return Object.keys(color_map).find((css_class) => color_map[css_class] === colour) || "default";
	},
};
