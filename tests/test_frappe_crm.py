"""Beside Frappe CRM: both apps install in either order, appointments with a CRM Lead or a CRM Deal
work, and uninstalling this app leaves nothing that stops the lead or the deal being deleted.

Each test makes a site of its own with both apps and drops it at the end. Frappe CRM must be in the
bench: scripts/test.sh puts it there when FRAPPE_CRM_REPO names a git repository of it.
"""

import glob
import json
import os
import subprocess
import uuid
from contextlib import contextmanager

import frappe
import pytest

from crm_appointments.core.party import party_doctypes
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.notify import reminders
from harness import site_data
from tests import factories
from tests.test_install import bench
from tests.test_uninstall import app_doctypes, pointers_to

if not os.environ.get("FRAPPE_CRM_REPO"):
	pytest.skip(
		"FRAPPE_CRM_REPO is not set: point it at a git repository of Frappe CRM (and FRAPPE_CRM_REF at "
		"a tag, default v1.34.14) and scripts/test.sh installs Frappe CRM in the bench for these tests",
		allow_module_level=True,
	)

pytestmark = pytest.mark.slow

APP = "crm_appointments"
CRM = "crm"


def admin_bench(*args):
	"""A bench command that creates or drops a site, with the MariaDB account scripts/test.sh set up."""
	password = open(os.environ["CRM_DB_ADMIN_PASSWORD_FILE"]).read().strip()
	return subprocess.run(
		[
			"bench",
			*args,
			"--db-root-username",
			os.environ["CRM_DB_ADMIN_USER"],
			"--db-root-password",
			password,
		],
		cwd=os.environ["FRAPPE_BENCH"],
		capture_output=True,
		text=True,
		timeout=900,
		check=True,
	)


@pytest.fixture(params=[(CRM, APP), (APP, CRM)], ids=["crm-installed-first", "crm-installed-second"])
def site_with_both_apps(request):
	"""A new site with Frappe CRM and this app, installed in the order given; dropped afterwards."""
	import crm  # Frappe CRM must be in the bench's Python: scripts/test.sh installs it

	assert crm.__file__
	name = f"crm-fcrm-{uuid.uuid4().hex[:8]}.localhost"
	install = [arg for app in request.param for arg in ("--install-app", app)]
	frappe.db.commit()
	try:
		try:
			admin_bench(
				"new-site", name, "--admin-password", "admin", "--mariadb-user-host-login-scope=%", *install
			)
		except subprocess.CalledProcessError as error:
			pytest.fail(
				f"bench new-site with {request.param} failed:\n{error.stdout[-3000:]}\n{error.stderr[-3000:]}"
			)
		yield name, request.param
	finally:
		try:
			admin_bench("drop-site", name, "--force", "--no-backup")
		except subprocess.CalledProcessError:
			pass
		bench_dir = os.environ["FRAPPE_BENCH"]
		subprocess.run(
			[
				"rm",
				"-rf",
				os.path.join(bench_dir, "sites", name),
				os.path.join(bench_dir, "archived_sites", name),
			],
			check=False,
		)


@contextmanager
def on_site(name: str):
	"""Work on another site of the bench for a while; back on the test site afterwards."""
	home, sites_path = frappe.local.site, frappe.local.sites_path
	frappe.db.commit()
	frappe.destroy()
	frappe.init(site=name, sites_path=sites_path)
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		yield
	finally:
		frappe.db.rollback()
		frappe.destroy()
		frappe.init(site=home, sites_path=sites_path)
		frappe.connect()
		frappe.set_user("Administrator")


def doctypes_in_files(app: str) -> set[str]:
	"""The DocTypes an app ships, from its DocType JSON files."""
	names = set()
	for path in glob.glob(
		os.path.join(frappe.get_app_path(app), "**", "doctype", "*", "*.json"), recursive=True
	):
		with open(path) as f:
			data = json.load(f)
		if isinstance(data, dict) and data.get("doctype") == "DocType":
			names.add(data["name"])
	return names


def app_of(doctype: str) -> str | None:
	module = frappe.db.get_value("DocType", doctype, "module")
	return module and frappe.db.get_value("Module Def", module, "app_name")


def appointment_with(party, email: str):
	doc = factories.make(
		status="scheduled", appointment_with=party.doctype, party=party.name, customer_email=email
	)
	assert doc.calendar_event
	participants = frappe.get_all(
		"Event Participants", {"parent": doc.calendar_event}, ["reference_doctype", "reference_docname"]
	)
	assert {(p.reference_doctype, p.reference_docname) for p in participants} >= {(party.doctype, party.name)}
	reminders.claim(doc.name, 60, doc.scheduled_time, frappe.utils.now_datetime())
	appointment_mail.send_reminder(doc, 60)
	frappe.desk.form.assign_to.add(
		{"assign_to": ["Administrator"], "doctype": doc.doctype, "name": doc.name, "description": "Prepare"}
	)
	doc.add_comment("Comment", "a note")
	return doc


def test_beside_frappe_crm_appointments_with_a_lead_and_a_deal_uninstall_and_leave_them_deletable(
	site_with_both_apps,
):
	site, order = site_with_both_apps
	with on_site(site):
		assert set(frappe.get_installed_apps()) >= {CRM, APP}
		# No name clash: every DocType of each app is installed, and as that app's.
		for app in (CRM, APP):
			shipped = doctypes_in_files(app)
			assert shipped
			assert {dt: app_of(dt) for dt in shipped} == dict.fromkeys(shipped, app), order
		assert party_doctypes() == ["Contact", "CRM Lead", "CRM Deal"]

		site_data.make_outbox()
		lead = frappe.get_doc(
			{
				"doctype": "CRM Lead",
				"first_name": "Uninstall",
				"last_name": "Lead",
				"email": "lead@example.org",
			}
		).insert()
		deal = frappe.get_doc({"doctype": "CRM Deal"}).insert()
		appointments = [
			appointment_with(lead, "lead@example.org"),
			appointment_with(deal, "deal@example.org"),
		]
		events = [doc.calendar_event for doc in appointments]
		# One reminder went out; the other waits in the queue.
		sent = frappe.get_all("Email Queue", {"reference_doctype": "CRM Appointment"}, pluck="name")
		assert len(sent) == 2
		frappe.db.set_value("Email Queue", sent[0], "status", "Sent")
		ours = app_doctypes()
		frappe.db.commit()
		assert pointers_to(ours), "the set-up attached nothing: this test would prove nothing"

		bench("uninstall-app", APP, "--yes", "--no-backup")
		frappe.clear_cache()
		frappe.local.dynamic_link_map = None

		assert APP not in frappe.get_installed_apps()
		assert pointers_to(ours) == []
		assert [e for e in events if frappe.db.exists("Event", e)] == []
		assert frappe.db.exists("Email Queue", sent[0])  # what was sent stays in the log
		frappe.delete_doc("CRM Deal", deal.name)
		frappe.delete_doc("CRM Lead", lead.name)
		frappe.db.commit()

		bench("install-app", APP)
		frappe.clear_cache()
		assert frappe.db.count("CRM Appointment") == 0
		assert party_doctypes() == ["Contact", "CRM Lead", "CRM Deal"]
