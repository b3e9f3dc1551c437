app_name = "crm_appointments"
app_title = "CRM Appointments"
app_publisher = "crm_appointments developers"
app_description = (
	"Appointments for Frappe CRM: a strict status workflow, a REST API, calendar events and reminders"
)
app_email = "developers@crm-appointments.invalid"
app_license = "mit"

# Every whitelisted method says the types of its arguments (Frappe v16 checks this; v15 ignores it).
require_type_annotated_api_methods = True

# REST API (/api/crm/...): the request's life is crm_appointments/rest/lifecycle.py; the routes are
# added to Frappe's API map by rest/routing.py; the app's secret keys by rest/auth.py.
before_request = [
	"crm_appointments.rest.lifecycle.begin_request",
	"crm_appointments.rest.routing.register_routes",
	"crm_appointments.rest.auth.authenticate",
]
after_request = [
	"crm_appointments.rest.lifecycle.normalise_error_response",
	# The manage page's headers: no Referer, no cache (its address holds the customer's token).
	"crm_appointments.www.book.page_context.private_page_headers",
]

# The self-service booking pages: the manage link /book/manage/<token> (first: no type may be named
# `manage`), and /book, /book/<type>, /book/<type>/<host> (all www/book/index). The pages with a type
# are kept in the page cache under their own address (page_context.TypePage).
website_route_rules = [
	{"from_route": "/book/manage/<token>", "to_route": "book/manage"},
	{"from_route": "/book/<type>", "to_route": "book"},
	{"from_route": "/book/<type>/<host>", "to_route": "book"},
]
page_renderer = ["crm_appointments.www.book.page_context.TypePage"]

# The status workflow and the party DocTypes, for the desk scripts.
boot_session = "crm_appointments.desk.boot.boot_session"

# Patches and imports may write around the document API: the kept counts are recounted after each.
after_install = [
	"crm_appointments.setup.install.after_install",
	"crm_appointments.scheduling.timing.forget_types",
	"crm_appointments.records.status_counts.reconcile",
]
after_migrate = [
	"crm_appointments.setup.install.after_migrate",
	"crm_appointments.scheduling.timing.forget_types",  # a patch may have changed them
	"crm_appointments.records.status_counts.reconcile",
]
before_uninstall = "crm_appointments.setup.install.before_uninstall"

# Keys: a user's own, or any for a System Manager (crm_api_key.py). An appointment's calendar Event and
# its participant rows: only for those who may read the appointment (calendars/event_permissions.py). Frappe ANDs
# these with its own.
has_permission = {
	"CRM API Key": "crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.has_permission",
	"Event": "crm_appointments.calendars.event_permissions.has_permission",
}
permission_query_conditions = {
	"CRM API Key": "crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.get_permission_query_conditions",
	"Event": "crm_appointments.calendars.event_permissions.query_conditions",
	"Event Participants": "crm_appointments.calendars.event_permissions.participant_query_conditions",
}

# Every write of an appointment keeps the list's counts exact in its own transaction
# (records/status_counts.py), and once committed makes the cached totals stale (rest/listing.py).
doc_events = {
	"CRM Appointment": {
		"after_insert": "crm_appointments.records.status_counts.after_insert",
		"on_change": [
			"crm_appointments.records.status_counts.on_change",
			"crm_appointments.rest.listing.bump_generation",
		],
		"after_delete": [
			"crm_appointments.records.status_counts.after_delete",
			"crm_appointments.rest.listing.bump_generation",
			"crm_appointments.webhooks.events.after_delete",
		],
		"after_rename": "crm_appointments.rest.listing.bump_generation",
		# Webhook events, raised in the change's transaction and sent after its commit
		# (webhooks/events.py): an insert's in its on_update, after the calendar Event is made.
		"on_update": "crm_appointments.webhooks.events.on_update",
	},
	# The booking pages are cached: saving the settings, a type or a host they show clears them.
	"CRM Appointment Settings": {"on_update": "crm_appointments.www.book.page_context.clear_page_cache"},
	# The types' timing is cached too (scheduling/timing.py): saving, deleting or renaming one forgets it.
	"CRM Appointment Type": {
		"on_update": [
			"crm_appointments.www.book.page_context.clear_page_cache",
			"crm_appointments.scheduling.timing.forget_types",
		],
		"after_delete": [
			"crm_appointments.www.book.page_context.clear_page_cache",
			"crm_appointments.scheduling.timing.forget_types",
		],
		"after_rename": [
			"crm_appointments.www.book.page_context.clear_page_cache",
			"crm_appointments.scheduling.timing.forget_types",
		],
	},
	"CRM Appointment Host": {
		"on_update": "crm_appointments.www.book.page_context.clear_page_cache",
		"after_delete": "crm_appointments.www.book.page_context.clear_page_cache",
		"after_rename": "crm_appointments.www.book.page_context.clear_page_cache",
	},
	# An appointment's host is one of its assignees; the sidebar's Assign To is reflected back, and
	# opening an assignment needs write permission on the appointment (its assignees get its mail)
	# (notify/assignments.py).
	"ToDo": {
		"validate": "crm_appointments.notify.assignments.check_assigner_may_write",
		"on_update": "crm_appointments.notify.assignments.reflect_sidebar_assignment",
	},
	# Frappe writes an appointment's title (the customer's name) into notifications as HTML: as text.
	"Notification Log": {"before_insert": "crm_appointments.notify.assignments.keep_notification_plain"},
	# Frappe writes an appointment Event's timeline entry on its party's page too, for every reader of
	# the party; it is taken off again (calendars/event.py).
	"Event": {"on_update": "crm_appointments.calendars.event.keep_off_party_timeline"},
}

# Code that sends a reminder tells whoever listens, without importing them (the layers run one way):
#   for method in frappe.get_hooks("crm_appointment_reminder_sent"): frappe.get_attr(method)(appointment)
# Webhooks raise `reminder.sent` (webhooks/events.py).
crm_appointment_reminder_sent = ["crm_appointments.webhooks.events.reminder_sent"]

scheduler_events = {
	"cron": {
		"*/5 * * * *": ["crm_appointments.notify.reminders.send_due_reminders"],
		# Webhook retries that are due, and first tries whose job was lost (webhooks/delivery.py).
		"* * * * *": [
			"crm_appointments.webhooks.delivery.send_due_retries",
			# Hosts' CalDAV calendars whose copies could not be written, once their wait is over.
			"crm_appointments.calendars.caldav_copies.retry_due",
		],
	},
	"daily": [
		"crm_appointments.rest.idempotency.delete_expired",
		"crm_appointments.webhooks.delivery.delete_old_deliveries",
	],
	# Repairs what was written around the document API (raw SQL) in the kept counts.
	"hourly": [
		"crm_appointments.records.status_counts.reconcile",
		# Each host's CalDAV calendar put right: missing or moved copies written, stale ones removed.
		"crm_appointments.calendars.caldav_copies.reconcile_all",
	],
}

# Frappe's Event calendar reads Events with its own SQL, past the permission hooks above; getdoc and
# get_link_title hand out linked documents' titles, and get_count counts, without a permission check;
# the link dropdown renders search results as HTML (see calendars/event_permissions.py,
# desk/link_titles.py).
override_whitelisted_methods = {
	"frappe.desk.doctype.event.event.get_events": "crm_appointments.calendars.event_permissions.get_events",
	"frappe.desk.form.load.getdoc": "crm_appointments.desk.link_titles.getdoc",
	"frappe.desk.search.get_link_title": "crm_appointments.desk.link_titles.get_link_title",
	"frappe.client.get_count": "crm_appointments.desk.link_titles.get_count",
}
standard_queries = {"CRM Appointment": "crm_appointments.desk.link_titles.search_appointments"}
