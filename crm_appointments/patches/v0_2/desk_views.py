"""Sites that had the app before its saved filters and Kanban board get them once."""

from crm_appointments import desk_views


def execute():
	desk_views.install()
