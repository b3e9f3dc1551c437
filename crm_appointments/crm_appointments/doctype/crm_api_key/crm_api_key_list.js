// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

frappe.provide("crm_appointments.api_keys");

frappe.listview_settings["CRM API Key"] = {
	get_indicator(doc) {
		return doc.revoked ? [__("Revoked"), "red", "revoked,=,1"] : [__("Active"), "green", "revoked,=,0"];
	},
	onload(listview) {
		listview.page.add_inner_button(__("Issue Key"), () => crm_appointments.api_keys.issue(listview));
	},
};

// The Issue Key dialog: the new key is shown once, here, and never again.
crm_appointments.api_keys.issue = function (listview) {
	const dialog = new frappe.ui.Dialog({
		title: __("Issue an API key"),
		fields: [
			{
				fieldname: "user",
				fieldtype: "Link",
				options: "User",
				label: __("User"),
				reqd: 1,
				default: frappe.session.user,
				// Only a System Manager may issue a key for someone else (the server enforces it).
				read_only: !frappe.user.has_role("System Manager"),
			},
			{ fieldname: "mode", fieldtype: "Select", options: "live\ntest", default: "live", label: __("Mode") },
			{ fieldname: "label", fieldtype: "Data", label: __("Label") },
		],
		primary_action_label: __("Issue"),
		primary_action(values) {
			frappe
				.call("crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.issue_key", values)
				.then(({ message }) => {
					dialog.hide();
					frappe.msgprint({
						title: __("Copy the key now"),
						message:
							__("This is the only time the key is shown:") +
							`<pre class="mt-2">${frappe.utils.escape_html(message.key)}</pre>`,
						indicator: "green",
					});
					listview.refresh();
				});
		},
	});
	dialog.show();
};
