// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

// Send Test Event: a signed made-up event, sent at once; its outcome is shown, and logged in Deliveries.
frappe.ui.form.on("CRM Appointment Webhook", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Send Test Event"), () =>
			frappe
				.call({
					method: "crm_appointments.webhooks.actions.send_test_event",
					args: { webhook: frm.doc.name },
					freeze: true,
					freeze_message: __("Sending..."),
				})
				.then((r) => {
					const outcome = r.message || {};
					const ok = outcome.state === "Succeeded";
					let message = frappe.utils.escape_html(
						[
							__(outcome.state),
							outcome.status_code ? __("status {0}", [outcome.status_code]) : "",
							outcome.duration ? __("{0} ms", [outcome.duration]) : "",
						]
							.filter(Boolean)
							.join(", ")
					);
					if (outcome.error) message += `<br>${frappe.utils.escape_html(outcome.error)}`;
					message += `<br><a href="${frappe.utils.get_form_link(
						"CRM Appointment Webhook Delivery",
						outcome.name
					)}">${__("The delivery")}</a>`;
					frappe.msgprint({
						title: ok ? __("Delivered") : __("Not delivered"),
						message,
						indicator: ok ? "green" : "red",
					});
				})
		);
		frm.add_custom_button(__("Deliveries"), () =>
			frappe.set_route("List", "CRM Appointment Webhook Delivery", { webhook: frm.doc.name })
		);
	},
});
