"""Idempotency-Key on POST: a retry with the same key and body gets the first response and creates
nothing; the same key with another body is a 409. Keys are kept for at least 24 hours.

A key is claimed by inserting its row (the primary key makes the claim atomic) and committing before
the work starts, so two identical requests arriving at once cannot both create.
"""

import hashlib
import json

import frappe
from frappe.utils import add_to_date, now_datetime

from crm_appointments.core.names import IDEMPOTENCY_KEY as DOCTYPE
from crm_appointments.records.insert_once import insert_if_absent, rows_affected
from crm_appointments.rest.errors import ApiError

TABLE = f"tab{DOCTYPE}"
KEEP_HOURS = 24
# A claim whose request died without finishing may be taken over after this long.
ABANDONED_AFTER_SECONDS = 60
MAX_KEY_LENGTH = 255


def _row_name(user: str, key: str) -> str:
	return hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()


def _owner_of_keys() -> str:
	"""Whose keys these are: the user's; a guest's (self-service booking) are their client address's,
	so two visitors who pick the same key do not replay each other's answers."""
	user = frappe.session.user
	return f"{user}@{frappe.local.request_ip}" if user == "Guest" else user


def request_hash(method: str, path: str, body) -> str:
	return hashlib.sha256(json.dumps([method, path, body], sort_keys=True).encode()).hexdigest()


def claim(key: str, fingerprint: str):
	"""Claim `key` for this request. Returns (claim name, None) to go ahead, or (None, (status, body))
	to replay the first response."""
	if not key.strip() or len(key) > MAX_KEY_LENGTH:
		raise ApiError(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", "Idempotency-Key")
	name = _row_name(_owner_of_keys(), key)
	now = now_datetime()
	user = frappe.session.user
	row = {"name": name, "creation": now, "modified": now, "owner": user, "modified_by": user}
	if insert_if_absent(DOCTYPE, {**row, "request_hash": fingerprint, "state": "in_progress"}):
		# Committed before the work, not at the request's end: a twin request must see the claim
		# (and wait or replay) while this one works.
		frappe.db.commit()
		return name, None

	# Someone holds the key. End this transaction (and the shared lock the insert took), then read
	# the committed row afresh: claims are committed before their work starts.
	frappe.db.rollback()
	row = frappe.db.sql(
		f"select request_hash, state, response_status, response_body from `{TABLE}` where name=%s",
		name,
		as_dict=True,
	)
	if not row:  # expired and removed in between: claim it anew
		return claim(key, fingerprint)
	row = row[0]
	if row.request_hash != fingerprint:
		raise ApiError(409, "This Idempotency-Key was used with a different request.", "Idempotency-Key")
	if row.state == "done":
		return None, (row.response_status, row.response_body)
	# Still in progress: take it over only if its request died long enough ago (one winner: the
	# conditional update).
	frappe.db.sql(
		f"""update `{TABLE}` set modified=%s
		where name=%s and state='in_progress' and modified < %s""",
		(now, name, add_to_date(now, seconds=-ABANDONED_AFTER_SECONDS)),
	)
	if rows_affected() == 1:
		frappe.db.commit()  # the take-over is a claim like the first: committed before the work
		return name, None
	frappe.db.rollback()
	raise ApiError(
		409, "A request with this Idempotency-Key is still in progress. Retry shortly.", "Idempotency-Key"
	)


def finish(claim: str, status: int, body: str):
	"""Store the response in the same transaction as the work it describes."""
	frappe.db.sql(
		f"""update `{TABLE}` set state='done', response_status=%s, response_body=%s, modified=%s
		where name=%s""",
		(status, body, now_datetime(), claim),
	)


def release(claim: str):
	"""The request failed and wrote nothing: free the key so a retry runs again."""
	frappe.db.rollback()
	frappe.db.sql(f"delete from `{TABLE}` where name=%s", claim)
	frappe.db.commit()  # the failed request's rollback is done; the freed key must outlive it


def delete_expired():
	"""Daily: forget keys older than KEEP_HOURS."""
	frappe.db.sql(
		f"delete from `{TABLE}` where creation < %s", add_to_date(now_datetime(), hours=-KEEP_HOURS)
	)
