"""Uninstalling leaves nothing that points at the app's DocTypes: the parties its appointments named
can be deleted, and installing it again starts clean."""

import time

import frappe
import pytest

from crm_appointments.core import status_workflow as workflow
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.notify import reminders
from tests import factories
from tests.test_install import bench

pytestmark = pytest.mark.slow

APP_MODULE = "CRM Appointments"
KEY_DOCTYPE = "CRM API Key"


def app_doctypes() -> set[str]:
	return set(frappe.get_all("DocType", {"module": APP_MODULE}, pluck="name"))


def pointers_to(doctypes: set[str]) -> list[str]:
	"""Every row of every DocType (read from the meta, so other apps' records count too) whose Link or
	Dynamic Link names one of `doctypes` or one of their records."""
	found = []
	names = list(doctypes)
	for doctype in frappe.get_all("DocType", {"is_virtual": 0}, pluck="name"):
		meta = frappe.get_meta(doctype)
		for field in meta.fields:
			if field.fieldtype == "Link" and field.options in doctypes:
				found.append(f"{doctype}.{field.fieldname} links to {field.options}")
				continue
			if field.fieldtype == "Link" and field.options == "DocType":
				column, values = field.fieldname, names
			elif field.fieldtype == "Dynamic Link" and field.options:
				column, values = field.options, names
			else:
				continue
			if meta.issingle:
				rows = frappe.db.count(
					"Singles", {"doctype": doctype, "field": column, "value": ("in", values)}
				)
			elif frappe.db.table_exists(doctype) and frappe.db.has_column(doctype, column):
				rows = frappe.db.count(doctype, {column: ("in", values)})
			else:
				rows = 0
			if rows:
				# The rows themselves (a few), so a failure says what was left and when it was made.
				sample = (
					[]
					if meta.issingle
					else frappe.get_all(
						doctype, {column: ("in", values)}, ["name", column, "creation", "owner"], limit=3
					)
				)
				found.append(f"{rows} {doctype} rows with {column} among ours, such as {sample}")
	return found


def forget_doc_hooks():
	"""The apps' hooks are kept for the request (frappe.local, which each request or job starts
	afresh) and in the cache; the app was installed or uninstalled in another process, so this
	one forgets them by hand."""
	if hasattr(frappe.local, "request_cache"):
		frappe.local.request_cache.clear()
	frappe.cache.delete_value("app_hooks")
	if hasattr(frappe.local, "doc_events_hooks"):
		del frappe.local.doc_events_hooks


def settle_this_sites_jobs(timeout: int = 60):
	"""Jobs the site queued before (an assignment's notification, which Frappe makes in a job) that a
	running worker (`bench start`'s, on a developer's machine) took during the uninstall would write
	rows for the app's records after its sweep. This site is the tests' own and those jobs are for
	records the tests are done with: the queued ones are dropped, and those a worker is running now
	are waited for."""
	from frappe.utils.background_jobs import get_queues, get_running_jobs_in_queue

	site = frappe.local.site
	for queue in get_queues():
		for job in queue.jobs:
			if job.kwargs.get("site") == site:
				job.delete()
	deadline = time.monotonic() + timeout
	while running := [
		job.kwargs.get("job_name")
		for queue in get_queues()
		for job in get_running_jobs_in_queue(queue)
		if job.kwargs.get("site") == site
	]:
		if time.monotonic() > deadline:
			pytest.fail(f"the running workers did not finish this site's jobs in {timeout} s: {running}")
		time.sleep(0.5)


@pytest.fixture
def contact():
	name = factories.make_contact("Uninstall", "Party", "uninstall-party@example.org")
	yield name
	frappe.db.rollback()
	if frappe.db.exists("Contact", name):
		frappe.delete_doc("Contact", name, force=True, ignore_permissions=True)
	frappe.db.commit()


def test_uninstalling_leaves_nothing_pointing_at_the_app_and_the_party_can_be_deleted(contact):
	started = frappe.utils.now_datetime()
	appointments = [
		factories.in_status(
			status, appointment_with="Contact", party=contact, customer_email=f"u-{status}@example.org"
		)
		for status in workflow.VALUES
	]
	cancelled = factories.make(status="scheduled", appointment_with="Contact", party=contact)
	cancelled.status = "Cancelled"  # its Event is cancelled, not gone, and a cancellation was emailed
	cancelled.save()
	appointments.append(cancelled)
	for doc in appointments:
		reminders.claim(doc.name, 60, doc.scheduled_time, frappe.utils.now_datetime())
		appointment_mail.send_reminder(doc, 60)
		frappe.share.add(doc.doctype, doc.name, factories.USERS["nobody"], read=1, notify=0)
		doc.add_comment("Comment", "a note")
	# One reminder went out; the others wait in the queue.
	sent = frappe.get_all("Email Queue", {"reference_doctype": "CRM Appointment"}, pluck="name", limit=1)[0]
	frappe.db.set_value("Email Queue", sent, "status", "Sent")
	# Someone put a comment of their own on one Event: it stays, as a plain Event.
	kept_event = next(doc.calendar_event for doc in appointments if doc.calendar_event)
	frappe.get_doc("Event", kept_event).add_comment("Comment", "Bring the contract")
	frappe.get_doc(
		{
			"doctype": "User Permission",
			"user": factories.USERS["user"],
			"allow": "CRM Appointment",
			"for_value": appointments[0].name,
		}
	).insert(ignore_permissions=True)
	events = [doc.calendar_event for doc in appointments if doc.calendar_event]
	assert len(events) >= 3
	ours = app_doctypes()
	# The session's API keys (the `keys` fixture) go with the app; they are put back after, so tests
	# that run later in the session still get in.
	api_keys = frappe.get_all(KEY_DOCTYPE, fields=["*"])
	frappe.db.commit()
	settle_this_sites_jobs()
	assert pointers_to(ours), "the set-up attached nothing: this test would prove nothing"

	try:
		bench("uninstall-app", "crm_appointments", "--yes", "--no-backup")
		frappe.clear_cache()
		frappe.local.dynamic_link_map = None
		forget_doc_hooks()

		assert pointers_to(ours) == []
		assert [e for e in events if frappe.db.exists("Event", e)] == [kept_event]
		kept = frappe.get_doc("Event", kept_event)
		assert [(p.reference_doctype, p.reference_docname) for p in kept.event_participants] == [
			("Contact", contact)
		]
		kept.save(ignore_permissions=True)  # a plain Event now, which saves
		assert frappe.db.exists("Email Queue", sent)  # what was sent stays in the log
		assert not frappe.db.exists(
			"Email Queue", {"status": "Not Sent", "reference_name": ("in", [d.name for d in appointments])}
		)
		# The party goes, once the Event the user kept has gone too.
		frappe.delete_doc("Event", kept_event, ignore_permissions=True)
		frappe.delete_doc("Contact", contact)
		frappe.db.commit()

		bench("install-app", "crm_appointments")
		frappe.clear_cache()
		forget_doc_hooks()
		assert frappe.db.count("CRM Appointment") == 0
		assert frappe.db.count("CRM Appointment Reminder") == 0
		assert not frappe.get_all("Deleted Document", {"deleted_doctype": ("in", list(ours))})
		settings = frappe.get_single("CRM Appointment Settings")
		assert [r.minutes_before for r in settings.reminder_offsets] == [1440, 60]
		assert frappe.db.count("List Filter", {"reference_doctype": "CRM Appointment"}) == 2
	finally:
		if "crm_appointments" not in frappe.get_installed_apps():
			bench("install-app", "crm_appointments")
			frappe.clear_cache()
		forget_doc_hooks()
		factories.make_users()
		for row in api_keys:
			if not frappe.db.exists(KEY_DOCTYPE, row.name):
				frappe.get_doc({**row, "doctype": KEY_DOCTYPE}).db_insert()
		since = {"creation": (">=", started)}
		for doctype in (
			"Communication", "Communication Link", "Email Queue", "Email Queue Recipient", "Comment",
			"Deleted Document", "Version", "ToDo", "DocShare", "User Permission", "Event",
			"Event Participants", "CRM Appointment", "CRM Appointment Reminder",
		):  # fmt: skip
			frappe.db.delete(doctype, since)
		frappe.db.commit()
