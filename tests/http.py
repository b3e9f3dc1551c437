"""Requests through Frappe's whole WSGI pipeline (frappe.app.application), as a server would run it.

Each request runs in its own thread, with its own frappe.local and database connection, exactly as
under a real server; so what a test sets up must be committed first (see `api` in conftest.py).
"""

import json as jsonlib
import threading

import frappe
import frappe.app
from werkzeug.test import Client

# The API document's object, in its order (written out here, not read from the code under test),
# then the extension fields contract.md adds.
DOCUMENTED_KEYS = [
	"id",
	"created_at",
	"updated_at",
	"customer_name",
	"customer_phone_number",
	"customer_skype",
	"customer_details",
	"scheduled_time",
	"status",
	"calendar_event",
	"customer_email",
	"appointment_with",
	"party",
]
EXTENSION_KEYS = ["duration", "host", "appointment_type", "location", "answers"]
OBJECT_KEYS = DOCUMENTED_KEYS + EXTENSION_KEYS


class Api:
	def __init__(self, site: str):
		self.site = site
		self.client = Client(frappe.app.application, use_cookies=False)

	def request(
		self, method, path, *, key=None, auth=None, json=None, data=None, headers=None, refresh=True, **kwargs
	):
		headers = {"X-Frappe-Site-Name": self.site, **(headers or {})}
		if key:
			headers["Authorization"] = f"Bearer {key}"
		if auth:
			headers["Authorization"] = auth
		if json is not None:
			data = jsonlib.dumps(json)
			headers.setdefault("Content-Type", "application/json")
		result = {}

		def run():
			try:
				result["response"] = self.client.open(
					path, method=method, data=data, headers=headers, **kwargs
				)
			except BaseException as exc:  # surfaced in the test's thread below
				result["error"] = exc

		thread = threading.Thread(target=run)
		thread.start()
		thread.join(timeout=120)
		if "error" in result:
			raise result["error"]
		if refresh:  # a fresh snapshot, so the test sees what the request committed
			frappe.db.rollback()
		return result["response"]

	def get(self, path, **kw):
		return self.request("GET", path, **kw)

	def post(self, path, **kw):
		return self.request("POST", path, **kw)

	def patch(self, path, **kw):
		return self.request("PATCH", path, **kw)

	def delete(self, path, **kw):
		return self.request("DELETE", path, **kw)


def error_of(response) -> dict:
	"""The error object of a failed response, after checking it has the one error shape."""
	assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
	body = response.get_json()
	assert set(body) == {"error"}, body
	assert set(body["error"]) == {"type", "message", "param"}, body
	assert body["error"]["message"], body
	return body["error"]
