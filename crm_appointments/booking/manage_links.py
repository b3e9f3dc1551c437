"""A booking's manage link, `/book/manage/<token>`: the customer's private credential to read, move
and cancel it (contract.md, "Managing a booking").

The token is random (43 characters), shown only in the customer's email, stored only as its hash
(core/random_ids.hash_secret) in the appointment's `manage_token_hash`, which the controller keeps on
every save. The link is built on the site's configured address (core/site_address.py), never the
request's. An unknown token finds nothing, whatever the reason.
"""

import secrets

import frappe

from crm_appointments.core import site_address
from crm_appointments.core.names import APPOINTMENT
from crm_appointments.core.random_ids import hash_secret as token_hash
from crm_appointments.crm_appointments.doctype.crm_appointment import crm_appointment as controller

TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters of [A-Za-z0-9_-]
MAX_TOKEN_LENGTH = 100
MANAGE_PATH = "/book/manage/"

__all__ = ["find", "manage_url", "new_token", "token_hash"]


def new_token() -> str:
	return secrets.token_urlsafe(TOKEN_BYTES)


def manage_url(token: str) -> str:
	"""The customer's manage link, on the site's configured address."""
	return site_address.url(MANAGE_PATH + token)


def find(token: str, for_update: bool = False):
	"""The appointment the token manages, or None (whatever the reason)."""
	if not token or len(token) > MAX_TOKEN_LENGTH:
		return None
	name = frappe.db.get_value(APPOINTMENT, {"manage_token_hash": token_hash(token)}, "name")
	if not name:
		return None
	return controller.get_for_update(name) if for_update else frappe.get_doc(APPOINTMENT, name)
