"""/book: pick a free time and book it (contract.md, "The booking page"). Kept in Frappe's page
cache; saving the settings clears it (booking_page.clear_page_cache)."""

from crm_appointments.www.book.page_context import base_context


def get_context(context):
	base_context(context)
	context.title = context.page_title
