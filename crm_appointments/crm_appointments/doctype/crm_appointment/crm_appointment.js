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
	setup(frm) {
		frm.set_query("appointment_with", () => ({
			query: "crm_appointments.crm_appointments.party.party_doctype_query",
		}));
	},

	refresh(frm) {
		if (frm.is_new()) return;
		const moves = (frm.doc.__onload || {}).status_moves || [];
		for (const status of moves) {
			frm.add_custom_button(
				CRM_APPOINTMENT_MOVE_CAPTIONS[status] || __(status),
				() => crm_appointment_move(frm, status),
				__("Status")
			);
		}
		crm_appointment_lock_if_final(frm, moves);
	},

	appointment_with(frm) {
		frm.set_value("party", null);
	},
});

function crm_appointment_move(frm, status) {
	const run = () =>
		frm.call({ method: "move_to", doc: frm.doc, args: { status }, freeze: true }).then(() =>
			frm.reload_doc()
		);
	if (frm.is_dirty()) {
		frm.save().then(run);
	} else {
		run();
	}
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
