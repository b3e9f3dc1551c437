"""How the app's routes get into Frappe, and how Frappe's own early failures get our error shape.

Frappe v15 has no hook for custom /api/ routes: `frappe.api.handle` matches `frappe.api.API_URL_MAP`
(a werkzeug Map), after the `before_request` hooks run. So `register_routes`, a before_request hook,
adds our rules to that map once per process. Hooks run only for sites with the app installed, and
the endpoints check the app is installed too: a site of the same bench without it answers 404.

Failures that happen before our code runs (bad credentials, CSRF, malformed JSON, unknown paths,
rate limits) are answered by Frappe; `normalise_error_response`, an after_request hook, rewrites
those answers on our paths into the one error shape, so clients never see HTML or a traceback.

An API request's database work ends in the endpoint (`crm_appointments.api.serve`), which then lets
go of the connection: Frappe's own end-of-request commit or rollback runs outside its error handling,
so a database that went away just then (a restart) would get the client the WSGI server's HTML error
page instead of our 503.
"""

import json
import threading

import frappe
import frappe.api

from crm_appointments.rest.errors import ApiError, database_unavailable_error, error_body

API_PREFIX = "/api/crm/"

_lock = threading.Lock()
_registered = False


def register_routes():
	global _registered
	# Also the start of every request: forget what the previous request in this process marked, in
	# case it ended without Frappe's clean-up of frappe.local.
	frappe.local.crm_api_answered = False
	frappe.local.crm_database_unavailable = False
	if _registered:
		return
	with _lock:
		if _registered:
			return
		from crm_appointments.api import url_rules

		for rule in url_rules():
			frappe.api.API_URL_MAP.add(rule)
		_registered = True


def keep_rpc_off_our_routes():
	"""A before_request hook: Frappe runs any request whose arguments carry `cmd` as a call of that
	whitelisted method, whatever its path (`frappe.app.application` checks `form_dict.cmd` before it
	routes). On our paths `cmd` is just an argument our endpoints do not know: they refuse it (400
	naming it) like any other unknown field or query parameter."""
	request = frappe.request
	if request and request.path.startswith(API_PREFIX):
		frappe.local.form_dict.pop("cmd", None)


def mark_as_ours():
	"""Our endpoints answered this request themselves (in the error shape where it failed)."""
	frappe.local.crm_api_answered = True


def release_database():
	"""The request is done with the database: close its connection and go on without one (read-only,
	so Frappe's session bookkeeping writes nothing). What Frappe does after the endpoint (its own
	commit or rollback) runs outside its error handling: had the database gone away just then, the
	client would get the WSGI server's HTML error page instead of an answer."""
	db = getattr(frappe.local, "db", None)
	frappe.local.db = None
	frappe.local.flags.read_only = True
	if db:
		try:
			db.close()
		except Exception:
			pass  # pymysql will not close a connection it already found dead


def database_went_away():
	"""The database went away during this request: let go of the dead connection (nothing can be
	rolled back on it); the answer is a 503 (see `normalise_error_response`)."""
	frappe.local.crm_database_unavailable = True
	release_database()


def normalise_error_response(response=None, request=None):
	request = request or frappe.request
	if response is None or request is None or not request.path.startswith(API_PREFIX):
		return
	per_request_auth = request.headers.get("Authorization") or getattr(frappe.local, "crm_api_key_user", None)
	if per_request_auth and hasattr(frappe.local, "cookie_manager"):
		# A program authenticating per request gets no session cookies.
		frappe.local.cookie_manager.cookies = {}
		frappe.local.cookie_manager.to_delete = []
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
	exc_type = ""
	try:
		exc_type = json.loads(response.get_data(as_text=True)).get("exc_type") or ""
	except Exception:
		pass
	if exc_type == "CSRFTokenError":
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
