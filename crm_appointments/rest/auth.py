"""Authentication for the app's routes.

Frappe itself handles `token key:secret`, OAuth2 bearer tokens and session cookies (with its CSRF
rule). This adds the app's own secret keys (`Authorization: Bearer sk_...`) on /api/crm/ routes.

It runs as a before_request hook, ahead of Frappe's validate_auth: a valid key sets the user and
takes the header out of the request, so Frappe does not also look the key up as an OAuth token
(a quarter of the request's time). A malformed, unknown or revoked key is left in place, so
Frappe refuses it as it refuses any bad bearer token: 401.
"""

import frappe

from crm_appointments.core import frappe_adapter
from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import user_for_key
from crm_appointments.rest.errors import database_unavailable
from crm_appointments.rest.lifecycle import database_went_away, is_ours


def authenticate():
	request = frappe.request
	if not is_ours(request):
		return
	scheme, _, credentials = (request.environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
	if scheme.lower() != "bearer" or not credentials.startswith("sk_"):
		return
	try:
		user = user_for_key(credentials.strip())
	except Exception as exc:
		# Usually the request's first query: where a database restart shows first.
		if database_unavailable(exc):
			database_went_away()
		raise
	if user:
		frappe.set_user(user)
		frappe.local.crm_api_key_user = user
		frappe_adapter.take_authorization_header(request)
