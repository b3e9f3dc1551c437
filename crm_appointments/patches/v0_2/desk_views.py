"""Sites that had the app before its saved filters and Kanban board get them once."""

from crm_appointments.desk import saved_views as desk_views


def execute():
	desk_views.install()
