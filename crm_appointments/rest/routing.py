"""How the app's routes get into Frappe, and how Frappe's own early failures get our error shape.

Frappe v15 has no hook for custom /api/ routes: `frappe.api.handle` matches `frappe.api.API_URL_MAP`
(a werkzeug Map), after the `before_request` hooks run. So `register_routes`, a before_request hook,
adds our rules to that map once per process. Hooks run only for sites with the app installed, and
the endpoints check the app is installed too: a site of the same bench without it answers 404.

Failures that happen before our code runs (bad credentials, CSRF, malformed JSON, unknown paths,
rate limits) are answered by Frappe; `normalise_error_response`, an after_request hook, rewrites
those answers on our paths into the one error shape, so clients never see HTML or a traceback.
"""

import json
import threading

import frappe
import frappe.api

from crm_appointments.rest.errors import error_body

API_PREFIX = "/api/crm/"

_lock = threading.Lock()
_registered = False


def register_routes():
	global _registered
	if _registered:
		return
	with _lock:
		if _registered:
			return
		from crm_appointments.api import url_rules

		for rule in url_rules():
			frappe.api.API_URL_MAP.add(rule)
		_registered = True


def mark_as_ours():
	"""Our endpoints answered this request themselves (in the error shape where it failed)."""
	frappe.local.crm_api_answered = True


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
	status, message = _what_frappe_meant(response, request)
	response.set_data(json.dumps(error_body(status, message)))
	response.status_code = status
	response.mimetype = "application/json"
	for header in ("Content-Disposition", "X-Frappe-CSRF-Token"):
		response.headers.pop(header, None)


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
