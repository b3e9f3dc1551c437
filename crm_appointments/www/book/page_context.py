"""What the booking pages (www/book/index.py, www/book/manage.py) hand their templates: the settings
they show, and the texts their script needs, translated here once.

/book is the same for every visitor (the free times come from the script), so Frappe's page cache
keeps it; saving the settings clears it (`clear_page_cache`). The manage page is never cached."""

from frappe import _

from crm_appointments.booking import rules as booking
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.settings import (
	DEFAULT_HORIZON_DAYS,
	booking_duration,
	get_settings,
)
from crm_appointments.scheduling.timezones import site_zone

BOOK_PATH = "book"
MANAGE_PREFIX = "/book/manage"


def private_page_headers(response=None, request=None):
	"""after_request: the manage page's address holds the customer's token, so it is sent with no
	Referer to anything it loads (the header applies before the page's own <meta name="referrer">
	is read: stylesheets and scripts ahead of it too) and is kept in no cache, shared or not. Its 404
	too: the address is the same secret."""
	if response is None or request is None or not request.path.startswith(MANAGE_PREFIX):
		return
	response.headers["Referrer-Policy"] = "no-referrer"
	response.headers["Cache-Control"] = "no-store, private"


def clear_page_cache(settings=None, method=None):
	"""/book shows the title, the intro and whether booking is on: saving CRM Appointment Settings
	clears its cached page (a doc_events hook, hooks.py)."""
	from frappe.website.utils import clear_cache

	clear_cache(BOOK_PATH)


def base_context(context):
	settings = get_settings()
	context.no_breadcrumbs = 1
	context.show_sidebar = 0
	context.enabled = booking.is_open()
	context.page_title = settings.booking_page_title or _("Book an appointment")
	context.intro = settings.booking_intro or ""
	context.duration = booking_duration()
	context.horizon_days = settings.booking_horizon or DEFAULT_HORIZON_DAYS
	context.site_zone = site_zone().key
	context.texts = texts()


def texts() -> dict:
	return {
		"loading": _("Looking for free times…"),
		"free_on": _("{0} free times on {1}. Pick one."),
		"one_free_on": _("One free time on {0}. Pick it."),
		"none_on_day": _("No free times on {0}."),
		"next_free": _("Show {0}, the next day with free times"),
		"none_soon": _("No free times in the two weeks from this day. Try a later day."),
		"choose_time": _("Choose a time first."),
		"offline": _("The server could not be reached. Check your connection and try again."),
		"generic": _("Something went wrong. Please try again."),
		"slow_down": _("Too many attempts from your network. Please try again in {0} minutes."),
		"taken": _("Sorry, that time was just taken by someone else. Here are the times still free."),
		"booking": _("Booking…"),
		"booked": _("Booked: {0}, with {1}."),
		"email_on_way": _("A confirmation email is on its way to {0}, with a link to reschedule or cancel."),
		"moving": _("Moving…"),
		"moved": _("Moved to {0}. An email with the update is on its way."),
		"cancelling": _("Cancelling…"),
		"cancelled": _("Your appointment is cancelled. An email confirming it is on its way."),
		"statuses": {status.value: _(status.label) for status in workflow.STATUSES},
	}
