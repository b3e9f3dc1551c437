"""The life of a request on /api/crm/: how it starts, how an endpoint is served, how it fails, and
how it lets go of the database. The endpoints (crm_appointments/api.py) and the route registration
(routing.py) build on this module; it imports neither.

- `begin_request` (a before_request hook) forgets what the previous request in this process marked,
  and keeps Frappe's RPC off our paths: Frappe runs any request whose arguments carry `cmd` as a call
  of that method, whatever its path (`frappe.app.application` checks `form_dict.cmd` before it
  routes); on our paths `cmd` is just an argument the endpoints do not know (a 400 naming it).
- `Route` ties a path to the function answering each method; `serve` runs it: a method with no
  function is a 405 with Allow, a guest a 401 unless the route is public, any failure rolls back and
  answers in the error shape. Writes are committed here, inside the error handling (a commit the
  database never acknowledges answers 503), then the connection is let go: what Frappe does after the
  endpoint (its own commit or rollback) runs outside its error handling, so a database that went away
  just then would get the client the WSGI server's HTML error page instead of our 503.
- `normalise_error_response` (an after_request hook) gives Frappe's own early failures on our paths
  (bad credentials, CSRF, malformed JSON, unknown paths, rate limits) the one error shape.
"""

import json

import frappe
from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from crm_appointments.core import frappe_adapter
from crm_appointments.rest import errors
from crm_appointments.rest.errors import ApiError, database_unavailable_error, error_body

API_PREFIX = "/api/crm/"
APP = "crm_appointments"


def is_ours(request) -> bool:
	return bool(request) and request.path.startswith(API_PREFIX)


def begin_request():
	frappe.local.crm_api_answered = False
	frappe.local.crm_database_unavailable = False
	if is_ours(frappe.request):
		frappe.local.form_dict.pop("cmd", None)


class Route:
	"""A path and the function that answers each of its methods: Route(path, GET=fn, POST=fn)."""

	def __init__(self, path: str, public: bool = False, **handlers):
		self.path = path
		self.public = public
		self.handlers = handlers

	def rule(self) -> Rule:
		# No `methods=`: serve answers other methods itself (405 in our error shape; werkzeug's own
		# 405 would bypass Frappe's after_request hooks).
		return Rule(self.path, endpoint=self.answer)

	def answer(self, **arguments) -> Response:
		return serve(self.handlers, self.public, **arguments)


def serve(handlers: dict, public: bool, **arguments) -> Response:
	if APP not in frappe.get_installed_apps():
		raise NotFound  # the routes are per process; this site does not have the app
	frappe.local.crm_api_answered = True
	method = "GET" if frappe.request.method == "HEAD" else frappe.request.method
	try:
		if method not in handlers:
			raise ApiError(405, f"{frappe.request.method} is not allowed here.", headers=allow(handlers))
		if not public and frappe.session.user == "Guest":
			raise ApiError(401)
		if not user_is_enabled(frappe.session.user):
			# Frappe's `token key:secret` (and OAuth) sign a disabled user in (Frappe 15.55 checks only
			# the key); the app's own keys already refuse them. Public routes too: they act as the user.
			raise ApiError(401, "This user is disabled.")
		response = handlers[method](**arguments)
		if method != "GET":
			frappe.db.commit()  # the request boundary: see the module's docstring
	except Exception as exc:
		response = failure(exc)
	frappe_adapter.forget_database_connection()
	return response


def user_is_enabled(user: str) -> bool:
	return user in ("Guest", "Administrator") or bool(frappe.get_cached_value("User", user, "enabled"))


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


def database_went_away():
	"""The database went away during this request (found before an endpoint ran): let go of the dead
	connection (nothing can be rolled back on it); the answer is a 503 (`normalise_error_response`)."""
	frappe.local.crm_database_unavailable = True
	frappe_adapter.forget_database_connection()


def normalise_error_response(response=None, request=None):
	request = request or frappe.request
	if response is None or not is_ours(request):
		return
	per_request_auth = request.headers.get("Authorization") or getattr(frappe.local, "crm_api_key_user", None)
	if per_request_auth:
		frappe_adapter.drop_response_cookies()
	if getattr(frappe.local, "crm_api_answered", False) or response.status_code < 400:
		return
	if getattr(frappe.local, "crm_database_unavailable", False):
		error = database_unavailable_error()
	else:
		error = ApiError(*_what_frappe_meant(response, request))
	response.set_data(json.dumps(error_body(error.status, error.message)))
	response.status_code = error.status
	response.mimetype = "application/json"
	for header in ("Content-Disposition", "X-Frappe-CSRF-Token"):
		response.headers.pop(header, None)
	for header, value in error.headers.items():
		response.headers[header] = value


def _what_frappe_meant(response, request) -> tuple[int, str | None]:
	status = response.status_code
	if _frappe_exception_type(response) == "CSRFTokenError":
		return 403, "CSRF token missing or wrong: a session-cookie request must send X-Frappe-CSRF-Token."
	body = request.get_data(as_text=True)
	if body and request.is_json:
		try:
			parsed = json.loads(body)
		except ValueError:
			return 400, "The request body is not valid JSON."
		except RecursionError:
			# Frappe's own parse of the body failed the same way, before any hook of ours ran.
			return 400, "The request body is nested too deeply."
		if not isinstance(parsed, dict | list):
			return 400, "The request body must be a JSON object."
	if status in (401, 403, 404, 405, 409, 412, 413, 429):
		return status, None
	if status in (400, 417, 422):
		return 400, None
	if status in (502, 503, 504, 508):
		return 503, None
	return 500, None


def _frappe_exception_type(response) -> str:
	"""The `exc_type` of Frappe's JSON error answer; '' when it gave none (an HTML page, say)."""
	try:
		answer = json.loads(response.get_data(as_text=True))
	except ValueError:
		return ""
	return (answer.get("exc_type") or "") if isinstance(answer, dict) else ""
