"""Authentication for the app's routes.

Frappe itself handles `token key:secret`, OAuth2 bearer tokens and session cookies (with its CSRF
rule). This adds the app's own secret keys (`Authorization: Bearer sk_...`), as an `auth_hooks`
entry, for /api/crm/ routes only.
"""

import frappe

from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import user_for_key

API_PREFIX = "/api/crm/"


def authenticate():
	request = frappe.request
	if not request or not request.path.startswith(API_PREFIX):
		return
	scheme, _, credentials = (frappe.get_request_header("Authorization") or "").partition(" ")
	if scheme.lower() != "bearer" or not credentials.startswith("sk_"):
		return
	user = user_for_key(credentials.strip())
	if user:
		frappe.set_user(user)
		frappe.local.crm_api_key_user = user
