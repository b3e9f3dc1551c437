// Copyright (c) 2026, crm_appointments developers
// For license information, please see license.txt

frappe.ui.form.on("CRM Appointment Host", {
	setup(frm) {
		// The same list of zones as the User form's Time Zone.
		frm.set_df_property("time_zone", "options", [""].concat(frappe.all_timezones || []));
		frm.set_query("user", () => ({ filters: { enabled: 1, user_type: "System User" } }));
		hide_connection_fields(frm);
	},
	onload(frm) {
		hide_connection_fields(frm, frm.docname);
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
		outside_calendar(frm);
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

// -- The outside calendar (CalDAV): desk/calendar_connection.py ----------------------------------------
// Only the host themself and Managers see or change it (the server checks the same); for anyone else
// the form shows none of it. Its fields are changed through the Connect calendar dialog only, and shown
// as a section of the form's dashboard: on or off, where, the last successful read, the last error.
const CONNECTION = "crm_appointments.desk.calendar_connection";
const CALDAV_FIELDS = [
	"caldav_enabled",
	"caldav_url",
	"caldav_username",
	"caldav_password",
	"caldav_last_read",
	"caldav_last_error",
	"caldav_error_since",
];

// Hidden in the DocType's fields (and each document's copy of them) before the form draws them:
// toggling them on each refresh re-draws the form while the user types in it.
function hide_connection_fields(frm, docname) {
	for (const fieldname of CALDAV_FIELDS) {
		const df = frappe.meta.get_docfield(frm.doctype, fieldname, docname);
		if (df) df.hidden = 1;
	}
}

function outside_calendar(frm) {
	if (frm.is_new() || !may_manage_calendar_feed(frm)) return;
	frm.add_custom_button(__("Connect calendar"), () => connect_calendar_dialog(frm));
	const docname = frm.docname;
	frappe
		.call({ method: `${CONNECTION}.connection_status`, args: { host: frm.doc.name }, type: "GET" })
		.then((r) => {
			if (frm.docname !== docname || !r.message) return;
			show_connection_status(frm, r.message);
		});
}

function show_connection_status(frm, status) {
	frm.dashboard.parent.find(".crm-outside-calendar").closest(".form-dashboard-section").remove();
	const esc = frappe.utils.escape_html;
	const when = (value) =>
		value ? frappe.datetime.str_to_user(frappe.datetime.convert_to_user_tz(value)) : "";
	let state;
	if (!status.url) {
		state = `<span class="indicator-pill gray">${__("Not connected")}</span> ${__(
			"Connect calendar links a CalDAV calendar (Nextcloud, iCloud, Fastmail...): its meetings then block this host's free times."
		)}`;
	} else if (!status.enabled) {
		state = `<span class="indicator-pill gray">${__("Off")}</span> ${esc(status.url)}`;
	} else if (status.unreadable) {
		state = `<span class="indicator-pill red">${__("Unreadable")}</span> ${esc(status.url)}`;
	} else {
		state = `<span class="indicator-pill green">${__("Connected")}</span> ${esc(status.url)}`;
	}
	const lines = [`<div class="crm-calendar-state">${state}</div>`];
	if (status.url) {
		lines.push(
			`<div class="crm-calendar-last-read text-muted">${__("Last successful read")}: ${
				status.last_read ? esc(when(status.last_read)) : __("never")
			}</div>`
		);
	}
	if (status.last_error) {
		lines.push(
			`<div class="crm-calendar-last-error ${status.unreadable ? "text-danger" : "text-muted"}">${__(
				"Last error"
			)}${
				status.error_since ? ` (${__("since {0}", [esc(when(status.error_since))])})` : ""
			}: ${esc(status.last_error)}</div>`
		);
	}
	frm.dashboard.add_section(
		`<div class="crm-outside-calendar">${lines.join("")}</div>`,
		__("Outside calendar")
	);
	frm.dashboard.show();
	// The host offers no public slots meanwhile (never a double booking): say so on top, unless the
	// form already says the host cannot take appointments at all.
	if (status.unreadable && !frm.doc.__onload?.not_active_because) {
		frm.set_intro(
			esc(
				__("Calendar unreadable since {0}: {1}", [when(status.error_since), status.last_error]) +
					" " +
					__("No free times are offered for this host until it can be read again.")
			),
			"red"
		);
	}
}

function connect_calendar_dialog(frm) {
	const host = frm.doc.name;
	frappe
		.call({ method: `${CONNECTION}.connection_status`, args: { host }, type: "GET" })
		.then((r) => {
			const status = r.message || {};
			const dialog = new frappe.ui.Dialog({
				title: __("Connect calendar"),
				fields: [
					{
						fieldname: "url",
						fieldtype: "Data",
						label: __("CalDAV URL"),
						reqd: 1,
						default: status.url,
						description: __(
							"Nextcloud: https://cloud.example.com/remote.php/dav; iCloud: https://caldav.icloud.com; Fastmail: https://caldav.fastmail.com/dav/"
						),
					},
					{
						fieldname: "username",
						fieldtype: "Data",
						label: __("User name"),
						default: status.username,
					},
					{
						fieldname: "password",
						fieldtype: "Password",
						label: __("Password"),
						description: status.has_password
							? __("A password is stored; leave this empty to keep it. Use an app password.")
							: __("Use an app password (an app-specific password on iCloud), not your main one."),
					},
					{
						fieldname: "enabled",
						fieldtype: "Check",
						label: __("Its meetings block the host's free times"),
						default: status.url ? status.enabled : 1,
					},
					{ fieldtype: "Section Break" },
					{ fieldname: "result", fieldtype: "HTML" },
				],
				secondary_action_label: __("Test connection"),
				secondary_action() {
					test_connection(dialog, host);
				},
				primary_action_label: __("Save"),
				primary_action(values) {
					frappe
						.call({
							method: `${CONNECTION}.connect_calendar`,
							args: { host, ...values, enabled: values.enabled ? 1 : 0 },
							freeze: true,
						})
						.then((r) => {
							dialog.hide();
							frappe.show_alert({ message: __("Calendar connection saved"), indicator: "green" });
							frm.reload_doc();
						});
				},
			});
			// What was typed (the password) does not stay in the page once the dialog is closed.
			dialog.onhide = () => dialog.$wrapper.remove();
			dialog.show();
		});
}

function test_connection(dialog, host) {
	const area = dialog.fields_dict.result.$wrapper;
	const values = dialog.get_values(true) || {};
	area.empty().append($('<p class="text-muted">').text(__("Reading the calendar…")));
	frappe.call({
		method: `${CONNECTION}.test_connection`,
		args: { host, url: values.url, username: values.username, password: values.password },
		silent: true,
		callback(r) {
			const found = r.message || {};
			const zone = found.time_zone;
			const format = `${frappe.datetime.get_user_date_fmt().toUpperCase()} ${frappe.datetime
				.get_user_time_fmt()
				.replace(/:ss$/, "")}`;
			const at = (iso) => moment.parseZone(iso).format(format);
			const result = $('<div class="crm-connection-result">');
			result.append(
				$('<p class="text-success">').text(__("Connected. Calendars found:")),
				$('<ul class="crm-calendars-found">').append(
					(found.calendars || []).map((name) => $("<li>").text(name))
				)
			);
			if ((found.next_busy || []).length) {
				result.append(
					$("<p>").text(__("The next busy times, in {0}:", [zone])),
					$('<ul class="crm-next-busy">').append(
						found.next_busy.map((block) =>
							$("<li>").text(`${at(block.start)} \u2013 ${at(block.end)}`)
						)
					)
				);
			} else {
				result.append($('<p class="text-muted">').text(__("No busy times in the next two weeks.")));
			}
			area.empty().append(result);
		},
		error(r) {
			let message = __("The calendar could not be read.");
			try {
				const messages = JSON.parse(r?._server_messages || "[]");
				if (messages.length) message = JSON.parse(messages[0]).message || message;
			} catch (e) {
				// keep the general message
			}
			// The server's messages are HTML it escaped (Frappe's msgprint shows them the same way).
			area.empty().append($('<p class="text-danger crm-connection-error">').html(message));
		},
	});
}
