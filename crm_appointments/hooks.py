app_name = "crm_appointments"
app_title = "CRM Appointments"
app_publisher = "crm_appointments developers"
app_description = (
	"Appointments for Frappe CRM: a strict status workflow, a REST API, calendar events and reminders"
)
app_email = "developers@crm-appointments.invalid"
app_license = "mit"

# Apps
# ------------------

# required_apps = []

# Each item in the list will be shown as an app in the apps page
# add_to_apps_screen = [
# 	{
# 		"name": "crm_appointments",
# 		"logo": "/assets/crm_appointments/logo.png",
# 		"title": "CRM Appointments",
# 		"route": "/crm_appointments",
# 		"has_permission": "crm_appointments.api.permission.has_app_permission"
# 	}
# ]

# Includes in <head>
# ------------------

# include js, css files in header of desk.html
# app_include_css = "/assets/crm_appointments/css/crm_appointments.css"
# app_include_js = "/assets/crm_appointments/js/crm_appointments.js"

# include js, css files in header of web template
# web_include_css = "/assets/crm_appointments/css/crm_appointments.css"
# web_include_js = "/assets/crm_appointments/js/crm_appointments.js"

# include custom scss in every website theme (without file extension ".scss")
# website_theme_scss = "crm_appointments/public/scss/website"

# include js, css files in header of web form
# webform_include_js = {"doctype": "public/js/doctype.js"}
# webform_include_css = {"doctype": "public/css/doctype.css"}

# include js in page
# page_js = {"page" : "public/js/file.js"}

# include js in doctype views
# doctype_js = {"doctype" : "public/js/doctype.js"}
# doctype_list_js = {"doctype" : "public/js/doctype_list.js"}
# doctype_tree_js = {"doctype" : "public/js/doctype_tree.js"}
# doctype_calendar_js = {"doctype" : "public/js/doctype_calendar.js"}

# Svg Icons
# ------------------
# include app icons in desk
# app_include_icons = "crm_appointments/public/icons.svg"

# Home Pages
# ----------

# application home page (will override Website Settings)
# home_page = "login"

# website user home page (by Role)
# role_home_page = {
# 	"Role": "home_page"
# }

# Generators
# ----------

# automatically create page for each record of this doctype
# website_generators = ["Web Page"]

# Jinja
# ----------

# add methods and filters to jinja environment
# jinja = {
# 	"methods": "crm_appointments.utils.jinja_methods",
# 	"filters": "crm_appointments.utils.jinja_filters"
# }

# REST API (/api/crm/...): see crm_appointments/rest/routing.py
# ---------------------------------------------------------------

before_request = [
	"crm_appointments.rest.routing.keep_rpc_off_our_routes",
	"crm_appointments.rest.routing.register_routes",
	"crm_appointments.rest.auth.authenticate",
]
after_request = ["crm_appointments.rest.routing.normalise_error_response"]

# Desk boot
# ---------

boot_session = "crm_appointments.boot.boot_session"

# Installation
# ------------

# before_install = "crm_appointments.install.before_install"
# Patches and imports may write around the document API: the kept counts are recounted after each.
after_install = ["crm_appointments.install.after_install", "crm_appointments.appointment_counts.reconcile"]
after_migrate = ["crm_appointments.install.after_migrate", "crm_appointments.appointment_counts.reconcile"]

# Uninstallation
# ------------

before_uninstall = "crm_appointments.install.before_uninstall"
# after_uninstall = "crm_appointments.uninstall.after_uninstall"

# Integration Setup
# ------------------
# To set up dependencies/integrations with other apps
# Name of the app being installed is passed as an argument

# before_app_install = "crm_appointments.utils.before_app_install"
# after_app_install = "crm_appointments.utils.after_app_install"

# Integration Cleanup
# -------------------
# To clean up dependencies/integrations with other apps
# Name of the app being uninstalled is passed as an argument

# before_app_uninstall = "crm_appointments.utils.before_app_uninstall"
# after_app_uninstall = "crm_appointments.utils.after_app_uninstall"

# Desk Notifications
# ------------------
# See frappe.core.notifications.get_notification_config

# notification_config = "crm_appointments.notifications.get_notification_config"

# Permissions
# -----------
# Permissions evaluated in scripted ways

# permission_query_conditions = {
# 	"Event": "frappe.desk.doctype.event.event.get_permission_query_conditions",
# }
#
# has_permission = {
# 	"Event": "frappe.desk.doctype.event.event.has_permission",
# }

# DocType Class
# ---------------
# Override standard doctype classes

# override_doctype_class = {
# 	"ToDo": "custom_app.overrides.CustomToDo"
# }

# Document Events
# ---------------
# Hook on document methods and events

# Every committed change of an appointment makes the REST list's cached totals stale.
# Keys: a user's own, or any for a System Manager (see crm_api_key.py).
has_permission = {
	"CRM API Key": "crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.has_permission",
}
permission_query_conditions = {
	"CRM API Key": "crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key.get_permission_query_conditions",
}

# Every write of an appointment adjusts the kept counts by status in its own transaction (see
# appointment_counts.py): inserts (restores from Deleted Document and Data Import too), status moves,
# deletes.
doc_events = {
	"CRM Appointment": {
		"after_insert": "crm_appointments.appointment_counts.after_insert",
		"on_change": [
			"crm_appointments.appointment_counts.on_change",
			"crm_appointments.rest.listing.bump_generation",
		],
		"after_delete": [
			"crm_appointments.appointment_counts.after_delete",
			"crm_appointments.rest.listing.bump_generation",
		],
		"after_rename": "crm_appointments.rest.listing.bump_generation",
	}
}

# Scheduled Tasks
# ---------------

scheduler_events = {
	"cron": {"*/5 * * * *": ["crm_appointments.reminders.send_due_reminders"]},
	"daily": ["crm_appointments.rest.idempotency.delete_expired"],
	# Repairs what was written around the document API (raw SQL) in the kept counts.
	"hourly": ["crm_appointments.appointment_counts.reconcile"],
}

# scheduler_events = {
# 	"all": [
# 		"crm_appointments.tasks.all"
# 	],
# 	"daily": [
# 		"crm_appointments.tasks.daily"
# 	],
# 	"hourly": [
# 		"crm_appointments.tasks.hourly"
# 	],
# 	"weekly": [
# 		"crm_appointments.tasks.weekly"
# 	],
# 	"monthly": [
# 		"crm_appointments.tasks.monthly"
# 	],
# }

# Testing
# -------

# before_tests = "crm_appointments.install.before_tests"

# Overriding Methods
# ------------------------------
#
# override_whitelisted_methods = {
# 	"frappe.desk.doctype.event.event.get_events": "crm_appointments.event.get_events"
# }
#
# each overriding function accepts a `data` argument;
# generated from the base implementation of the doctype dashboard,
# along with any modifications made in other Frappe apps
# override_doctype_dashboards = {
# 	"Task": "crm_appointments.task.get_dashboard_data"
# }

# exempt linked doctypes from being automatically cancelled
#
# auto_cancel_exempted_doctypes = ["Auto Repeat"]

# Ignore links to specified DocTypes when deleting documents
# -----------------------------------------------------------

# ignore_links_on_delete = ["Communication", "ToDo"]

# Request Events
# ----------------
# before_request = ["crm_appointments.utils.before_request"]
# after_request = ["crm_appointments.utils.after_request"]

# Job Events
# ----------
# before_job = ["crm_appointments.utils.before_job"]
# after_job = ["crm_appointments.utils.after_job"]

# User Data Protection
# --------------------

# user_data_fields = [
# 	{
# 		"doctype": "{doctype_1}",
# 		"filter_by": "{filter_by}",
# 		"redact_fields": ["{field_1}", "{field_2}"],
# 		"partial": 1,
# 	},
# 	{
# 		"doctype": "{doctype_2}",
# 		"filter_by": "{filter_by}",
# 		"partial": 1,
# 	},
# 	{
# 		"doctype": "{doctype_3}",
# 		"strict": False,
# 	},
# 	{
# 		"doctype": "{doctype_4}"
# 	}
# ]

# Authentication and authorization
# --------------------------------

# auth_hooks = [
# 	"crm_appointments.auth.validate"
# ]

# Automatically update python controller files with type annotations for this app.
# export_python_type_annotations = True

# default_log_clearing_doctypes = {
# 	"Logging DocType Name": 30  # days to retain logs
# }
