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
