"""A host's private calendar feed (/api/crm/calendar/<secret>.ics): who may turn it on and off, what
it lists (read back by vobject and by icalendar), the 404 that is the same for every wrong address,
the 304s polling clients get, and the feed over a live server."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import urlparse

import frappe
import icalendar
import pytest
import requests
import vobject
from frappe.utils import add_days, get_url, now_datetime
from werkzeug.http import parse_date

from crm_appointments.calendars import feed as calendar_feed
from crm_appointments.calendars import ics
from crm_appointments.core.settings import (
	get_settings,
)
from crm_appointments.rest import openapi
from crm_appointments.scheduling.timezones import as_utc
from tests import factories
from tests.factories import USERS, future, past
from tests.http import error_of

HOST = "CRM Appointment Host"
HOLDER = USERS["user"]  # a CRM Appointment User who is a host
OTHER = USERS["manager"]  # another host (and a CRM Appointment Manager)


def turn_on(user: str, by: str | None = None) -> str:
	"""Issue `user`'s feed as `by` (default: the host themself); the path of its address."""
	frappe.set_user(by or user)
	try:
		address = frappe.get_doc(HOST, user).issue_calendar_feed()["url"]
	finally:
		frappe.set_user("Administrator")
	return urlparse(address).path


def secret_of(path: str) -> str:
	return path.rsplit("/", 1)[1].removesuffix(".ics")


def vobject_events(text: str) -> dict:
	calendar = vobject.readOne(text)
	return {
		event.uid.value: {
			"status": event.status.value,
			"sequence": int(event.sequence.value),
			"start": event.dtstart.value,
			"end": event.dtend.value,
			"summary": event.summary.value,
		}
		for event in getattr(calendar, "vevent_list", [])
	}


def icalendar_events(text: str) -> dict:
	calendar = icalendar.Calendar.from_ical(text)
	assert not calendar.errors
	assert "METHOD" not in calendar  # a published calendar, not an invitation
	events = {}
	for event in calendar.walk("VEVENT"):
		assert not event.errors, event.errors
		events[str(event["UID"])] = {
			"status": str(event["STATUS"]),
			"sequence": int(event["SEQUENCE"]),
			"start": event["DTSTART"].dt,
			"end": event["DTEND"].dt,
			"summary": str(event["SUMMARY"]),
		}
	return events


def both_parsers(text: str) -> dict:
	"""The feed's events by UID; both parsers must read the same."""
	read = vobject_events(text)
	assert icalendar_events(text) == read
	return read


def invitation_uid(doc) -> str:
	"""The UID the appointment's emailed invitation carries."""
	(event,) = icalendar.Calendar.from_ical(ics.invitation(doc, "organizer@example.com")).walk("VEVENT")
	return str(event["UID"])


def shown(doc, status="CONFIRMED") -> dict:
	start = as_utc(doc.scheduled_time)
	return {
		"status": status,
		"sequence": doc.calendar_sequence,
		"start": start,
		"end": start + timedelta(minutes=doc.duration),
		"summary": ics.appointment_summary(doc),
	}


@pytest.fixture
def hosts():
	factories.host("user")
	factories.host("manager")


@pytest.fixture
def committed_hosts(committed):
	factories.host("user")
	factories.host("manager")
	frappe.db.commit()


# -- turning it on and off ---------------------------------------------------------------------


def test_issuing_shows_the_address_once_and_keeps_only_a_hash_of_its_secret(hosts):
	path = turn_on(HOLDER)
	secret = secret_of(path)
	assert get_url(path).endswith(f"/api/crm/calendar/{secret}.ics")
	assert calendar_feed.SECRET_PATTERN.match(secret)
	row = frappe.db.sql(f"select * from `tab{HOST}` where name = %s", HOLDER, as_dict=True)[0]
	assert row.calendar_feed_enabled == 1 and row.calendar_feed_issued_on
	assert row.calendar_feed_hash == hashlib.sha256(secret.encode()).hexdigest()
	assert not any(secret in str(value) for value in row.values())
	comments = frappe.get_all(
		"Comment", filters={"reference_doctype": HOST, "reference_name": HOLDER}, pluck="content"
	)
	assert any("turned the calendar feed on" in c for c in comments)
	assert not any(secret in c for c in comments)
	assert calendar_feed.host_for_secret(secret).name == HOLDER


def test_the_host_themself_may_issue_replace_and_revoke_without_write_permission_on_the_host(hosts):
	assert not frappe.has_permission(HOST, "write", HOLDER, user=HOLDER)
	first = secret_of(turn_on(HOLDER))
	second = secret_of(turn_on(HOLDER))
	assert first != second
	assert calendar_feed.host_for_secret(first) is None
	assert calendar_feed.host_for_secret(second).name == HOLDER
	frappe.set_user(HOLDER)
	frappe.get_doc(HOST, HOLDER).revoke_calendar_feed()
	frappe.set_user("Administrator")
	assert calendar_feed.host_for_secret(second) is None
	assert frappe.get_all(
		"Comment",
		filters={"reference_doctype": HOST, "reference_name": HOLDER},
		pluck="content",
		order_by="creation",
	)[-3:] == [
		"turned the calendar feed on.",
		"replaced the calendar feed's address; the old address no longer works.",
		"turned the calendar feed off.",
	]
	assert frappe.db.get_value(
		HOST, HOLDER, ["calendar_feed_enabled", "calendar_feed_hash", "calendar_feed_issued_on"]
	) == (0, None, None)


def test_a_manager_may_issue_and_revoke_any_hosts_feed(hosts):
	secret = secret_of(turn_on(HOLDER, by=OTHER))
	assert calendar_feed.host_for_secret(secret).name == HOLDER
	frappe.set_user(OTHER)
	frappe.get_doc(HOST, HOLDER).revoke_calendar_feed()
	assert calendar_feed.host_for_secret(secret) is None


@pytest.mark.parametrize("method", ["issue_calendar_feed", "revoke_calendar_feed"])
def test_someone_who_is_neither_the_host_nor_a_manager_may_not(hosts, method):
	secret = secret_of(turn_on(OTHER))
	frappe.set_user(HOLDER)  # a CRM Appointment User: reads every host, manages only their own feed
	with pytest.raises(frappe.PermissionError):
		getattr(frappe.get_doc(HOST, OTHER), method)()
	frappe.set_user("Administrator")
	assert calendar_feed.host_for_secret(secret).name == OTHER


def test_a_save_never_sets_or_clears_the_feed(hosts):
	secret = secret_of(turn_on(HOLDER))
	doc = frappe.get_doc(HOST, HOLDER)
	doc.update({"calendar_feed_hash": calendar_feed.hash_secret("x" * 32), "calendar_feed_enabled": 0})
	doc.save()
	assert calendar_feed.host_for_secret(secret).name == HOLDER
	assert calendar_feed.host_for_secret("x" * 32) is None
	frappe.db.delete(HOST, OTHER)
	planted = frappe.get_doc(
		{"doctype": HOST, "user": OTHER, "calendar_feed_enabled": 1, "calendar_feed_hash": "0" * 64}
	).insert()
	assert (planted.calendar_feed_enabled, planted.calendar_feed_hash) == (0, None)


def test_the_desk_call_issues_the_callers_own_feed(api, committed_hosts):
	response = api.post(
		"/api/method/frappe.handler.run_doc_method",
		auth=factories.frappe_token("user"),
		data={"dt": HOST, "dn": HOLDER, "method": "issue_calendar_feed"},
	)
	assert response.status_code == 200, response.get_data(as_text=True)
	secret = secret_of(urlparse(response.get_json()["message"]["url"]).path)
	assert calendar_feed.host_for_secret(secret).name == HOLDER


def test_a_desk_call_with_a_forged_document_cannot_issue_another_hosts_feed(api, committed_hosts):
	"""The desk sends the document itself; its `user` is whatever the browser says."""
	forged = {
		"doctype": HOST,
		"name": OTHER,
		"user": HOLDER,
		"modified": str(frappe.db.get_value(HOST, OTHER, "modified")),
	}
	response = api.post(
		"/api/method/frappe.handler.run_doc_method",
		auth=factories.frappe_token("user"),
		data={"docs": json.dumps(forged), "method": "issue_calendar_feed"},
	)
	assert response.status_code == 403, response.get_data(as_text=True)
	assert frappe.db.get_value(HOST, OTHER, ["calendar_feed_enabled", "calendar_feed_hash"]) == (0, None)


def test_a_desk_user_without_a_crm_role_cannot_call_either(api, committed_hosts):
	for method in ("issue_calendar_feed", "revoke_calendar_feed"):
		response = api.post(
			"/api/method/frappe.handler.run_doc_method",
			auth=factories.frappe_token("nobody"),
			data={"dt": HOST, "dn": HOLDER, "method": method},
		)
		assert response.status_code == 403, response.get_data(as_text=True)


# -- what it lists -----------------------------------------------------------------------------


def test_the_feed_lists_the_hosts_appointments_as_their_invitations_name_them(api, committed_hosts):
	horizon = get_settings().booking_horizon
	scheduled = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1), duration=45)
	confirmed = factories.make(status="confirmed", host=HOLDER, scheduled_time=future(days=horizon - 1))
	completed = factories.make(status="completed", host=HOLDER, scheduled_time=past(days=29))
	no_show = factories.make(status="no_show", host=HOLDER, scheduled_time=past(days=2))
	cancelled = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=3))
	cancelled.move_to("cancelled")
	rescheduled = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=4))
	rescheduled.reschedule(future(days=5))
	# Not listed: a draft, another host's, too long ago, past the horizon, cancelled long ago.
	factories.make(status="draft", host=HOLDER, scheduled_time=future(days=2))
	factories.make(status="scheduled", host=OTHER, scheduled_time=future(days=1))
	factories.make(status="completed", host=HOLDER, scheduled_time=past(days=31))
	factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=horizon + 2))
	long_ago = factories.in_status("cancelled", host=HOLDER, scheduled_time=future(days=6))
	frappe.db.set_value(
		long_ago.doctype, long_ago.name, "modified", add_days(now_datetime(), -15), update_modified=False
	)
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()

	response = api.get(path)
	assert response.status_code == 200, response.get_data(as_text=True)
	assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
	events = both_parsers(response.get_data(as_text=True))
	listed = {
		scheduled: "CONFIRMED",
		confirmed: "CONFIRMED",
		completed: "CONFIRMED",
		no_show: "CONFIRMED",
		rescheduled: "CONFIRMED",
		cancelled: "CANCELLED",
	}
	for doc in listed:
		doc.reload()
	assert events == {invitation_uid(doc): shown(doc, status) for doc, status in listed.items()}
	assert rescheduled.calendar_sequence == 1 and cancelled.calendar_sequence == 1


def test_each_host_sees_only_their_own_appointments(api, committed_hosts):
	mine = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	theirs = factories.make(status="scheduled", host=OTHER, scheduled_time=future(days=1))
	factories.make(status="scheduled", scheduled_time=future(days=1))  # nobody's
	frappe.db.commit()
	my_path, their_path = turn_on(HOLDER), turn_on(OTHER)
	frappe.db.commit()
	assert set(both_parsers(api.get(my_path).get_data(as_text=True))) == {ics.uid(mine)}
	assert set(both_parsers(api.get(their_path).get_data(as_text=True))) == {ics.uid(theirs)}


def test_a_host_narrowed_by_user_permissions_gets_only_what_they_may_read(api, committed_hosts):
	"""The feed shows no more than the appointments themselves would: a host whom a User Permission
	narrows to one appointment sees only that one in their feed, and the ETag changes with it."""
	kept = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	hidden = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=2))
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	before = api.get(path)
	assert set(both_parsers(before.get_data(as_text=True))) == {ics.uid(kept), ics.uid(hidden)}
	with factories.user_permission("user", kept.name):
		narrowed = api.get(path, headers={"If-None-Match": before.headers["ETag"]})
		assert narrowed.status_code == 200
		assert set(both_parsers(narrowed.get_data(as_text=True))) == {ics.uid(kept)}
	assert api.get(path, headers={"If-None-Match": before.headers["ETag"]}).status_code == 304


def test_text_that_looks_like_icalendar_stays_inside_its_value(api, committed_hosts):
	name = 'Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged;X="1"'
	doc = factories.make(
		status="scheduled",
		host=HOLDER,
		scheduled_time=future(days=1),
		customer_name="Eve, END:VEVENT; UID:forged",
		customer_details=name,
	)
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	text = api.get(path).get_data(as_text=True)
	assert list(both_parsers(text)) == [ics.uid(doc)]
	(event,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
	assert str(event["DESCRIPTION"]).endswith(name.replace("\r\n", "\n"))


def test_the_window_moves_at_midnight_and_changes_the_etag():
	factories.host("user")
	host = calendar_feed.Host(HOLDER, "Holder", past(days=60))
	edge = factories.make(status="completed", host=HOLDER, scheduled_time=past(days=30) + timedelta(hours=1))
	today = now_datetime().date()
	rows = lambda day: calendar_feed.listed(HOLDER, calendar_feed.window(day))  # noqa: E731
	assert [name for name, _ in rows(today)] == [edge.name]
	assert not rows(today + timedelta(days=2))
	now, later = (
		calendar_feed.version(host, calendar_feed.window(d)) for d in (today, today + timedelta(days=2))
	)
	assert now.etag != later.etag and later.last_modified > now.last_modified


# -- the address: 404s, 304s, HEAD -------------------------------------------------------------


def test_every_wrong_address_is_the_same_404(api, committed_hosts):
	replaced = turn_on(HOLDER)
	current = turn_on(HOLDER)
	revoked = turn_on(OTHER)
	frappe.set_user(OTHER)
	frappe.get_doc(HOST, OTHER).revoke_calendar_feed()
	frappe.set_user("Administrator")
	frappe.db.commit()
	assert api.get(current).status_code == 200
	wrong = [
		"/api/crm/calendar/short.ics",
		f"/api/crm/calendar/{'A' * 32}.ics",
		f"/api/crm/calendar/{secret_of(current).swapcase()}.ics",
		replaced,
		revoked,
	]
	answers = [api.get(path) for path in wrong]
	frappe.db.set_value(HOST, HOLDER, "enabled", 0)
	frappe.db.commit()
	answers.append(api.get(current))
	frappe.db.set_value(HOST, HOLDER, "enabled", 1)
	frappe.db.set_value("User", HOLDER, "enabled", 0)
	frappe.db.commit()
	try:
		answers.append(api.get(current))
	finally:
		frappe.db.set_value("User", HOLDER, "enabled", 1)
		frappe.db.commit()
	frappe.get_doc("User", HOLDER).remove_roles("CRM Appointment User")
	frappe.db.commit()
	try:
		answers.append(api.get(current))
	finally:
		frappe.get_doc("User", HOLDER).add_roles("CRM Appointment User")
		frappe.db.commit()
	bodies = set()
	for response in answers:
		assert response.status_code == 404
		assert error_of(response)["type"] == "not_found_error"
		assert "ETag" not in response.headers
		bodies.add(response.get_data())
	assert len(bodies) == 1
	assert api.get(current).status_code == 200


def test_polling_clients_get_304_until_something_changes(api, committed_hosts):
	doc = factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	first = api.get(path)
	etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
	assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
	assert api.get(path).get_data() == first.get_data()  # the same bytes while nothing changes

	for headers in (
		{"If-None-Match": etag},
		{"If-None-Match": f'W/{etag}, "x"'},
		{"If-Modified-Since": last_modified},
	):
		again = api.get(path, headers=headers)
		assert again.status_code == 304, headers
		assert again.get_data() == b"" and again.headers["ETag"] == etag
	# If-None-Match decides when both are sent (RFC 9110 13.2.2).
	assert (
		api.get(path, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}).status_code
		== 200
	)

	doc.reload()
	doc.customer_name = "Ada King"
	doc.save()
	frappe.db.commit()
	changed = api.get(path, headers={"If-None-Match": etag})
	assert changed.status_code == 200 and changed.headers["ETag"] != etag
	assert [e["summary"] for e in both_parsers(changed.get_data(as_text=True)).values()] == [
		"Appointment with Ada King"
	]
	assert parse_date(changed.headers["Last-Modified"]) >= parse_date(last_modified)

	factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=2))
	frappe.db.commit()
	newer = api.get(path, headers={"If-None-Match": changed.headers["ETag"]})
	assert newer.status_code == 200 and len(both_parsers(newer.get_data(as_text=True))) == 2


def test_head_answers_the_headers_of_get_without_the_body(api, committed_hosts):
	factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	got, head = api.get(path), api.request("HEAD", path)
	assert head.status_code == 200 and head.get_data() == b""
	for header in ("ETag", "Last-Modified", "Content-Type", "Content-Length"):
		assert head.headers[header] == got.headers[header]
	assert api.request("HEAD", path, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304


def test_other_methods_are_a_405_and_credentials_change_nothing(api, keys, committed_hosts):
	factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	for method in ("POST", "PUT", "PATCH", "DELETE"):
		response = api.request(method, path)
		assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
	# The secret is the credential: whoever else calls (a user with no CRM role, say) gets the same.
	assert api.get(path, key=keys["nobody"]).get_data() == api.get(path).get_data()


def test_the_openapi_document_describes_the_feed():
	operation = openapi.document()["paths"]["/api/crm/calendar/{secret}.ics"]["get"]
	assert operation["security"] == []
	assert "text/calendar" in operation["responses"]["200"]["content"]
	assert {"200", "304", "404"} <= set(operation["responses"])


# -- over a live server ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_calendar_app_subscribes_and_polls_over_a_live_server(api, committed_hosts, live_server):
	made = [factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=d)) for d in (1, 2, 3)]
	frappe.db.commit()
	url = live_server + turn_on(HOLDER)
	frappe.db.commit()
	session = requests.Session()  # no cookies, no credentials: what a calendar app sends
	first = session.get(url, headers={"User-Agent": "Google-Calendar-Importer"})
	assert first.status_code == 200
	assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
	assert set(both_parsers(first.text)) == {ics.uid(doc) for doc in made}
	polled = session.get(url, headers={"If-None-Match": first.headers["ETag"]})
	assert polled.status_code == 304 and polled.content == b""
	head = session.head(url)
	assert head.status_code == 200 and head.headers["ETag"] == first.headers["ETag"]
	gone = session.get(url.replace(".ics", "x.ics"))
	assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found_error"


def test_events_kept_in_the_cache_give_the_bytes_building_them_gives(api, committed_hosts):
	for days in (1, 2, 3):
		factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=days))
	frappe.db.commit()
	path = turn_on(HOLDER)
	frappe.db.commit()
	frappe.cache.delete_keys("crm_calendar_feed_event:")
	built = api.get(path).get_data()
	assert len(frappe.cache.get_keys("crm_calendar_feed_event:")) == 3
	assert api.get(path).get_data() == built


# -- in the desk -------------------------------------------------------------------------------

# The desk tests' browser and their logged-in page: the CRM Appointment User, who is HOLDER.
from tests.test_desk_browser import page, playwright_browser, staff  # noqa: F401

FEED_MENU = '.inner-group-button[data-label="Calendar%20Feed"]'


def feed_menu_item(desk, caption):
	desk.click(f"{FEED_MENU} button")
	return desk.locator(f'{FEED_MENU} .dropdown-item:has-text("{caption}")')


@pytest.mark.slow
@pytest.mark.browser
def test_the_host_turns_the_feed_on_and_off_in_the_desk_as_the_readme_shows(page):  # noqa: F811
	from tests import browser

	factories.host("user", hours=[(d, "09:00", "17:00") for d in range(5)], time_zone="Europe/Berlin")
	factories.make(status="scheduled", host=HOLDER, scheduled_time=future(days=1))
	frappe.db.commit()
	browser.open_route(page, page.base, f"/app/crm-appointment-host/{HOLDER}")
	feed_menu_item(page, "Turn On").click()
	dialog = page.locator(".modal.show:has-text('Your calendar feed')")
	address = dialog.locator('[data-fieldname="url"] .control-value')
	address.wait_for()
	url = address.inner_text().strip()
	assert url.startswith(page.base + "/api/crm/calendar/") and url.endswith(".ics")
	assert dialog.locator('a[href^="webcal:"]').count() == 1
	browser.wait_idle(page)
	browser.screenshot(page, "calendar_feed")
	assert requests.get(url).status_code == 200
	frappe.db.rollback()
	assert frappe.db.get_value(HOST, HOLDER, "calendar_feed_enabled") == 1

	dialog.locator(".btn-modal-close").click()
	page.wait_for_selector(".modal.show", state="hidden")
	feed_menu_item(page, "Turn Off").click()
	page.locator(".modal.show .btn-primary:has-text('Yes')").click()
	page.wait_for_selector(".modal.show", state="hidden")
	browser.wait_idle(page)
	assert requests.get(url).status_code == 404
	feed_menu_item(page, "Turn On").wait_for()
