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
		calendar_feed_buttons(frm);
		leaving_host_intro(frm);
	},
});

// A host who can no longer take appointments (the host disabled, or their user disabled or without a
// CRM role): not offered for booking; the live appointments ahead stay theirs until given another host.
function leaving_host_intro(frm) {
	const why = frm.doc.__onload?.not_active_because;
	if (!why) {
		frm.set_intro("");
		return;
	}
	const ahead = frm.doc.__onload.live_ahead || 0;
	let text =
		__("{0} cannot take appointments: {1}", [frm.doc.full_name || frm.doc.name, why]) +
		" " +
		__("They are not offered in the free slots or for booking, and no new appointment can be given to them.");
	text +=
		" " +
		(ahead
			? __(
					"They still hold {0} scheduled or confirmed appointments ahead: these stay theirs (and keep their reminders) until you give each another host.",
					[ahead]
			  )
			: __("They hold no scheduled or confirmed appointments ahead."));
	frm.set_intro(frappe.utils.escape_html(text), "orange");
	if (ahead) {
		frm.add_custom_button(__("Their appointments ahead"), () =>
			frappe.set_route("List", "CRM Appointment", {
				host: frm.doc.name,
				status: ["in", ["Scheduled", "Confirmed"]],
				scheduled_time: [">", frappe.datetime.now_datetime()],
			})
		);
	}
}

// The host themself, or a manager (the server checks the same: issue_calendar_feed).
function may_manage_calendar_feed(frm) {
	return (
		frm.doc.user === frappe.session.user ||
		frappe.user.has_role(["CRM Appointment Manager", "System Manager"])
	);
}

function calendar_feed_buttons(frm) {
	if (frm.is_new() || !may_manage_calendar_feed(frm)) return;
	const group = __("Calendar Feed");
	if (!frm.doc.calendar_feed_enabled) {
		frm.add_custom_button(__("Turn On"), () => issue_calendar_feed(frm), group);
		return;
	}
	frm.add_custom_button(
		__("New Address"),
		() =>
			frappe.confirm(
				__(
					"Get a new address? The current one stops working at once: calendars subscribed to it must subscribe again."
				),
				() => issue_calendar_feed(frm)
			),
		group
	);
	frm.add_custom_button(
		__("Turn Off"),
		() =>
			frappe.confirm(
				__("Turn the calendar feed off? Calendars subscribed to it stop getting appointments."),
				() =>
					frm
						.call({ method: "revoke_calendar_feed", doc: frm.doc })
						.then(() => frm.reload_doc())
			),
		group
	);
}

function issue_calendar_feed(frm) {
	if (frm.is_dirty()) {
		frappe.msgprint(__("Save or discard your changes first."));
		return;
	}
	frm.call({ method: "issue_calendar_feed", doc: frm.doc }).then((r) => {
		frm.reload_doc();
		show_calendar_feed_address(r.message.url);
	});
}

function show_calendar_feed_address(url) {
	const webcal = url.replace(/^https?:/, "webcal:");
	const dialog = new frappe.ui.Dialog({
		title: __("Your calendar feed"),
		fields: [
			{
				fieldname: "url",
				fieldtype: "Data",
				label: __("Address"),
				read_only: 1,
				default: url,
				description: __(
					"Copy it now: this is the only time it is shown. Anyone who has it can see these appointments."
				),
			},
			{
				fieldname: "how",
				fieldtype: "HTML",
				options: `<div class="crm-calendar-feed-help">
					<p>${__("Subscribe to it in your calendar app:")}</p>
					<ul>
						<li><b>${__("Google Calendar")}</b>: ${__(
							"Other calendars, +, From URL; paste the address."
						)}</li>
						<li><b>${__("Outlook")}</b>: ${__(
							"Add calendar, Subscribe from web; paste the address."
						)}</li>
						<li><b>${__("Apple Calendar")}</b>: ${__(
							"File, New Calendar Subscription; paste the address, or"
						)} <a href="${encodeURI(webcal)}">${__("open it in Calendar")}</a>.</li>
					</ul>
					<p class="text-muted">${__(
						"Calendar apps check for changes every few hours (Google up to a day); they cannot change appointments."
					)}</p>
				</div>`,
			},
		],
		primary_action_label: __("Copy Address"),
		primary_action() {
			frappe.utils.copy_to_clipboard(url);
		},
	});
	dialog.show();
	dialog.get_field("url").$input?.on("focus", (e) => e.target.select());
}
