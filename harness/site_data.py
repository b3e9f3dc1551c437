"""Site data the tests and the benchmarks both need: an outgoing Email Account, and the removal of
what requests committed."""

import os

import frappe

from crm_appointments.records import status_counts as appointment_counts
from crm_appointments.rest import listing
from crm_appointments.scheduling import timing

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
		frappe.db.delete(
			doctype,
			{**since, "reference_doctype": ("in", ["CRM Appointment", "Event", "CRM Appointment Webhook"])},
		)
	# What a host's form records (its calendar feed turned on or off, say).
	frappe.db.delete("Comment", {**since, "reference_doctype": "CRM Appointment Host"})
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
	# Hosts made since, and what assigning appointments to them made (ToDos, notifications, shares).
	frappe.db.delete("ToDo", {**since, "reference_type": "CRM Appointment"})
	frappe.db.delete("Notification Log", {**since, "document_type": "CRM Appointment"})
	frappe.db.delete("DocShare", {**since, "share_doctype": "CRM Appointment"})
	for host in frappe.get_all("CRM Appointment Host", filters=since, pluck="name"):
		frappe.db.delete("CRM Appointment Host Hours", {"parent": host})
		frappe.db.delete("CRM Appointment Host Time Off", {"parent": host})
		frappe.db.delete("CRM Appointment Host", {"name": host})
		frappe.db.delete("Version", {"ref_doctype": "CRM Appointment Host", "docname": host})
	# Appointment types made since, with their hosts and questions.
	for name in frappe.get_all("CRM Appointment Type", filters=since, pluck="name"):
		for child in ("CRM Appointment Type Host", "CRM Appointment Type Question"):
			frappe.db.delete(child, {"parent": name, "parenttype": "CRM Appointment Type"})
		frappe.db.delete("CRM Appointment Type", {"name": name})
		frappe.db.delete("Version", {"ref_doctype": "CRM Appointment Type", "docname": name})
	timing.forget_types()  # raw deletes: no type hook forgets the cached types
	remove_webhooks_made_since(since)
	# Raw deletes go around the document API, so the REST list's cached totals are told here, and the
	# kept counts recounted (which commits; so would the caller).
	frappe.db.after_commit.add(listing.replace_generation)
	appointment_counts.reconcile()


def remove_webhooks_made_since(since: dict):
	"""Webhooks made since, with their events, secrets and versions; every try to deliver an event made
	since (to any webhook); and the notifications of webhooks switched off."""
	webhook, delivery = "CRM Appointment Webhook", "CRM Appointment Webhook Delivery"
	if not frappe.db.table_exists(delivery):  # a site not yet migrated to webhooks
		return
	frappe.db.delete(delivery, since)
	for name in frappe.get_all(webhook, filters=since, pluck="name"):
		frappe.db.delete("CRM Appointment Webhook Event", {"parent": name, "parenttype": webhook})
		frappe.db.delete(delivery, {"webhook": name})
		frappe.db.delete("__Auth", {"doctype": webhook, "name": name})
		frappe.db.delete("Version", {"ref_doctype": webhook, "docname": name})
		frappe.db.delete(webhook, {"name": name})
	frappe.db.delete("Notification Log", {**since, "document_type": webhook})


def make_desk_user(email: str, first_name: str, *roles: str):
	"""A System User with these roles, made once (a test user, a benchmark's host)."""
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": first_name,
				"send_welcome_email": 0,
				"user_type": "System User",
			}
		).insert(ignore_permissions=True)
	frappe.get_doc("User", email).add_roles(*roles)


def connect(site: str, sites_path: str, user: str = "Administrator"):
	"""Connect this process to the site (a benchmark's set-up), working from the sites folder as
	Frappe expects (it writes its logs relative to it), as `user`."""
	os.chdir(sites_path)
	frappe.init(site=site, sites_path=sites_path)
	frappe.connect()
	frappe.set_user(user)
