"""The one error shape of the REST API, and how every failure becomes it.

{"error": {"type": "invalid_request_error", "message": "...", "param": "customer_email"}}
"""

import html
import json

import frappe
import pymysql
from frappe.utils import strip_html_tags
from werkzeug.wrappers import Response

from crm_appointments.core.exceptions import AppointmentError

ERROR_TYPES = {
	400: "invalid_request_error",
	401: "authentication_error",
	403: "permission_error",
	404: "not_found_error",
	405: "invalid_request_error",
	409: "conflict_error",
	412: "conflict_error",
	413: "invalid_request_error",
	415: "invalid_request_error",
	429: "rate_limit_error",
	500: "api_error",
	503: "api_error",
}
DEFAULT_MESSAGES = {
	400: "The request is not valid.",
	401: "No valid credentials were given. Send Authorization: Bearer <secret key>.",
	403: "You do not have permission to do that.",
	404: "No such object.",
	405: "This route does not allow that method.",
	409: "The request conflicts with the object's current state.",
	412: "The object has changed since the ETag given in If-Match.",
	413: "The request body is larger than 1 MB.",
	429: "Too many requests. Slow down and retry later.",
	500: "Something went wrong on our side. It has been logged.",
	503: "The service is briefly unavailable. Retry shortly.",
}


# MariaDB is not there: shutting down (1053), the connection killed (1927), no connection (2002,
# 2003), the connection lost (2006, 2013, 2055).
DATABASE_GONE_CODES = frozenset({1053, 1927, 2002, 2003, 2006, 2013, 2055})


# RFC 9110: a 401 names the scheme to use (the app's secret keys and OAuth tokens are bearer tokens).
WWW_AUTHENTICATE = 'Bearer realm="crm_appointments"'


class ApiError(Exception):
	"""An HTTP failure with the fields of the error object."""

	def __init__(self, status: int, message: str | None = None, param: str | None = None, headers=None):
		self.status = status
		self.message = message or DEFAULT_MESSAGES.get(status, "Error.")
		self.param = param
		self.headers = headers or {}
		if status == 401:
			self.headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
		super().__init__(self.message)


def error_body(status: int, message: str | None = None, param: str | None = None) -> dict:
	return {
		"error": {
			"type": ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error"),
			"message": message or DEFAULT_MESSAGES.get(status, "Error."),
			"param": param,
		}
	}


def error_response(error: ApiError) -> Response:
	response = Response(
		json.dumps(error_body(error.status, error.message, error.param)),
		status=error.status,
		mimetype="application/json",
	)
	for name, value in error.headers.items():
		response.headers[name] = value
	return response


def plain(message) -> str:
	"""A message from frappe.throw, which may carry HTML, as plain text."""
	return html.unescape(strip_html_tags(str(message or ""))).strip()


def database_unavailable(exc: BaseException) -> bool:
	"""The database went away or cannot be reached (a restart, say), rather than refusing a query."""
	for error in (exc, exc.__cause__):
		if isinstance(error, pymysql.err.InterfaceError):
			return True  # the connection was lost earlier in the request and is closed
		if isinstance(error, pymysql.err.MySQLError) and error.args and error.args[0] in DATABASE_GONE_CODES:
			return True
	return False


def database_unavailable_error() -> ApiError:
	return ApiError(503, "The database is unavailable; try again.", headers={"Retry-After": "2"})


def from_exception(exc: Exception) -> ApiError:
	"""What an exception raised while serving a request means to an API client."""
	if isinstance(exc, ApiError):
		return exc
	if database_unavailable(exc):
		return database_unavailable_error()
	if isinstance(exc, AppointmentError):
		return ApiError(exc.http_status_code, plain(exc), exc.fieldname)
	if isinstance(exc, frappe.DoesNotExistError):
		return ApiError(404)
	if isinstance(exc, frappe.PermissionError):
		return ApiError(403, plain(exc) or None)
	if isinstance(exc, (frappe.AuthenticationError, frappe.SessionExpired)):
		return ApiError(401)
	if isinstance(exc, frappe.TimestampMismatchError):
		return ApiError(409, "The appointment was changed by another request at the same time. Retry.")
	if isinstance(exc, frappe.TooManyRequestsError):
		return ApiError(429)
	if isinstance(exc, frappe.MandatoryError):
		return ApiError(400, plain(exc) or None, _mandatory_field(exc))
	if isinstance(exc, frappe.ValidationError):
		return ApiError(400, plain(exc) or None)
	if isinstance(exc, (frappe.QueryDeadlockError, frappe.QueryTimeoutError)) or (
		frappe.db and (frappe.db.is_deadlocked(exc) or frappe.db.is_timedout(exc))
	):
		# The client is told to retry; the site's log says where the lock was, for whoever looks into
		# why writes met (logs/crm_appointments.log; at error level, as Frappe's loggers drop anything
		# less outside developer mode).
		frappe.logger("crm_appointments").error("answered 503 for a lock conflict", exc_info=exc)
		return ApiError(503, headers={"Retry-After": "1"})
	frappe.log_error(title="CRM Appointments API error")
	return ApiError(500)


def _mandatory_field(exc) -> str | None:
	# Frappe says "[CRM Appointment, name]: fieldname, fieldname"
	text = str(exc)
	if "]: " in text:
		return text.split("]: ", 1)[1].split(",")[0].strip() or None
	return None
