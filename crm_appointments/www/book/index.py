"""/book: pick a free time and book it (contract.md, "The booking page")."""

from crm_appointments.booking_page import base_context

no_cache = 1


def get_context(context):
	base_context(context)
	context.title = context.page_title
