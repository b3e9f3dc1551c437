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
	// Outside busy time (the hosts' own Events and CalDAV calendars; desk/busy_blocks.py) as grey
	// background blocks in the Week and Day views: times only, for the hosts the Host filter names (all
	// the user may read when it names none). The month view draws a background block as a whole day:
	// there they are left out (fetched all the same, as the calendar reuses a month's events for its
	// weeks).
	options: {
		eventRender(event, element, view) {
			if (event.crm_host && view.name === "month") return false;
			element.attr("title", event.tooltip); // as Frappe's own eventRender
		},
		eventSources: [
			{
				id: "crm-busy",
				events(start, end, timezone, callback) {
					const hosts = crm_appointments.calendar_busy.hosts_filtered();
					frappe
						.xcall("crm_appointments.desk.busy_blocks.busy_blocks", {
							hosts,
							start: frappe.datetime.convert_to_system_tz(start.format("YYYY-MM-DD HH:mm:ss")),
							end: frappe.datetime.convert_to_system_tz(end.format("YYYY-MM-DD HH:mm:ss")),
						})
						.then((r) => callback(crm_appointments.calendar_busy.events(r.hosts)))
						.catch(() => callback([]));
				},
			},
		],
	},
};

frappe.provide("crm_appointments.calendar_busy");
Object.assign(crm_appointments.calendar_busy, {
	// The hosts the list's Host filter names ([] when it names none).
	hosts_filtered() {
		const filters = (window.cur_list && cur_list.filter_area && cur_list.filter_area.get()) || [];
		const hosts = [];
		for (const [, fieldname, operator, value] of filters) {
			if (fieldname !== "host") continue;
			if (operator === "=") hosts.push(value);
			else if (operator === "in") hosts.push(...(Array.isArray(value) ? value : String(value).split(",")));
		}
		return hosts.map((h) => String(h).trim()).filter(Boolean);
	},

	events(by_host) {
		// The calendar draws the user's wall-clock times (as Frappe's own events: convert_to_user_tz).
		const zone = frappe.boot.time_zone?.user || frappe.boot.time_zone?.system;
		const wall = (iso) => moment.utc(iso).tz(zone).format("YYYY-MM-DD HH:mm:ss");
		const events = [];
		for (const [host, found] of Object.entries(by_host || {})) {
			for (const block of found.busy || []) {
				events.push({
					start: wall(block.start),
					end: wall(block.end),
					rendering: "background",
					color: "var(--gray-400)",
					className: "crm-busy-block",
					editable: false,
					tooltip: __("{0} is busy in their own calendar", [host]),
					crm_host: host,
				});
			}
		}
		return events;
	},
});
