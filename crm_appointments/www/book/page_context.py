"""What the booking pages (www/book/index.py, www/book/manage.py) hand their templates: the settings
and appointment types they show, and the texts their script needs, translated here once.

/book, /book/<type> and /book/<type>/<host> are the same for every visitor (the free times come from
the script), so Frappe's page cache keeps them (`TypePage` for the addresses with a type); saving the
settings, a type or a host clears them (`clear_page_cache`). The manage page is never cached."""

import frappe
from frappe import _
from frappe.website.page_renderers.template_page import TemplatePage

from crm_appointments.booking import rules as booking
from crm_appointments.booking import types
from crm_appointments.core import frappe_adapter, slugs
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.settings import (
	DEFAULT_HORIZON_DAYS,
	booking_duration,
	get_settings,
)
from crm_appointments.crm_appointments.doctype.crm_appointment_type.crm_appointment_type import choices
from crm_appointments.scheduling.timezones import site_zone

BOOK_PATH = "book"
MANAGE_PREFIX = "/book/manage"
# /book/manage/<token> is the manage page: no appointment type may take this slug (the type's
# controller refuses it).
RESERVED_TYPE_SLUGS = ("manage",)


def private_page_headers(response=None, request=None):
	"""after_request: the manage page's address holds the customer's token, so it is sent with no
	Referer to anything it loads (the header applies before the page's own <meta name="referrer">
	is read: stylesheets and scripts ahead of it too) and is kept in no cache, shared or not. Its 404
	too: the address is the same secret."""
	if response is None or request is None or not request.path.startswith(MANAGE_PREFIX):
		return
	response.headers["Referrer-Policy"] = "no-referrer"
	response.headers["Cache-Control"] = "no-store, private"


def clear_page_cache(doc=None, method=None):
	"""The booking pages show the settings (title, intro, whether booking is on), the public types and
	their hosts: saving CRM Appointment Settings, a CRM Appointment Type or a CRM Appointment Host
	clears every cached page (doc_events, hooks.py), and the remembered 404s of addresses that may
	now be a type's."""
	from frappe.website.utils import clear_cache

	clear_cache()


class TypePage(TemplatePage):
	"""/book/<type> and /book/<type>/<host> (website_route_rules send them to www/book/index, the
	type and host in the address), kept in Frappe's page cache like /book (a page_renderer hook).

	Frappe keeps no page reached through a route with arguments, as its cache is keyed by the
	endpoint (`book`), which all such addresses share. This page is keyed by its own address, and
	depends on nothing else (index.py reads the type and host from the address, never from the query
	string), so it may be kept. Checked on Frappe 15.55: TemplatePage(path) finds the template of
	`path` and caches under `self.path`; the address asked for and the cache's switch are Frappe's
	request state, read and set through core/frappe_adapter.py (tests/test_booking_types_browser.py
	checks the pages come from the cache, and a 404 is a 404)."""

	def __init__(self, path, http_status_code=None):
		self.address = current_address()
		self.for_a_type = (path or "").strip("/ ") == BOOK_PATH and self.address.startswith(BOOK_PATH + "/")
		if self.for_a_type:  # any other page is another renderer's: its template is not looked for
			super().__init__(path, http_status_code)

	def can_render(self):
		return self.for_a_type and super().can_render()

	def render(self):
		self.path = self.address  # the cache key, and the page's canonical address
		frappe_adapter.keep_page_in_cache(True)
		try:
			return super().render()
		except frappe.PageDoesNotExistError:
			# Frappe's 404 page then, uncached as after any route with arguments: taken from the page
			# cache, it would be sent with the status 200.
			frappe_adapter.keep_page_in_cache(False)
			raise


def current_address() -> str:
	return frappe_adapter.requested_path()


def booking_address() -> tuple[str | None, str | None]:
	"""The type and host slugs of the address asked for (/book/<type>/<host>); (None, None) for /book.
	Anything else is not a booking page: the site's 404."""
	parts = current_address().split("/")
	if parts[0] != BOOK_PATH or len(parts) > 3 or not all(slugs.is_slug(part) for part in parts[1:]):
		raise frappe.PageDoesNotExistError
	return (parts[1] if len(parts) > 1 else None), (parts[2] if len(parts) > 2 else None)


# -- what the pages show ----------------------------------------------------------------------------------


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


def public_types() -> list[frappe._dict]:
	"""The types /book offers (enabled and public, oldest first), as the pages show them: what a guest
	may see of them, the same for every visitor."""
	return [type_view(doc) for doc in types.offered(for_guest=True) if doc.name not in RESERVED_TYPE_SLUGS]


def type_view(doc) -> frappe._dict:
	location = (doc.location or "").strip()
	kind = doc.location_kind or None
	return frappe._dict(
		id=doc.name,
		title=doc.title,
		description=(doc.description or "").strip(),
		duration=doc.effective().duration,
		location_kind=kind,
		location=location if kind == "In person" else "",
		how=how_it_takes_place(kind, location),
		host_choice=doc.host_choice,
		customer_picks=doc.host_choice == "Customer picks",
		phone_required=kind == "Phone" and not location,
		questions=[
			frappe._dict(
				label=q.label,
				kind=q.kind,
				options=choices(q) if q.kind == "Select" else [],
				required=bool(q.required),
			)
			for q in doc.questions
		],
		doc=doc,
	)


def how_it_takes_place(kind: str | None, location: str = "") -> str:
	"""A type's way of meeting in a few words: the address for In person."""
	if kind == "In person":
		address = ", ".join(line.strip() for line in location.splitlines() if line.strip())
		return _("In person at {0}").format(address) if address else _("In person")
	if kind == "Phone":
		return _("By phone")
	if kind == "Video":
		return _("Video call")
	return ""


def hosts_to_pick(type_view: frappe._dict) -> list[frappe._dict]:
	"""The hosts a customer may pick for the type (their handle, name and photo), none where the
	type gives the appointment to any free host."""
	if not type_view.customer_picks:
		return []
	return [
		frappe._dict(id=host["id"], name=host["name"] or host["id"], photo=shown_photo(host["photo"]))
		for host in types.public_hosts(types.hosts_of(type_view.doc))
	]


def shown_photo(photo: str | None) -> str | None:
	"""A host's photo when a guest's browser can load it: a public file of the site or an https
	address (never a private file, nor another scheme)."""
	photo = (photo or "").strip()
	return photo if photo.startswith(("/files/", "https://")) else None


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
		"book": _("Book"),
		"booking": _("Booking…"),
		"booked": _("Booked: {0}, with {1}."),
		"booked_no_host": _("Booked: {0}."),
		"email_on_way": _("A confirmation email is on its way to {0}, with a link to reschedule or cancel."),
		"where": _("Where: {0}"),
		"by_phone": _("By phone: {0}"),
		"video_at": _("Video call: {0}"),
		"video_link_by_email": _("A video link will be in your confirmation email."),
		"moving": _("Moving…"),
		"moved": _("Moved to {0}. An email with the update is on its way."),
		"cancelling": _("Cancelling…"),
		"cancelled": _("Your appointment is cancelled. An email confirming it is on its way."),
		"statuses": {status.value: _(status.label) for status in workflow.STATUSES},
	}
