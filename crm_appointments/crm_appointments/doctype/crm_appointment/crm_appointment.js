// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Button captions for the moves the server allows (see status_workflow.py; the server decides).
const CRM_APPOINTMENT_MOVE_CAPTIONS = {
	Scheduled: __("Schedule"),
	Confirmed: __("Confirm"),
	Completed: __("Complete"),
	Cancelled: __("Cancel Appointment"),
	"No Show": __("Mark No Show"),
};

frappe.ui.form.on("CRM Appointment", {
	refresh(frm) {
		if (frm.is_new()) return;
		const moves = (frm.doc.__onload || {}).status_moves || [];
		for (const status of moves) {
			frm.add_custom_button(
				CRM_APPOINTMENT_MOVE_CAPTIONS[status] || __(status),
				() =>
					status === "Cancelled"
						? crm_appointment_cancel(frm)
						: crm_appointment_move(frm, status),
				__("Status")
			);
		}
		if (moves.length) {
			frm.add_custom_button(__("Reschedule"), () => crm_appointment_reschedule(frm));
		}
		crm_appointment_add_links(frm);
		crm_appointment_lock_if_final(frm, moves);
		crm_appointment_show_reminders(frm);
	},

	appointment_with(frm) {
		frm.set_value("party", null);
	},
});

// Save first when the form has unsaved edits, then call a controller method and reload. A refusal
// has already been shown to the user by Frappe's message dialog; nothing else is to be done.
function crm_appointment_call(frm, method, args) {
	const run = () =>
		frm
			.call({ method, doc: frm.doc, args, freeze: true })
			.then(() => frm.reload_doc());
	return (frm.is_dirty() ? frm.save().then(run) : run()).catch(() => {});
}

function crm_appointment_move(frm, status) {
	return crm_appointment_call(frm, "move_to", { status });
}

function crm_appointment_cancel(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Cancel Appointment"),
		fields: [
			{
				fieldname: "reason",
				fieldtype: "Small Text",
				label: __("Reason"),
				description: __("Optional. Kept in the appointment's timeline."),
			},
		],
		primary_action_label: __("Cancel Appointment"),
		primary_action({ reason }) {
			dialog.hide();
			crm_appointment_call(frm, "move_to", { status: "Cancelled", reason: reason || "" });
		},
	});
	dialog.show();
}

function crm_appointment_reschedule(frm) {
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
			crm_appointment_call(frm, "reschedule", values);
		},
	});
	dialog.show();
}

function crm_appointment_add_links(frm) {
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
}

function crm_appointment_lock_if_final(frm, moves) {
	// A final appointment keeps only its notes editable; the server enforces the same rule.
	const final = !moves.length;
	for (const df of frm.meta.fields) {
		if (df.fieldname !== "customer_details" && !frappe.model.no_value_type.includes(df.fieldtype)) {
			frm.set_df_property(df.fieldname, "read_only", final ? 1 : df.fieldname === "calendar_event");
		}
	}
}

// The reminder history, newest first, above the form (the full list is under Connections).
function crm_appointment_show_reminders(frm) {
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
}
