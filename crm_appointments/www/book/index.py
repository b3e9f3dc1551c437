"""/book, /book/<type> and /book/<type>/<host> (contract.md, "The booking page" and "Appointment
types"). /book lists the public types; with one, or none, it is straight away the time picker of that
type (or of no type). /book/<type> is the picker of the type, where the customer may pick the host
when the type lets them; /book/<type>/<host> books that host. An address of no public type, or of a
host the customer may not pick there, is the site's 404.

Every page is the same for every visitor, so Frappe's page cache keeps it (page_context.TypePage for
the addresses with a type); saving the settings, a type or a host clears it
(page_context.clear_page_cache). The type and host are read from the address only (never from a query
string, which the cached page would otherwise keep)."""

import frappe

from crm_appointments.www.book.page_context import base_context, booking_address, hosts_to_pick, public_types


def get_context(context):
	base_context(context)
	type_slug, host_slug = booking_address()
	offered = public_types()
	context.title = context.page_title
	context.heading = context.page_title
	context.several = len(offered) > 1
	context.types = []
	context.kind = None
	context.hosts = []
	context.fixed_host = None
	if type_slug is None:
		if context.several:
			context.types = offered  # the list of types
			return
		context.kind = offered[0] if offered else None  # straight to its picker, as before types
	else:
		context.kind = next((kind for kind in offered if kind.id == type_slug), None)
		if context.kind is None:
			raise frappe.PageDoesNotExistError
		context.heading = context.kind.title
		context.title = f"{context.kind.title} · {context.page_title}"
	hosts = hosts_to_pick(context.kind) if context.kind else []
	if host_slug is not None:
		context.fixed_host = next((host for host in hosts if host.id == host_slug), None)
		if context.fixed_host is None:
			raise frappe.PageDoesNotExistError
	else:
		context.hosts = hosts
	context.duration = context.kind.duration if context.kind else context.duration
	context.config = {
		"type": context.kind.id if context.kind else None,
		"host": context.fixed_host.id if context.fixed_host else None,
		"location_kind": context.kind.location_kind if context.kind else None,
		"phone_required": bool(context.kind and context.kind.phone_required),
	}
