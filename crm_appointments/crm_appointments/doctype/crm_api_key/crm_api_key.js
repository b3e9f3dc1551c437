// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

frappe.ui.form.on("CRM API Key", {
	refresh(frm) {
		if (!frm.is_new() && !frm.doc.revoked) {
			frm.add_custom_button(__("Revoke"), () =>
				frappe.confirm(__("Revoke this key? Programs using it stop working at once."), () =>
					frm.call({ method: "revoke", doc: frm.doc }).then(() => frm.reload_doc())
				)
			);
		}
	},
});
