"""Builders for test data: appointments in any status, and users with each role."""

from contextlib import contextmanager
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from crm_appointments import appointment_counts
from crm_appointments.rest import listing

USERS = {
	"manager": "crm-test-manager@example.com",
	"user": "crm-test-user@example.com",
	"nobody": "crm-test-nobody@example.com",
}
ROLES = {
	"manager": ["CRM Appointment Manager"],
	"user": ["CRM Appointment User"],
	"nobody": [],
}


def make_users():
	for kind, email in USERS.items():
		if not frappe.db.exists("User", email):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": email,
					"first_name": f"CRM test {kind}",
					"send_welcome_email": 0,
					"user_type": "System User",
				}
			).insert(ignore_permissions=True)
		user = frappe.get_doc("User", email)
		user.add_roles(*ROLES[kind])


def delete_users():
	for email in USERS.values():
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, ignore_permissions=True, force=True)


OUTBOX = "CRM Test Outbox"


def make_outbox():
	"""A default outgoing Email Account, so mail is queued (nothing sends it: no worker flushes it)."""
	if frappe.db.exists("Email Account", OUTBOX):
		return
	account = frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_account_name": OUTBOX,
			"email_id": "outbox@example.org",
			"enable_outgoing": 1,
			"default_outgoing": 1,
			"smtp_server": "127.0.0.1",
			"smtp_port": 1025,
			"no_smtp_authentication": 1,
		}
	)
	account.flags.ignore_validate = True  # it would try to log in to the SMTP server
	account.insert(ignore_permissions=True)


def delete_outbox():
	frappe.db.delete("Email Account", {"name": OUTBOX})
	frappe.cache.delete_value("outgoing_email_account")


def future(**delta):
	"""A time ahead of now: a day, or the timedelta arguments given."""
	return (now_datetime() + timedelta(**(delta or {"days": 1}))).replace(microsecond=0)


def past(**delta):
	"""A time behind now: a day, or the timedelta arguments given."""
	return (now_datetime() - timedelta(**(delta or {"days": 1}))).replace(microsecond=0)


def appointment(**fields):
	"""An unsaved appointment with valid defaults; `fields` override them."""
	values = {
		"doctype": "CRM Appointment",
		"customer_name": "Ada Lovelace",
		"customer_email": "ada@example.com",
		"scheduled_time": future(),
		"status": "Draft",
	}
	values.update(fields)
	return frappe.get_doc(values)


def api_body(**fields):
	"""A valid create body for the REST API (its formats: status value, ISO time in UTC); `fields`
	override it."""
	return {
		"customer_name": "Ada Lovelace",
		"customer_email": "ada@example.com",
		"scheduled_time": "2031-01-15T09:30:00Z",
		"status": "draft",
		**fields,
	}


def make(**fields):
	return appointment(**fields).insert()


def in_status(status: str, **fields):
	"""A saved appointment that has reached `status` (an API value) the way a user would get it there."""
	if status in ("completed", "no_show"):
		return make(status=status, scheduled_time=past(), **fields)
	if status == "cancelled":
		doc = make(status="draft", **fields)
		doc.status = "cancelled"
		doc.save()
		return doc
	return make(status=status, **fields)


def let_time_pass(doc):
	"""Move the stored start into the past, as the clock would, without a save."""
	frappe.db.set_value(doc.doctype, doc.name, "scheduled_time", past(hours=1), update_modified=False)
	doc.reload()
	return doc


def stored(doc, fieldname):
	"""What the database holds now, not what the document object says."""
	return frappe.db.get_value(doc.doctype, doc.name, fieldname)


def commit(doc):
	frappe.db.commit()
	return doc


def remove_made_since(started):
	"""Delete what HTTP tests committed: appointments, their versions and deleted copies, API records."""
	names = frappe.get_all("CRM Appointment", filters={"creation": (">=", started)}, pluck="name")
	deleted = frappe.get_all(
		"Deleted Document",
		filters={"deleted_doctype": "CRM Appointment", "creation": (">=", started)},
		pluck="deleted_name",
	)
	since = {"creation": (">=", started)}
	events = frappe.get_all("Event", filters=since, pluck="name")
	for name in names:
		frappe.db.delete("CRM Appointment", {"name": name})
	frappe.db.delete("CRM Appointment Reminder", since)
	for doctype in ("Communication", "Comment", "Email Queue"):
		frappe.db.delete(doctype, {**since, "reference_doctype": ("in", ["CRM Appointment", "Event"])})
	frappe.db.delete("Email Queue Recipient", since)
	frappe.db.delete("Communication Link", since)
	for name in events:
		frappe.db.delete("Event Participants", {"parent": name})
		frappe.db.delete("Event", {"name": name})
	frappe.db.delete("Deleted Document", {**since, "deleted_doctype": ("in", ["Event", "Communication"])})
	for name in {*names, *deleted}:
		frappe.db.delete("Version", {"ref_doctype": "CRM Appointment", "docname": name})
		frappe.db.delete("Deleted Document", {"deleted_doctype": "CRM Appointment", "deleted_name": name})
	frappe.db.delete("CRM API Idempotency Key", {"creation": (">=", started)})
	# Raw deletes go around the document API, so the REST list's cached totals are told here, and the
	# kept counts recounted (which commits; so would the caller).
	frappe.db.after_commit.add(listing.replace_generation)
	appointment_counts.reconcile()


def issue_keys() -> dict:
	from crm_appointments.crm_appointments.doctype.crm_api_key.crm_api_key import issue_key

	return {kind: issue_key(email, "test", f"pytest {kind}")["key"] for kind, email in USERS.items()}


def revoke_keys():
	frappe.db.delete("CRM API Key", {"user": ("in", list(USERS.values()))})


@contextmanager
def user_permission(kind: str, appointment: str):
	"""A committed User Permission limiting the test user `kind` to one appointment, removed after."""
	permission = frappe.get_doc(
		{
			"doctype": "User Permission",
			"user": USERS[kind],
			"allow": "CRM Appointment",
			"for_value": appointment,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		yield permission
	finally:
		frappe.db.rollback()
		frappe.delete_doc("User Permission", permission.name, force=True, ignore_permissions=True)
		frappe.db.commit()


def frappe_token(kind: str) -> str:
	"""An Authorization header with Frappe's own `token key:secret` for the test user `kind`
	(committed: requests see only committed data)."""
	from frappe.core.doctype.user.user import generate_keys

	secret = generate_keys(USERS[kind])["api_secret"]
	api_key = frappe.db.get_value("User", USERS[kind], "api_key")
	frappe.db.commit()
	return f"token {api_key}:{secret}"
