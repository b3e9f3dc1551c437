"""The names of the app's DocTypes, written once."""

APPOINTMENT = "CRM Appointment"
SETTINGS = "CRM Appointment Settings"
REMINDER = "CRM Appointment Reminder"
API_KEY = "CRM API Key"
IDEMPOTENCY_KEY = "CRM API Idempotency Key"
COUNT = "CRM Appointment Count"
