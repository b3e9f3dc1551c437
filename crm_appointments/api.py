"""The REST contract at /api/crm/appointment (see the README and /api/crm/openapi.json).

The route table, then one plain function per endpoint. They translate HTTP to CRM Appointment
documents and back; every rule about appointments is the controller's. How a request is served
(credentials, the 405s, commits, failures) is rest/lifecycle.py's.
"""

import json

import frappe
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Response

from crm_appointments.booking import manage_links, types
from crm_appointments.booking import rules as booking
from crm_appointments.calendars import feed as calendar_feed
from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE
from crm_appointments.crm_appointments.doctype.crm_appointment import crm_appointment as controller
from crm_appointments.rest import idempotency, listing, openapi, rate_limits, schema
from crm_appointments.rest.errors import ApiError
from crm_appointments.rest.http import (
	check_if_match,
	etag,
	json_response,
	no_query_parameters,
	object_response,
	read_body,
	with_etag,
)
from crm_appointments.rest.lifecycle import Route
from crm_appointments.scheduling import host_calendars, slots
from crm_appointments.scheduling.timezones import as_utc, iso_utc


def routes() -> list[Route]:
	"""Each path with the function that answers each method; any other method is a 405."""
	return [
		Route("/api/crm/appointment", GET=list_appointments, POST=create_appointment),
		Route(
			"/api/crm/appointment/<id>",
			GET=get_appointment,
			PATCH=update_appointment,
			DELETE=delete_appointment,
		),
		Route("/api/crm/slots", public=True, GET=list_slots),
		Route("/api/crm/appointment_types", public=True, GET=list_appointment_types),
		# Public: the secret in the path is the credential (calendar apps send no other).
		Route("/api/crm/calendar/<secret>.ics", public=True, GET=get_calendar_feed),
		# Self-service booking: the public may book while public booking is on; a manage token is
		# its own credential.
		Route("/api/crm/bookings", public=True, POST=create_booking),
		Route("/api/crm/bookings/<token>", public=True, GET=get_booking),
		Route("/api/crm/bookings/<token>/cancel", public=True, POST=cancel_booking),
		Route("/api/crm/bookings/<token>/reschedule", public=True, POST=reschedule_booking),
		Route("/api/crm/openapi.json", public=True, GET=get_openapi_document),
	]


# -- endpoints ----------------------------------------------------------------------------------


def get_openapi_document():
	no_query_parameters()
	return json_response(openapi.document())


def list_appointments():
	query = schema.parse_list_params(frappe.request.args)
	rows, has_more = listing.page(query, schema.COLUMNS)
	total = listing.total(query.filters)
	data = [schema.from_doc(row) for row in rows]
	if has_more is None:
		has_more = query.offset + len(data) < total
	return json_response({"data": data, "has_more": has_more, "total": total})


def list_slots():
	"""Free times of a type (default the oldest enabled public one). Staff who may read appointments,
	of the type's hosts they may read; anyone while public booking is on, of every host of the type
	who can take appointments (else a guest gets 404: the route is not there for them). Staff may
	narrow them to one host (a user id or a handle); a guest only by handle, where the customer picks."""
	open_to_public_or_staff("read")
	rate_limits.limit_guest("slots")
	params = schema.parse_slot_params(frappe.request.args)
	for_guest = frappe.session.user == "Guest"
	kind = types.resolve(params.type, for_guest)
	hosts = types.hosts_for_slots(kind, params.host, for_guest)
	found = slots.free_slots(
		params.start,
		params.end,
		params.time_zone,
		hosts,
		params.duration,
		kind.name if kind is not None else None,
	)
	return json_response(
		{
			"data": [{"start": iso_utc(start), "end": iso_utc(end)} for start, end in found],
			"time_zone": params.time_zone,
		}
	)


def list_appointment_types():
	"""The types a caller is offered (booking/types.py): a guest, while public booking is on, the
	enabled public ones (hosts only where the customer picks); staff who may read types every enabled
	one, with its hosts; a signed-in user who may not read types 403, a guest while booking is off 404."""
	no_query_parameters()
	for_guest = frappe.session.user == "Guest"
	if for_guest and not booking.is_open():
		raise ApiError(404, "No such route.")
	if not for_guest and not frappe.has_permission(APPOINTMENT_TYPE, "read"):
		raise ApiError(403)
	rate_limits.limit_guest("slots")
	data = []
	for appointment_type in types.offered(for_guest):
		shown = not for_guest or appointment_type.host_choice == "Customer picks"
		hosts = types.public_hosts(types.hosts_of(appointment_type)) if shown else []
		data.append(schema.type_from_doc(appointment_type, hosts))
	return json_response({"data": data})


def get_calendar_feed(secret: str):
	"""A host's feed (calendar_feed.py), for calendar apps polling it. The query string is ignored (a
	subscription must not break on a parameter an app adds). A client that has the current version
	(If-None-Match, or If-Modified-Since without it) gets a 304, before the calendar is built."""
	host = calendar_feed.host_for_secret(secret)
	if host is None:
		raise ApiError(404, "No calendar feed at this address.")
	version = calendar_feed.version(host)
	if not is_resource_modified(
		frappe.request.environ, etag=version.etag, last_modified=as_utc(version.last_modified)
	):
		return with_feed_headers(Response(status=304), version)
	body, version = calendar_feed.calendar(host)
	return with_feed_headers(Response(body, mimetype="text/calendar"), version)


def with_feed_headers(response: Response, version: calendar_feed.Version) -> Response:
	response.set_etag(version.etag)
	response.headers["Last-Modified"] = http_date(as_utc(version.last_modified))
	# Only the subscriber's own cache may keep it, and checks back each time (a 304 is cheap).
	response.headers["Cache-Control"] = "private, no-cache"
	return response


def get_appointment(id: str):
	no_query_parameters()
	return object_response(load(id))


def create_appointment():
	no_query_parameters()
	body = read_body()
	values = schema.to_doc_values(body, creating=True)
	return idempotently(
		body,
		lambda: object_response(frappe.get_doc({"doctype": APPOINTMENT, **values}).insert()),
		replayed=lambda response, stored: with_etag(response, json.loads(stored)),
	)


def update_appointment(id: str):
	no_query_parameters()
	values = schema.to_doc_values(read_body(), creating=False)
	doc = load(id, for_update=True, hosts=[values["host"]] if values.get("host") else [])
	current = etag(schema.from_doc(doc))
	if not doc.changes(values):
		doc.check_permission("write")  # a PATCH is a write the caller must be allowed, change or not
		check_if_match(current)
		return object_response(doc)
	doc.update(values)
	doc.save()
	# After the save so bad input answers 400 whatever If-Match says; a 412 rolls the save back.
	check_if_match(current)
	return object_response(doc)


def delete_appointment(id: str):
	no_query_parameters()
	doc = load(id, for_update=True)
	check_if_match(etag(schema.from_doc(doc)))
	frappe.delete_doc(APPOINTMENT, doc.name)
	return json_response({"id": doc.name, "deleted": True})


# -- what the endpoints share ------------------------------------------------------------------


def idempotently(body, respond, replayed=lambda response, stored: response):
	"""`respond()` once per Idempotency-Key and body: a retry gets the first answer again, marked
	Idempotent-Replayed (`replayed` may add to it). Without the header, just `respond()`."""
	key = frappe.get_request_header("Idempotency-Key")
	if key is None:
		return respond()
	claim, replay = idempotency.claim(key, idempotency.request_hash("POST", frappe.request.path, body))
	if replay:
		status, stored = replay
		response = Response(stored, status=status, mimetype="application/json")
		response.headers["Idempotent-Replayed"] = "true"
		return replayed(response, stored)
	try:
		response = respond()
		idempotency.finish(claim, response.status_code, response.get_data(as_text=True))
		return response
	except Exception:
		idempotency.release(claim)
		raise


def load(id: str, for_update: bool = False, hosts=()):
	"""The appointment, if it exists and the user may read it; otherwise 404 (so ids do not leak).

	Reads take the row with one plain query; writes load (and lock) the full document, after the rows
	of its host and of `hosts` (those the write may give it: controller.get_for_update)."""
	not_found = ApiError(404, f"No appointment with id {id}.", "id")
	if for_update:
		# Start the write's transaction at its row lock. Under REPEATABLE READ a transaction's plain
		# reads see the snapshot of its first read; the request's earlier reads (authentication)
		# would pin a snapshot older than the lock, and a request that waited for the lock would not
		# see what the request before it committed (the calendar Event it made, say). Only the
		# authentication's own bookkeeping (a key's last use) is committed here: a commit before the
		# request's own work, which it must stay.
		frappe.db.commit()
		try:
			doc = controller.get_for_update(id, hosts)
		except frappe.DoesNotExistError:
			raise not_found from None
	else:
		rows = frappe.db.sql(f"select * from `tab{APPOINTMENT}` where name = %s", id, as_dict=True)
		if not rows:
			raise not_found
		doc = frappe.get_doc({**rows[0], "doctype": APPOINTMENT})
	if not doc.has_permission("read"):
		raise not_found
	return doc


# -- self-service booking (contract.md: Bookings, Managing a booking); rules in booking.py -----------


def open_to_public_or_staff(permission: str):
	"""While public booking is on, anyone; otherwise staff with `permission` on appointments (a guest
	gets 404, the route is not there for them; a signed-in user without it 403)."""
	if booking.is_open():
		return
	if frappe.session.user == "Guest":
		raise ApiError(404, "No such route.")
	if not frappe.has_permission(APPOINTMENT, permission):
		raise ApiError(403)


def create_booking():
	open_to_public_or_staff("create")
	rate_limits.limit_guest("bookings")
	no_query_parameters()
	body = read_body()
	values = schema.parse_body(body, schema.BOOKING_FIELDS)
	rate_limits.limit_email(values.get("customer_email") or "", booking=True)
	# The booking starts its own transaction: it may roll back and try another host (rules.take_a_host),
	# which must not take the authentication's bookkeeping with it (see `load`).
	frappe.db.commit()
	return idempotently(body, lambda: booking_response(booking.book(**values)[0], with_customer=False))


def get_booking(token: str):
	rate_limits.limit_guest("manage")
	no_query_parameters()
	return booking_response(managed(token))


def cancel_booking(token: str):
	rate_limits.limit_guest("manage")
	no_query_parameters()
	doc = managed(token, for_update=True)  # a wrong token is a 404 whatever the body
	body = read_body() if frappe.request.content_length else {}  # the reason is optional: so is a body
	values = schema.parse_body(body, schema.CANCEL_FIELDS)
	rate_limits.limit_email(doc.customer_email)
	return booking_response(booking.cancel(doc, values.get("reason")))


def reschedule_booking(token: str):
	rate_limits.limit_guest("manage")
	no_query_parameters()
	frappe.db.commit()  # start the write's transaction here (see `load`)
	doc = managed(token)  # not locked yet: booking.reschedule locks the hosts it may take first
	values = schema.parse_body(read_body(), schema.RESCHEDULE_FIELDS)
	rate_limits.limit_moves(token)
	rate_limits.limit_email(doc.customer_email)
	return booking_response(booking.reschedule(doc, token, values["start"], values.get("time_zone")))


def managed(token: str, for_update: bool = False):
	"""The booking a manage token stands for; 404, the same whatever the reason, when none."""
	if for_update:
		frappe.db.commit()  # start the write's transaction at its locks (see `load`)
	doc = manage_links.find(token, for_update=for_update)
	if doc is None:
		raise ApiError(404, "No booking has this link.", "token")
	return doc


def booking_response(doc, with_customer: bool = True):
	return json_response(schema.booking_from_doc(doc, host_calendars.host_name(doc.host), with_customer))
