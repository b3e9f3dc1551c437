// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// The workflow's rules (which moves exist, their captions, what stays editable) come from the server:
// the moves for this appointment in __onload, the rest in crm_appointments.workflow (see
// crm_appointment_list.js). The server decides; these only draw.
frappe.provide("crm_appointments.appointment_form");

frappe.ui.form.on("CRM Appointment", {
	setup(frm) {
		frm.set_query("host", crm_appointments.hosts.enabled_query);
	},

	refresh(frm) {
		const form = crm_appointments.appointment_form;
		form.show_answers(frm);
		if (frm.is_new()) {
			frm.add_custom_button(__("Find a time"), () => form.find_a_time(frm));
			return;
		}
		const workflow = crm_appointments.workflow;
		for (const label of (frm.doc.__onload || {}).status_moves || []) {
			const status = workflow.status(label);
			const caption = status && status.action ? __(status.action) : __(label);
			frm.add_custom_button(caption, () => form.move(frm, label, caption), __("Status"));
		}
		if (workflow.is("reschedulable", frm.doc.status)) {
			frm.add_custom_button(__("Reschedule"), () => form.reschedule(frm));
		}
		form.add_links(frm);
		form.lock_if_final(frm);
		form.show_reminders(frm);
	},

	appointment_with(frm) {
		frm.set_value("party", null);
	},

	// A type sets the duration and, on a new appointment, where it takes place (a video type with no
	// fixed link gets its room when saved); the server's rules still decide on save.
	appointment_type(frm) {
		if (!frm.doc.appointment_type) return;
		frappe
			.xcall(
				"crm_appointments.crm_appointments.doctype.crm_appointment_type.crm_appointment_type.desk_defaults",
				{ appointment_type: frm.doc.appointment_type }
			)
			.then((defaults) => {
				const values = { duration: defaults.duration };
				if (frm.is_new() && !frm.doc.location && defaults.location) values.location = defaults.location;
				frm.set_value(values);
			});
	},
});

Object.assign(crm_appointments.appointment_form, {
	// Save first when the form has unsaved edits, then call a controller method and reload. A
	// refusal has already been shown to the user by Frappe's message dialog; nothing else is to be
	// done.
	call(frm, method, args) {
		const run = () =>
			frm
				.call({ method, doc: frm.doc, args, freeze: true })
				.then(() => frm.reload_doc());
		return (frm.is_dirty() ? frm.save().then(run) : run()).catch(() => {});
	},

	// A status button: straight to the controller, or through a dialog asking why first.
	move(frm, status, caption) {
		if (!crm_appointments.workflow.is("asks_reason", status)) {
			return crm_appointments.appointment_form.call(frm, "move_to", { status });
		}
		const dialog = new frappe.ui.Dialog({
			title: caption,
			fields: [
				{
					fieldname: "reason",
					fieldtype: "Small Text",
					label: __("Reason"),
					description: __("Optional. Kept in the appointment's timeline."),
				},
			],
			primary_action_label: caption,
			primary_action({ reason }) {
				dialog.hide();
				crm_appointments.appointment_form.call(frm, "move_to", { status, reason: reason || "" });
			},
		});
		dialog.show();
	},

	reschedule(frm) {
		const dialog = new frappe.ui.Dialog({
			title: __("Reschedule"),
			fields: [
				{
					fieldname: "scheduled_time",
					fieldtype: "Datetime",
					label: __("Scheduled Time"),
					reqd: 1,
					default: frm.doc.scheduled_time,
				},
				{
					fieldname: "duration",
					fieldtype: "Int",
					label: __("Duration (minutes)"),
					reqd: 1,
					default: frm.doc.duration,
				},
			],
			primary_action_label: __("Reschedule"),
			primary_action(values) {
				dialog.hide();
				crm_appointments.appointment_form.call(frm, "reschedule", values);
			},
		});
		dialog.show();
	},

	// A host's free times on a day (GET /api/crm/slots, in UTC), shown in the user's time zone; the one
	// picked fills in the host, the time (in the system's time zone, as the form keeps it) and the
	// duration. Saving still goes through every rule: a time taken meanwhile is refused then.
	find_a_time(frm) {
		const zones = frappe.boot.time_zone || {};
		const user_zone = zones.user || zones.system;
		const starts_on = frm.doc.scheduled_time
			? frappe.datetime.convert_to_user_tz(frm.doc.scheduled_time).slice(0, 10)
			: frappe.datetime.now_date();
		let dialog = null;
		let asked = 0; // answers to earlier questions are dropped
		const area = () => dialog.fields_dict.slots.$wrapper;
		// Text goes in with .text(): nothing from the answer is read as HTML.
		const say = (text) => area().empty().append($('<p class="text-muted">').text(text));

		const show_slots = () => {
			if (!dialog) return; // a field's default, set while the dialog is made
			const { host, day, duration } = dialog.get_values(true) || {};
			if (!host || !day) return say(__("Choose a host and a day."));
			const question = ++asked;
			const params = new URLSearchParams({ start: day, end: day, host, time_zone: user_zone });
			if (duration) params.set("duration", duration);
			if (frm.doc.appointment_type) params.set("type", frm.doc.appointment_type);
			say(__("Looking for free times…"));
			const slots = fetch(`/api/crm/slots?${params}`, {
				credentials: "same-origin",
				headers: { Accept: "application/json" },
			}).then((response) => response.json());
			Promise.all([slots, busy_of(host, day)])
				.then(([body, outside]) => {
					if (question !== asked) return;
					if (body.error) return say(body.error.message);
					draw(body.data, day, outside);
				})
				.catch(() => question === asked && say(__("The free times could not be loaded.")));
		};

		// The host's busy time outside the app that day (their Events, their CalDAV calendar): times
		// only, drawn as grey blocks among the free times (desk/busy_blocks.py). None when not readable.
		const busy_of = (host, day) => {
			const since = moment.tz(day, user_zone);
			return frappe
				.xcall("crm_appointments.desk.busy_blocks.busy_blocks", {
					hosts: [host],
					start: since.toISOString(),
					end: since.clone().add(1, "day").toISOString(),
				})
				.then((r) => r.hosts[host] || { busy: [], unreadable: null })
				.catch(() => ({ busy: [], unreadable: null }));
		};

		const draw = (slots, day, outside) => {
			const host = dialog.get_value("host");
			const shown_day = frappe.datetime.str_to_user(day);
			const time_format = frappe.datetime.get_user_time_fmt().replace(/:ss$/, "");
			const at = (iso) => moment.utc(iso).tz(user_zone).format(time_format);
			const busy = (outside && outside.busy) || [];
			if (!slots.length) say(__("{0} has no free time on {1}.", [host, shown_day]));
			else say(__("Free times on {0}, in {1}:", [shown_day, user_zone]));
			if (outside && outside.unreadable) {
				const since = outside.unreadable.since
					? moment.utc(outside.unreadable.since).tz(user_zone).format(frappe.defaultDatetimeFormat)
					: "";
				const why = outside.unreadable.error ? `: ${outside.unreadable.error}` : "";
				area().prepend(
					$('<p class="crm-calendar-unreadable text-danger">').text(
						__("{0}'s calendar cannot be read (since {1}){2}. No free times are offered for them until it can.", [
							host,
							since,
							why,
						])
					)
				);
			}
			// Free times and outside busy blocks, in the order of the day.
			const items = slots
				.map((slot) => ({
					at: slot.start,
					el: $('<button type="button" class="btn btn-default btn-sm crm-slot">')
						.text(at(slot.start))
						.on("click", () => pick(slot)),
				}))
				.concat(
					busy.map((block) => ({
						at: block.start,
						el: $('<span class="crm-busy-block btn-sm">')
							.css({ background: "var(--gray-300)", color: "var(--gray-700)", cursor: "default" })
							.attr("title", __("Busy in their own calendar"))
							.text(`${at(block.start)}\u2013${at(block.end)} ${__("busy")}`),
					}))
				)
				.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
			if (!items.length) return;
			area().append(
				$('<div class="crm-slots d-flex flex-wrap" style="gap: 8px">').append(items.map((i) => i.el))
			);
		};

		const pick = (slot) => {
			const start = moment.utc(slot.start);
			dialog.hide();
			frm.set_value({
				host: dialog.get_value("host"),
				scheduled_time: start.clone().tz(zones.system).format(frappe.defaultDatetimeFormat),
				duration: moment.utc(slot.end).diff(start, "minutes"),
			});
		};

		dialog = new frappe.ui.Dialog({
			title: __("Find a time"),
			fields: [
				{
					fieldname: "host",
					fieldtype: "Link",
					options: "CRM Appointment Host",
					label: __("Host"),
					reqd: 1,
					default: frm.doc.host,
					get_query: crm_appointments.hosts.enabled_query,
					onchange: () => show_slots(),
				},
				{ fieldtype: "Column Break" },
				{
					fieldname: "day",
					fieldtype: "Date",
					label: __("Day"),
					reqd: 1,
					default: starts_on,
					onchange: () => show_slots(),
				},
				{ fieldtype: "Column Break" },
				{
					fieldname: "duration",
					fieldtype: "Int",
					label: __("Duration (minutes)"),
					description: frm.doc.appointment_type
						? __("Empty: the type's duration. The type's interval and buffers apply.")
						: __("Empty: the booking duration from the settings."),
					default: frm.doc.duration,
					onchange: () => show_slots(),
				},
				{ fieldtype: "Section Break" },
				{ fieldname: "slots", fieldtype: "HTML" },
			],
		});
		dialog.show();
		show_slots();
	},

	// The customer's answers to the booking questions, as text (nothing they typed is read as HTML).
	show_answers(frm) {
		const field = frm.fields_dict.answers_html;
		if (!field) return;
		let answers = [];
		try {
			answers = JSON.parse(frm.doc.answers || "[]") || [];
		} catch (e) {
			answers = [];
		}
		const list = $('<dl class="crm-answers">');
		for (const item of answers) {
			list.append($("<dt>").text(item.question), $("<dd>").text(item.answer));
		}
		field.$wrapper.empty().append(list);
	},

	add_links(frm) {
		if (frm.doc.appointment_with && frm.doc.party) {
			frm.add_custom_button(
				__(frm.doc.appointment_with),
				() => frappe.set_route("Form", frm.doc.appointment_with, frm.doc.party),
				__("View")
			);
		}
		if (frm.doc.calendar_event) {
			frm.add_custom_button(
				__("Calendar Event"),
				() => frappe.set_route("Form", "Event", frm.doc.calendar_event),
				__("View")
			);
		}
		frm.add_custom_button(
			__("Reminders"),
			() => frappe.set_route("List", "CRM Appointment Reminder", { appointment: frm.doc.name }),
			__("View")
		);
	},

	// A final appointment keeps only its notes editable (the server enforces the same rule); other
	// fields are as the DocType has them.
	lock_if_final(frm) {
		const workflow = crm_appointments.workflow;
		const status = workflow.status(frm.doc.status);
		const final = !!status && status.terminal;
		const editable = workflow.table().editable_when_terminal || [];
		for (const df of frm.meta.fields) {
			if (!editable.includes(df.fieldname) && !frappe.model.no_value_type.includes(df.fieldtype)) {
				frm.set_df_property(df.fieldname, "read_only", final ? 1 : df.read_only);
			}
		}
	},

	// The reminder history, newest first, above the form (the full list is under Connections).
	show_reminders(frm) {
		frappe.db
			.get_list("CRM Appointment Reminder", {
				filters: { appointment: frm.doc.name },
				fields: ["name", "minutes_before", "state", "queued_at", "recipients", "note"],
				order_by: "creation desc",
				limit: 5,
			})
			.then((rows) => {
				if (!rows.length || frm.doc.name !== frm.docname) return;
				const lines = rows.map((row) => {
					const when = row.queued_at ? frappe.datetime.str_to_user(row.queued_at) : "";
					return `<div class="crm-appointment-reminder" data-reminder="${frappe.utils.escape_html(
						row.name
					)}">
						<span class="indicator-pill ${row.state === "Queued" ? "green" : "gray"}">${__(
						row.state
					)}</span>
						${__("{0} minutes before", [cint(row.minutes_before)])}
						<span class="text-muted">${frappe.utils.escape_html(when)}
						${frappe.utils.escape_html(row.recipients || row.note || "")}</span>
					</div>`;
				});
				frm.dashboard.add_section(lines.join(""), __("Reminders"));
			});
	},
});
