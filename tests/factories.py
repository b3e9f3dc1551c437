"""Builders for test data: appointments in any status, and users with each role."""

from contextlib import contextmanager
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from harness.site_data import make_desk_user

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


# A desk user with no CRM role: the desk opens for them (a Blogger), no appointment is theirs to read.
# ("nobody" has no role at all, so Frappe makes them a website user.)
OUTSIDER = "crm-test-outsider@example.com"


def make_users():
	for kind, email in USERS.items():
		make_desk_user(email, f"CRM test {kind}", *ROLES[kind])
	make_desk_user(OUTSIDER, "CRM test outsider", "Blogger")


def delete_users():
	for email in [*USERS.values(), OUTSIDER]:
		if frappe.db.exists("User", email):
			frappe.delete_doc("User", email, ignore_permissions=True, force=True)


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
	"""An Authorization header with Frappe's own `token key:secret` for the test user `kind` (or a
	user id) (committed: requests see only committed data)."""
	from frappe.core.doctype.user.user import generate_keys

	user = USERS.get(kind, kind)
	secret = generate_keys(user)["api_secret"]
	api_key = frappe.db.get_value("User", user, "api_key")
	frappe.db.commit()
	return f"token {api_key}:{secret}"


def make_contact(first_name: str, last_name: str, email: str) -> str:
	"""A committed Contact to be an appointment's party; its name."""
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": first_name,
			"last_name": last_name,
			"email_ids": [{"email_id": email, "is_primary": 1}],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return contact.name


EVERY_DAY_ALL_DAY = [(day, "00:00:00", "00:00:00") for day in range(7)]


def host(kind_or_user: str = "user", hours=EVERY_DAY_ALL_DAY, time_zone=None, time_off=(), enabled=1):
	"""A saved CRM Appointment Host for a test user (`kind` of USERS, or a user id), replacing any
	they had. `hours` are (weekday 0-6, from, to) rows; the default is the whole week."""
	from crm_appointments.scheduling.availability import WEEKDAYS

	user = USERS.get(kind_or_user, kind_or_user)
	if frappe.db.exists("CRM Appointment Host", user):
		frappe.db.delete("CRM Appointment Host Hours", {"parent": user})
		frappe.db.delete("CRM Appointment Host Time Off", {"parent": user})
		frappe.db.delete("CRM Appointment Host", user)
	doc = frappe.get_doc(
		{
			"doctype": "CRM Appointment Host",
			"user": user,
			"enabled": enabled,
			"time_zone": time_zone,
			"working_hours": [
				{"day_of_week": WEEKDAYS[day], "from_time": start, "to_time": end}
				for day, start, end in hours
			],
			"time_off": [{"from_datetime": a, "to_datetime": b} for a, b in time_off],
		}
	)
	return doc.insert(ignore_permissions=True)


@contextmanager
def booking_settings(**values):
	"""CRM Appointment Settings with these values, committed (servers read them), put back after."""
	settings = "CRM Appointment Settings"
	before = {field: frappe.db.get_single_value(settings, field) for field in values}
	from crm_appointments.www.book.page_context import clear_page_cache

	for field, value in values.items():
		frappe.db.set_single_value(settings, field, value)
	frappe.clear_document_cache(settings, settings)
	clear_page_cache()  # as saving the settings does
	frappe.db.commit()
	try:
		yield
	finally:
		frappe.db.rollback()
		for field, value in before.items():
			frappe.db.set_single_value(settings, field, value)
		frappe.clear_document_cache(settings, settings)
		clear_page_cache()
		frappe.db.commit()


@contextmanager
def site_config(key: str, value):
	"""A site config value for this process and for the servers it starts (they read site_config.json),
	put back after. (Frappe's update_site_config(key, "None") removes the key from the file but leaves
	the string "None", which is truthy, in this process's frappe.local.conf.)"""
	from frappe.installer import update_site_config

	before = frappe.get_site_config().get(key)
	update_site_config(key, value)
	try:
		yield
	finally:
		update_site_config(key, "None" if before is None else before)
		if before is None:
			frappe.local.conf.pop(key, None)
