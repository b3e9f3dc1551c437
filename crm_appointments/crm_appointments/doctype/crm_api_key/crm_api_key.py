# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""Secret keys for the REST API: `Authorization: Bearer sk_live_...`.

A key is `sk_<mode>_<id>_<secret>`. Only a SHA-256 hash of it is stored; the whole key is shown once,
when it is issued. Keys are bound to a user, act with that user's permissions, work only on the
app's routes (/api/crm/...), and can be revoked.

Who may hold which key: anyone whose roles let them use keys (the DocType's permissions) issues,
sees and revokes their own; only a System Manager issues, sees or revokes another user's. A key
acts as its user, so minting one for someone else would be acting as them.
"""

import hmac
import re
import string

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import add_to_date, get_datetime, now_datetime

from crm_appointments.core.names import API_KEY
from crm_appointments.core.random_ids import hash_secret as hash_key
from crm_appointments.core.random_ids import random_part

KEY_PATTERN = re.compile(r"^sk_(live|test)_([a-z0-9]{12})_([A-Za-z0-9]{32})$")
LAST_USED_GRANULARITY_SECONDS = 60


class CRMAPIKey(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		key_hint: DF.Data | None
		label: DF.Data | None
		last_used_at: DF.Datetime | None
		mode: DF.Literal["live", "test"]
		revoked: DF.Check
		revoked_at: DF.Datetime | None
		secret_hash: DF.Data | None
		user: DF.Link
	# end: auto-generated types

	def autoname(self):
		self.name = random_part(12)

	def make_secret(self):
		key = f"sk_{self.mode}_{self.name}_{random_part(32, string.ascii_letters + string.digits)}"
		self.secret_hash = hash_key(key)
		self.key_hint = f"sk_{self.mode}_{self.name}_…"
		self.flags.plain_key = key  # shown once, by issue_key; never stored

	def after_insert(self):
		if not self.flags.issued_by_api:  # made from the form: show the key there, once
			frappe.msgprint(
				_("Copy the key now; this is the only time it is shown:")
				+ f"<pre>{frappe.utils.escape_html(self.flags.plain_key)}</pre>",
				title=_("API key issued"),
			)

	def validate(self):
		if self.is_new():
			self.validate_issuer()
		if self.is_new() and not self.secret_hash:
			self.make_secret()
		if frappe.db.get_value("User", self.user, "enabled") != 1 or self.user == "Guest":
			frappe.throw(_("Keys can only be issued for enabled users."))
		if not self.is_new():
			before = self.get_doc_before_save()
			if before.secret_hash != self.secret_hash:
				frappe.throw(_("A key's secret cannot be changed; issue a new key instead."))
			if before.revoked and not self.revoked:
				frappe.throw(_("A revoked key stays revoked; issue a new key instead."))

	def validate_issuer(self):
		if not may_manage_keys_of(self.user):
			frappe.throw(_("Only a System Manager may issue a key for another user."), frappe.PermissionError)

	@frappe.whitelist()
	def revoke(self):
		self.check_permission("write")
		self.revoked = 1
		self.revoked_at = now_datetime()
		self.save()


@frappe.whitelist(methods=["POST"])
def issue_key(user: str, mode: str = "live", label: str | None = None) -> dict:
	"""Issue a key for `user`. The returned `key` is the only time the secret is ever shown."""
	doc = frappe.get_doc({"doctype": API_KEY, "user": user, "mode": mode, "label": label})
	doc.flags.issued_by_api = True
	doc.insert()
	return {"name": doc.name, "key": doc.flags.plain_key, "user": doc.user}


def may_manage_keys_of(user: str, by: str | None = None) -> bool:
	"""Whether `by` (the session user) may issue, see and revoke `user`'s keys."""
	by = by or frappe.session.user
	return user == by or "System Manager" in frappe.get_roles(by)


def has_permission(doc, ptype=None, user=None, debug=False) -> bool:
	"""hooks.py: a key is another user's business only for a System Manager."""
	return may_manage_keys_of(doc.user, user) if doc.user else True


def get_permission_query_conditions(user=None) -> str:
	"""hooks.py: lists (the desk's included) show a user their own keys; a System Manager all."""
	user = user or frappe.session.user
	if "System Manager" in frappe.get_roles(user):
		return ""
	return f"`tabCRM API Key`.`user` = {frappe.db.escape(user)}"


def user_for_key(key: str) -> str | None:
	"""The user a presented key acts as, or None when it is malformed, unknown, revoked or wrong."""
	match = KEY_PATTERN.match(key or "")
	if not match:
		return None
	# One plain query on every API request: the key and whether its user is enabled.
	rows = frappe.db.sql(
		"""select k.user, k.secret_hash, k.revoked, k.mode, k.last_used_at, u.enabled
		from `tabCRM API Key` k join `tabUser` u on u.name = k.user
		where k.name = %s""",
		match.group(2),
		as_dict=True,
	)
	row = rows[0] if rows else None
	if not row or row.revoked or row.mode != match.group(1) or row.enabled != 1:
		return None
	if not hmac.compare_digest(row.secret_hash or "", hash_key(key)):
		return None
	record_use(match.group(2), row.last_used_at)
	return row.user


def record_use(name: str, last_used_at):
	"""Keep last_used_at to the minute, without a write on every request."""
	now = now_datetime()
	if last_used_at and get_datetime(last_used_at) > add_to_date(now, seconds=-LAST_USED_GRANULARITY_SECONDS):
		return
	frappe.db.set_value(API_KEY, name, "last_used_at", now, update_modified=False)
	frappe.db.commit()  # its own transaction: kept whatever the request then does
