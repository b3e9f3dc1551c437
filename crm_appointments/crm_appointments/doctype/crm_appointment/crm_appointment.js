// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// The workflow's rules (which moves exist, their captions, what stays editable) come from the server:
// the moves for this appointment in __onload, the rest in crm_appointments.workflow (see
// crm_appointment_list.js). The server decides; these only draw.
frappe.provide("crm_appointments.appointment_form");

frappe.ui.form.on("CRM Appointment", {
	refresh(frm) {
		if (frm.is_new()) return;
		const form = crm_appointments.appointment_form;
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
