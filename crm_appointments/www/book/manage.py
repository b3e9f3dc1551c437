"""/book/manage/<token>: the customer's booking, to reschedule or cancel (the token is the credential;
an unknown one is the site's 404 page, whatever the reason)."""

import frappe
from frappe import _

from crm_appointments.booking import manage_links
from crm_appointments.booking import rules as booking
from crm_appointments.core.names import APPOINTMENT_TYPE
from crm_appointments.scheduling.host_calendars import host_name
from crm_appointments.scheduling.timezones import iso_utc
from crm_appointments.www.book.page_context import base_context

no_cache = 1


def get_context(context):
	base_context(context)
	context.no_cache = 1
	token = frappe.form_dict.get("token") or ""
	doc = manage_links.find(token)
	if doc is None:
		raise frappe.PageDoesNotExistError
	context.title = _("Your appointment")
	changeable = booking.is_changeable(doc)
	context.token = token
	context.booking = frappe._dict(
		id=doc.name,
		status=_(doc.status),
		start=iso_utc(doc.scheduled_time),
		duration=doc.duration,
		host_name=host_name(doc.host) or "",
		customer_name=doc.customer_name,
		changeable=changeable,
		can_move=changeable and context.enabled,
		type_title=frappe.db.get_value(APPOINTMENT_TYPE, doc.appointment_type, "title")
		if doc.appointment_type
		else None,
		location=doc.location or "",
		is_link=(doc.location or "").startswith("https://"),
		# The free times to move to are those of its own type, while guests may still see the type's.
		slots_type=doc.appointment_type
		if doc.appointment_type
		and frappe.db.exists(APPOINTMENT_TYPE, {"name": doc.appointment_type, "enabled": 1, "public": 1})
		else None,
	)
