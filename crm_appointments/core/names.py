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
