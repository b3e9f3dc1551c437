"""HTTP in and out for the endpoints: the query string, the body, JSON answers and ETags."""

import hashlib
import json

import frappe
from werkzeug.wrappers import Response

from crm_appointments.rest import schema
from crm_appointments.rest.errors import ApiError


def no_query_parameters():
	"""Only the list reads the query string; on any other route a parameter is unknown, as an unknown
	body field is (`cmd` included: see lifecycle.begin_request)."""
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
