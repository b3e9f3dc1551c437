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
		// Frappe's calendar knows four colours; the status indicators map onto them.
		return (
			{ completed: "success", cancelled: "danger", no_show: "warning" }[event.status_value] ||
			"default"
		);
	},
};
