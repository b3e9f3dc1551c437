"""Test set-up: a real Frappe site (CRM_TEST_SITE, made by scripts/test.sh) on MariaDB and Redis.

Every test runs in a transaction that is rolled back afterwards, so it leaves the site as it found it.
Users with each role are made once per session and removed at the end.
"""

import os

import frappe
import pytest
import requests

from harness import site_data
from tests import factories

SITE = os.environ.get("CRM_TEST_SITE")
SITES_PATH = os.environ.get("CRM_SITES_PATH")


def pytest_configure(config):
	if not SITE or not SITES_PATH:
		raise pytest.UsageError(
			"CRM_TEST_SITE and CRM_SITES_PATH are not set: run the suite with scripts/test.sh"
		)


def pytest_report_header(config):
	import crm_appointments

	return f"site: {SITE}; crm_appointments from {os.path.dirname(crm_appointments.__file__)}"


@pytest.fixture(scope="session", autouse=True)
def site():
	os.chdir(SITES_PATH)  # Frappe writes its logs relative to the sites folder
	frappe.init(site=SITE, sites_path=SITES_PATH)
	frappe.connect()
	frappe.set_user("Administrator")
	appointments_before = frappe.db.count("CRM Appointment")
	factories.make_users()
	site_data.make_outbox()
	frappe.db.commit()
	yield SITE
	frappe.db.rollback()
	frappe.set_user("Administrator")
	factories.delete_users()
	site_data.delete_outbox()
	frappe.db.commit()
	leftovers = frappe.db.count("CRM Appointment") - appointments_before
	frappe.destroy()
	assert leftovers == 0, f"the tests left {leftovers} appointments behind"


@pytest.fixture(autouse=True)
def rollback():
	"""Each test starts as Administrator with no messages and ends rolled back, with the rate limits'
	counters (Redis, per address, email and token: rest/rate_limits.py) and the test users' cached
	roles gone, so that what one test spent or changed does not reach the next."""
	frappe.set_user("Administrator")
	frappe.clear_messages()
	yield
	frappe.db.rollback()
	frappe.set_user("Administrator")
	frappe.clear_messages()
	try:
		frappe.cache.delete_keys("rl:")
		# A test that changed a user's roles and rolled the change back leaves no cached roles behind.
		for user in [*factories.USERS.values(), factories.OUTSIDER]:
			frappe.cache_manager.clear_user_cache(user)
	except Exception:  # a test that took Redis away: nothing was counted or cached there
		pass


@pytest.fixture
def committed(site):
	"""For tests whose code under test commits (requests, the reminder job): what they made is removed."""
	from frappe.utils import now_datetime

	started = now_datetime()
	yield started
	frappe.db.rollback()
	site_data.remove_made_since(started)
	frappe.db.commit()


@pytest.fixture
def api(site, committed):
	"""A client for the REST API through Frappe's full request pipeline.

	Requests see only committed data, so tests using it commit; everything they made is removed.
	"""
	from tests.http import Api

	return Api(site)


@pytest.fixture(scope="session")
def keys(site):
	"""A secret key per test user: keys["manager"], keys["user"], keys["nobody"]."""
	issued = factories.issue_keys()
	frappe.db.commit()
	yield issued
	factories.revoke_keys()
	frappe.db.commit()


@pytest.fixture(scope="session")
def live_server(site):
	"""A production-style server (gunicorn, two workers) for the test site on a loopback port. While it
	runs it is the site's address (`host_name`), as a site's configured address is the one it is served
	at: the links it makes (a feed's address, the links in mail) open on it."""
	from frappe.installer import update_site_config

	from harness.live_server import start_live_server, stop_live_server

	server, base = start_live_server(SITE, SITES_PATH)
	configured = frappe.get_site_config().get("host_name")
	update_site_config("host_name", base)
	frappe.local.conf.host_name = base
	yield base
	update_site_config("host_name", configured if configured else "None")
	frappe.local.conf.host_name = configured
	stop_live_server(server)


@pytest.fixture
def client(api, keys, live_server):
	"""(session factory, base URL of the appointments route) for the manager's key."""

	def session():
		s = requests.Session()
		s.headers["Authorization"] = f"Bearer {keys['manager']}"
		return s

	return session, f"{live_server}/api/crm/appointment"


@pytest.fixture
def as_user():
	"""Switch the acting user for the rest of the test: as_user("manager"|"user"|"nobody")."""

	def switch(kind: str):
		frappe.set_user(factories.USERS[kind])

	return switch


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
	"""Keep each phase's report on the test, so fixtures can tell whether it failed."""
	report = yield
	setattr(item, f"report_{report.when}", report)
	return report
