"""A host's outside calendar in the desk (desk/calendar_connection.py, desk/busy_blocks.py), called as
the desk calls them (Frappe's whole HTTP pipeline, Frappe's token authentication), against a Radicale of
the module's own (tests/radicale_server.py) filled through the caldav library.

Who may: the host themself and Managers, for hosts they may read; not Guest, not a desk user with no CRM
role, not another host, not a Manager narrowed by User Permissions to other hosts. The password never
comes back, and goes only to the address it was saved for. The grey blocks carry times, nothing else.
"""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import now_datetime

from crm_appointments.core import outbound
from crm_appointments.scheduling import caldav_busy
from crm_appointments.scheduling.host_calendars import to_site
from harness.live_server import free_port
from harness.site_data import make_desk_user
from tests import factories
from tests.factories import OUTSIDER, USERS
from tests.radicale_server import Radicale, one_event

pytestmark = pytest.mark.slow

HOST = "CRM Appointment Host"
HOLDER = USERS["user"]  # a host who is a CRM Appointment User
MANAGER = USERS["manager"]  # a CRM Appointment Manager (a host too)
COLLEAGUE = "crm-test-colleague@example.com"  # another host, a CRM Appointment User
METHOD = "/api/method/crm_appointments.desk"
CONNECTION = f"{METHOD}.calendar_connection"
BLOCKS = f"{METHOD}.busy_blocks.busy_blocks"
DAV_USER, DAV_PASSWORD = "ana", "radicale-Secret-42"
BERLIN = ZoneInfo("Europe/Berlin")
SECRET_TITLE = "Dentist, root canal"


def tomorrow_at(hour: int) -> datetime:
	day = (datetime.now(BERLIN) + timedelta(days=1)).date()
	return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def event_ical(uid: str, summary: str, start: datetime, end: datetime) -> str:
	"""One event, its times in UTC."""
	return one_event(uid, start.astimezone(UTC), end.astimezone(UTC), summary=summary)


@pytest.fixture(scope="module")
def radicale(site):
	"""Radicale with a user and their calendar "Work", holding a meeting tomorrow 10:00-11:00 Berlin."""
	server = Radicale({DAV_USER: DAV_PASSWORD}).start()
	try:
		calendar = server.make_calendar(DAV_USER, "Work")
		start = tomorrow_at(10)
		calendar.save_event(event_ical("dentist-1", SECRET_TITLE, start, start + timedelta(hours=1)))
		yield server
	finally:
		server.remove()


@pytest.fixture(scope="module")
def colleague(site):
	make_desk_user(COLLEAGUE, "CRM test colleague", "CRM Appointment User")
	frappe.db.commit()
	yield COLLEAGUE
	frappe.db.rollback()
	frappe.delete_doc("User", COLLEAGUE, ignore_permissions=True, force=True)
	frappe.db.commit()


@pytest.fixture(scope="module")
def tokens(site, colleague):
	return {
		"user": factories.frappe_token("user"),
		"manager": factories.frappe_token("manager"),
		"colleague": factories.frappe_token(COLLEAGUE),
		"outsider": factories.frappe_token(OUTSIDER),
		"guest": None,
	}


@pytest.fixture(scope="module")
def private_hosts_allowed(site):
	"""The requests' own frappe.local reads the site config: the loopback Radicale is allowed there."""
	with factories.site_config(outbound.ALLOW_PRIVATE_CONFIG, 1):
		yield


@pytest.fixture
def hosts(committed, colleague, private_hosts_allowed):
	"""HOLDER (in Berlin), MANAGER and COLLEAGUE are hosts, none connected yet (committed)."""
	made = {
		HOLDER: factories.host("user", time_zone="Europe/Berlin"),
		MANAGER: factories.host("manager"),
		COLLEAGUE: factories.host(COLLEAGUE),
	}
	frappe.db.commit()
	yield made
	frappe.db.rollback()
	for host in made:
		caldav_busy.forget(host)
		frappe.db.delete("__Auth", {"doctype": HOST, "name": host})
	frappe.db.commit()


def call(api, who, method, **args):
	"""A whitelisted method as the desk calls it (form data, POST) as `who` (a key of tokens)."""
	return api.post(f"{CONNECTION}.{method}", auth=api.tokens[who], data=args)


@pytest.fixture
def desk(api, tokens):
	api.tokens = tokens
	return api


def connect(host, url, password=DAV_PASSWORD, username=DAV_USER):
	"""Connect as Administrator (through set_connection, as the dialog's Save does)."""
	from crm_appointments.crm_appointments.doctype.crm_appointment_host.crm_appointment_host import (
		set_connection,
	)

	set_connection(host, url, username, password, 1)
	frappe.db.commit()


def message(response) -> dict:
	assert response.status_code == 200, response.get_data(as_text=True)[:500]
	return response.get_json()["message"]


def error_text(response) -> str:
	body = response.get_json() or {}
	return " ".join(json.loads(m).get("message", "") for m in json.loads(body.get("_server_messages", "[]")))


def stored_connection(host):
	frappe.db.rollback()
	return frappe.db.get_value(HOST, host, ["caldav_enabled", "caldav_url", "caldav_username"])


# -- the host connects their calendar ---------------------------------------------------------------


def test_the_host_tests_and_saves_a_connection_and_the_password_never_comes_back(desk, hosts, radicale):
	url = radicale.principal_url(DAV_USER)
	tried = message(
		call(desk, "user", "test_connection", host=HOLDER, url=url, username=DAV_USER, password=DAV_PASSWORD)
	)
	assert tried["calendars"] == ["Work"]
	assert tried["time_zone"] == "Europe/Berlin"
	# The next busy time, in the host's zone, with no title.
	assert tried["next_busy"][0] == {
		"start": tomorrow_at(10).isoformat(),
		"end": tomorrow_at(11).isoformat(),
	}
	assert stored_connection(HOLDER) == (0, None, None)  # trying saves nothing

	saved = message(
		call(desk, "user", "connect_calendar", host=HOLDER, url=url, username=DAV_USER, password=DAV_PASSWORD)
	)
	assert (saved["enabled"], saved["url"], saved["username"], saved["has_password"]) == (
		1,
		url,
		DAV_USER,
		True,
	)
	assert stored_connection(HOLDER) == (1, url, DAV_USER)
	assert frappe.get_doc(HOST, HOLDER).get_password("caldav_password") == DAV_PASSWORD

	# Tried again with the stored password (none typed): it goes to the stored address only.
	assert message(call(desk, "user", "test_connection", host=HOLDER))["calendars"] == ["Work"]
	elsewhere = call(desk, "user", "test_connection", host=HOLDER, url=radicale.url + "other/")
	assert elsewhere.status_code == 417 and "Type the password" in error_text(elsewhere)
	moved = call(desk, "manager", "connect_calendar", host=HOLDER, url=radicale.url + "other/", username="x")
	assert moved.status_code == 417 and stored_connection(HOLDER) == (1, url, DAV_USER)

	status = call(desk, "user", "connection_status", host=HOLDER)
	getdoc = desk.get(
		"/api/method/frappe.desk.form.load.getdoc",
		auth=desk.tokens["user"],
		query_string={"doctype": HOST, "name": HOLDER},
	)
	resource = desk.get(f"/api/resource/{HOST}/{HOLDER}", auth=desk.tokens["manager"])
	for response in (status, getdoc, resource):
		assert response.status_code == 200, response.get_data(as_text=True)[:300]
		assert DAV_PASSWORD not in response.get_data(as_text=True)
	assert DAV_PASSWORD not in json.dumps(saved) + json.dumps(tried)


def test_a_server_that_cannot_be_read_is_a_clear_message(desk, hosts, radicale):
	url = radicale.principal_url(DAV_USER)
	refused = call(desk, "user", "test_connection", host=HOLDER, url=url, username=DAV_USER, password="wrong")
	assert refused.status_code == 417
	assert "401" in error_text(refused) and "wrong" not in error_text(refused)
	nobody_there = call(
		desk, "manager", "test_connection", host=HOLDER, url=f"http://127.0.0.1:{free_port()}/", password="x"
	)
	assert nobody_there.status_code == 417 and "could not be read" in error_text(nobody_there)
	assert stored_connection(HOLDER) == (0, None, None)


@pytest.mark.parametrize("who", ["guest", "outsider", "colleague", "narrowed manager"])
def test_only_the_host_and_managers_may_see_or_change_a_connection(desk, hosts, radicale, who):
	url = radicale.principal_url(DAV_USER)
	connect(HOLDER, url)
	before = stored_connection(HOLDER)
	if who == "narrowed manager":
		narrowed = frappe.get_doc(
			{"doctype": "User Permission", "user": MANAGER, "allow": HOST, "for_value": COLLEAGUE}
		).insert(ignore_permissions=True)
		frappe.db.commit()
	try:
		auth = "manager" if who == "narrowed manager" else who
		for method, args in (
			("connection_status", {}),
			("test_connection", {}),
			("connect_calendar", {"url": radicale.url + "evil/", "username": "x", "password": "y"}),
		):
			response = call(desk, auth, method, host=HOLDER, **args)
			assert response.status_code == 403, (method, response.status_code)
			assert DAV_PASSWORD not in response.get_data(as_text=True)
			assert url not in response.get_data(as_text=True)
		assert stored_connection(HOLDER) == before
		if who == "narrowed manager":  # the host they may read, they may manage
			assert message(call(desk, "manager", "connection_status", host=COLLEAGUE))["url"] == ""
	finally:
		if who == "narrowed manager":
			frappe.db.rollback()
			frappe.delete_doc("User Permission", narrowed.name, force=True, ignore_permissions=True)
			frappe.db.commit()
	# A Manager (not narrowed) may.
	assert message(call(desk, "manager", "connection_status", host=HOLDER))["url"] == url


# -- grey blocks --------------------------------------------------------------------------------------


def blocks(desk, who, hosts, since, until):
	return desk.get(
		BLOCKS,
		auth=desk.tokens[who],
		query_string={"hosts": json.dumps(hosts), "start": since.isoformat(), "end": until.isoformat()},
	)


def test_busy_blocks_are_times_only_merged_from_events_and_caldav_for_hosts_the_caller_may_read(
	desk, hosts, radicale
):
	connect(HOLDER, radicale.principal_url(DAV_USER))
	# A Frappe Event of the host's right after the CalDAV meeting: one block 10:00-12:00 Berlin.
	frappe.get_doc(
		{
			"doctype": "Event",
			"subject": "Private: lawyer",
			"event_type": "Private",
			"starts_on": to_site(tomorrow_at(11)),
			"ends_on": to_site(tomorrow_at(12)),
			"owner": HOLDER,
		}
	).insert(ignore_permissions=True)
	frappe.db.set_value("Event", {"subject": "Private: lawyer"}, "owner", HOLDER)
	frappe.db.commit()
	day = (tomorrow_at(0), tomorrow_at(0) + timedelta(days=1))

	seen = blocks(desk, "colleague", [HOLDER, COLLEAGUE], *day)
	body = message(seen)
	assert body["hosts"][HOLDER] == {
		"busy": [{"start": utc(tomorrow_at(10)), "end": utc(tomorrow_at(12))}],
		"unreadable": None,
	}
	assert body["hosts"][COLLEAGUE] == {"busy": [], "unreadable": None}
	text = seen.get_data(as_text=True)
	assert SECRET_TITLE not in text and "lawyer" not in text and "dentist" not in text

	for who in ("guest", "outsider"):
		assert blocks(desk, who, [HOLDER], *day).status_code == 403, who
	narrowed = frappe.get_doc(
		{"doctype": "User Permission", "user": MANAGER, "allow": HOST, "for_value": COLLEAGUE}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		assert set(message(blocks(desk, "manager", [HOLDER, COLLEAGUE], *day))["hosts"]) == {COLLEAGUE}
	finally:
		frappe.db.rollback()
		frappe.delete_doc("User Permission", narrowed.name, force=True, ignore_permissions=True)
		frappe.db.commit()
	bad = desk.get(BLOCKS, auth=desk.tokens["user"], query_string={"start": "soon", "end": "later"})
	assert bad.status_code == 417


def test_an_unreadable_calendar_is_flagged_and_only_the_host_and_managers_see_why(desk, hosts, radicale):
	connect(HOLDER, radicale.principal_url(DAV_USER), password="no-longer-valid")
	day = (tomorrow_at(0), tomorrow_at(0) + timedelta(days=1))
	to_colleague = message(blocks(desk, "colleague", [HOLDER], *day))["hosts"][HOLDER]
	assert to_colleague["busy"] == [] and to_colleague["unreadable"]["since"]
	assert to_colleague["unreadable"]["error"] == ""
	to_host = message(blocks(desk, "user", [HOLDER], *day))["hosts"][HOLDER]
	assert "401" in to_host["unreadable"]["error"]
	status = message(call(desk, "user", "connection_status", host=HOLDER))
	assert status["unreadable"] and "401" in status["last_error"] and status["error_since"]


def utc(moment: datetime) -> str:
	return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_window_is_bounded(desk, hosts):
	since = now_datetime()
	too_long = desk.get(
		BLOCKS,
		auth=desk.tokens["user"],
		query_string={"start": str(since), "end": str(since + timedelta(days=90))},
	)
	assert too_long.status_code == 417 and "at most" in error_text(too_long)
