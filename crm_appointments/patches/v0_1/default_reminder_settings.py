"""Sites that had the app before reminders existed get the default settings once."""

from crm_appointments.setup.install import make_default_settings


def execute():
	make_default_settings()
