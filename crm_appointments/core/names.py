"""The names of the app's DocTypes and roles, written once."""

APPOINTMENT = "CRM Appointment"
SETTINGS = "CRM Appointment Settings"
REMINDER = "CRM Appointment Reminder"
API_KEY = "CRM API Key"
IDEMPOTENCY_KEY = "CRM API Idempotency Key"
COUNT = "CRM Appointment Count"
HOST = "CRM Appointment Host"
HOST_HOURS = "CRM Appointment Host Hours"
HOST_TIME_OFF = "CRM Appointment Host Time Off"

# The roles the app installs; a host needs one of them to take appointments.
ROLES = ("CRM Appointment Manager", "CRM Appointment User")
MODULE = "CRM Appointments"

# Appointment types (contract.md, "Appointment types") and their child tables.
APPOINTMENT_TYPE = "CRM Appointment Type"
APPOINTMENT_TYPE_HOST = "CRM Appointment Type Host"
APPOINTMENT_TYPE_QUESTION = "CRM Appointment Type Question"
# The type a site gets from its booking settings: what /book and clients that name no type book.
DEFAULT_TYPE = "appointment"

# Webhooks (contract.md, "Webhooks"): the endpoints, their event choices (a child table) and the log of
# every try to deliver an event.
WEBHOOK = "CRM Appointment Webhook"
WEBHOOK_EVENT = "CRM Appointment Webhook Event"
WEBHOOK_DELIVERY = "CRM Appointment Webhook Delivery"
# The events an endpoint can take, as contract.md names them (the child table's Select has these).
WEBHOOK_EVENTS = (
	"appointment.created",
	"appointment.updated",
	"appointment.rescheduled",
	"appointment.confirmed",
	"appointment.cancelled",
	"appointment.completed",
	"appointment.no_show",
	"appointment.deleted",
	"booking.created",
	"reminder.sent",
)
# Who may see and change endpoints and their deliveries.
WEBHOOK_MANAGERS = ("CRM Appointment Manager", "System Manager")
