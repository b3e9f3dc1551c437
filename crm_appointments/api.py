"""The REST contract at /api/crm/appointment (see the README and /api/crm/openapi.json).

A small table of URL rules, then one plain function per endpoint. They translate HTTP to
CRM Appointment documents and back; every rule about appointments is the controller's.
"""

import hashlib
import json

import frappe
from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from crm_appointments.rest import errors, idempotency, listing, openapi, schema
from crm_appointments.rest.errors import ApiError
from crm_appointments.rest.routing import mark_as_ours, release_database

DOCTYPE = schema.DOCTYPE
APP = "crm_appointments"


def url_rules() -> list[Rule]:
	# No `methods=`: the endpoints answer other methods themselves (405 in our error shape).
	return [
		Rule("/api/crm/appointment", endpoint=appointments),
		Rule("/api/crm/appointment/<id>", endpoint=appointment),
		Rule("/api/crm/openapi.json", endpoint=openapi_document),
	]


# -- endpoints ----------------------------------------------------------------------------------


def appointments():
	return serve({"GET": list_appointments, "POST": create_appointment})


def appointment(id: str):
	return serve({"GET": get_appointment, "PATCH": update_appointment, "DELETE": delete_appointment}, id)


def openapi_document():
	return serve({"GET": get_openapi_document}, public=True)


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


def get_appointment(id: str):
	no_query_parameters()
	return object_response(load(id))


def create_appointment():
	no_query_parameters()
	body = read_body()
	values = schema.to_doc_values(body, creating=True)
	key = frappe.get_request_header("Idempotency-Key")
	claim = None
	if key is not None:
		claim, replay = idempotency.claim(key, idempotency.request_hash("POST", frappe.request.path, body))
		if replay:
			status, stored = replay
			response = Response(stored, status=status, mimetype="application/json")
			response.headers["Idempotent-Replayed"] = "true"
			return with_etag(response, json.loads(stored))
	try:
		doc = frappe.get_doc({"doctype": DOCTYPE, **values}).insert()
		response = object_response(doc)
		if claim:
			idempotency.finish(claim, response.status_code, response.get_data(as_text=True))
		return response
	except Exception:
		if claim:
			idempotency.release(claim)
		raise


def update_appointment(id: str):
	no_query_parameters()
	values = schema.to_doc_values(read_body(), creating=False)
	doc = load(id, for_update=True)
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
	frappe.delete_doc(DOCTYPE, doc.name)
	return json_response({"id": doc.name, "deleted": True})


# -- the plumbing every endpoint shares ---------------------------------------------------------


def serve(handlers: dict, *args, public: bool = False) -> Response:
	"""Run the handler for this method; any failure rolls back and answers in the error shape. The
	request's database work ends here: writes are committed inside the error handling (a commit the
	database never acknowledges answers 503), then the connection is let go (see rest/routing.py)."""
	if APP not in frappe.get_installed_apps():
		raise NotFound  # the routes are per process; this site does not have the app
	mark_as_ours()
	method = "GET" if frappe.request.method == "HEAD" else frappe.request.method
	try:
		if method not in handlers:
			raise ApiError(405, f"{frappe.request.method} is not allowed here.", headers=allow(handlers))
		if not public and frappe.session.user == "Guest":
			raise ApiError(401)
		response = handlers[method](*args)
		if method != "GET":
			frappe.db.commit()
	except Exception as exc:
		response = failure(exc)
	release_database()
	return response


def failure(exc: Exception) -> Response:
	"""Roll back and answer in the error shape; a database that went away answers 503 (nothing can be
	rolled back on the dead connection)."""
	if not errors.database_unavailable(exc):
		try:
			frappe.db.rollback()
		except Exception as lost:
			if not errors.database_unavailable(lost):
				raise
			exc = lost
	return errors.error_response(errors.from_exception(exc))


def allow(handlers: dict) -> dict:
	methods = list(handlers)
	if "GET" in methods:
		methods.append("HEAD")
	return {"Allow": ", ".join(methods)}


def no_query_parameters():
	"""Only the list reads the query string; on any other route a parameter is unknown, as an unknown
	body field is (`cmd` included: see routing.keep_rpc_off_our_routes)."""
	for name in frappe.request.args:
		raise ApiError(400, f"Unknown query parameter: {name}.", name)


def read_body():
	request = frappe.request
	if (request.content_length or 0) > schema.MAX_BODY_BYTES:
		raise ApiError(413)
	raw = request.get_data(cache=True)
	if len(raw) > schema.MAX_BODY_BYTES:
		raise ApiError(413)
	if not raw.strip():
		raise ApiError(400, "The request body must be a JSON object (it is empty).")
	try:
		return json.loads(raw)
	except ValueError:
		raise ApiError(400, "The request body is not valid JSON.") from None


def load(id: str, for_update: bool = False):
	"""The appointment, if it exists and the user may read it; otherwise 404 (so ids do not leak).

	Reads take the row with one plain query; writes load (and lock) the full document."""
	not_found = ApiError(404, f"No appointment with id {id}.", "id")
	if for_update:
		# Start the write's transaction at its row lock. Under REPEATABLE READ a transaction's plain
		# reads see the snapshot of its first read; the request's earlier reads (authentication)
		# would pin a snapshot older than the lock, and a request that waited for the lock would not
		# see what the request before it committed (the calendar Event it made, say). Only the
		# authentication's own bookkeeping (a key's last use) is committed here.
		frappe.db.commit()
		try:
			doc = frappe.get_doc(DOCTYPE, id, for_update=True)
		except frappe.DoesNotExistError:
			raise not_found from None
	else:
		rows = frappe.db.sql(f"select * from `tab{DOCTYPE}` where name = %s", id, as_dict=True)
		if not rows:
			raise not_found
		doc = frappe.get_doc({**rows[0], "doctype": DOCTYPE})
	if not doc.has_permission("read"):
		raise not_found
	return doc


def etag(obj: dict) -> str:
	"""A strong ETag: a digest of the object as the API shows it."""
	return '"' + hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:20] + '"'


def check_if_match(current: str):
	wanted = frappe.get_request_header("If-Match")
	if wanted is None:
		return
	if not wanted.strip():
		raise ApiError(400, "If-Match must be an ETag from an earlier response, or *.", "If-Match")
	if wanted.strip() != "*" and current not in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
		raise ApiError(412, headers={"ETag": current})


def json_response(data, status: int = 200) -> Response:
	return Response(json.dumps(data), status=status, mimetype="application/json")


def object_response(doc) -> Response:
	obj = schema.from_doc(doc)
	return with_etag(json_response(obj), obj)


def with_etag(response: Response, obj: dict) -> Response:
	response.headers["ETag"] = etag(obj)
	return response
