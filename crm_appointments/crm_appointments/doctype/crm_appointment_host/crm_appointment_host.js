// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

frappe.ui.form.on("CRM Appointment Host", {
	setup(frm) {
		// The same list of zones as the User form's Time Zone.
		frm.set_df_property("time_zone", "options", [""].concat(frappe.all_timezones || []));
		frm.set_query("user", () => ({ filters: { enabled: 1, user_type: "System User" } }));
	},
	refresh(frm) {
		if (!frm.doc.time_zone) {
			frm.set_df_property(
				"time_zone",
				"description",
				__("Empty: the site's ({0}).", [frappe.boot.time_zone?.system || ""])
			);
		}
	},
});
