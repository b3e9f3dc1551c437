// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Resend: the same event (same id, same bytes, a new signature), sent at once as a try of its own.
frappe.ui.form.on("CRM Appointment Webhook Delivery", {
	refresh(frm) {
		if (frm.is_new() || ["Queued", "Sending"].includes(frm.doc.state)) return;
		frm.add_custom_button(__("Resend"), () =>
			frappe
				.call({
					method: "crm_appointments.webhooks.actions.resend",
					args: { delivery_name: frm.doc.name },
					freeze: true,
					freeze_message: __("Sending..."),
				})
				.then((r) => {
					const outcome = r.message || {};
					const ok = outcome.state === "Succeeded";
					let message = frappe.utils.escape_html(
						[__(outcome.state), outcome.status_code ? __("status {0}", [outcome.status_code]) : ""]
							.filter(Boolean)
							.join(", ")
					);
					if (outcome.error) message += `<br>${frappe.utils.escape_html(outcome.error)}`;
					message += `<br><a href="${frappe.utils.get_form_link(
						"CRM Appointment Webhook Delivery",
						outcome.name
					)}">${__("The new delivery")}</a>`;
					frappe.msgprint({
						title: ok ? __("Delivered") : __("Not delivered"),
						message,
						indicator: ok ? "green" : "red",
					});
				})
		);
	},
});
