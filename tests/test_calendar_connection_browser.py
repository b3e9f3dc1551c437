"""A host connects their own calendar in the desk, in headless Chromium against a live server of the test
site and a Radicale of the test's own: Connect calendar, Test connection (the calendar's name and the
next busy time), Save; then Find a time shows the meeting as a grey block, and the host form shows the
last successful read. The set-up (browser, login, clean-up) is test_desk_browser.py's; the README's
screenshot of the dialog (docs/screenshots/host-calendar.png) is taken here (scripts/screenshots.sh).
"""

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import get_system_timezone
from playwright.sync_api import expect

from crm_appointments.core import outbound
from crm_appointments.scheduling import caldav_busy
from tests import browser, factories
from tests import test_desk_browser as desk
from tests.factories import USERS
from tests.radicale_server import Radicale
from tests.test_calendar_connection import BERLIN, DAV_PASSWORD, DAV_USER, event_ical

playwright_browser, staff, page = desk.playwright_browser, desk.staff, desk.page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HOST = "CRM Appointment Host"
HOLDER = USERS["user"]  # the desk user of test_desk_browser's page, a host here


@pytest.fixture
def radicale(live_server):
	"""Radicale with the host's calendar "Work" (a meeting the day after tomorrow, 10:00-11:00 Berlin),
	allowed for the live server's workers (they read the site config)."""
	server = Radicale({DAV_USER: DAV_PASSWORD}).start()
	try:
		with factories.site_config(outbound.ALLOW_PRIVATE_CONFIG, 1):
			day = (datetime.now(BERLIN) + timedelta(days=2)).date()
			start = datetime(day.year, day.month, day.day, 10, tzinfo=BERLIN)
			server.make_calendar(DAV_USER, "Work").save_event(
				event_ical("meeting-1", "Board meeting", start, start + timedelta(hours=1))
			)
			server.meeting = start
			yield server
	finally:
		server.remove()
		caldav_busy.forget(HOLDER)
		frappe.db.rollback()
		frappe.db.delete("__Auth", {"doctype": HOST, "name": HOLDER})
		frappe.db.commit()


def test_the_host_connects_their_calendar_and_find_a_time_shows_its_meeting_in_grey(page, radicale):
	factories.host("user", time_zone="Europe/Berlin")
	factories.host("manager")
	frappe.db.commit()
	# Another host's form shows nothing of their calendar connection to this host.
	browser.open_route(page, page.base, f"/app/crm-appointment-host/{USERS['manager']}")
	expect(page.locator(".page-title")).to_contain_text("CRM test manager")
	expect(page.get_by_role("button", name="Connect calendar")).to_have_count(0)
	expect(page.locator(".crm-outside-calendar")).to_have_count(0)
	expect(page.locator('.frappe-control[data-fieldname="caldav_url"]:visible')).to_have_count(0)

	browser.open_route(page, page.base, f"/app/crm-appointment-host/{HOLDER}")
	page.get_by_role("button", name="Connect calendar").click()
	dialog = page.locator(".modal.show")
	dialog.locator('input[data-fieldname="url"]').fill(radicale.principal_url(DAV_USER))
	dialog.locator('input[data-fieldname="username"]').fill(DAV_USER)
	dialog.locator('input[data-fieldname="password"]').fill(DAV_PASSWORD)
	dialog.get_by_role("button", name="Test connection").click()
	expect(dialog.locator(".crm-calendars-found")).to_have_text("Work")
	expect(dialog.locator(".crm-next-busy li").first).to_contain_text("10:00")
	expect(dialog.locator(".crm-next-busy li").first).to_contain_text("11:00")
	browser.screenshot(page, "host-calendar")
	dialog.get_by_role("button", name="Save").click()
	page.wait_for_selector(".modal.show", state="hidden")
	expect(page.locator(".crm-outside-calendar .crm-calendar-state")).to_contain_text("Connected")
	frappe.db.rollback()
	assert frappe.db.get_value(HOST, HOLDER, ["caldav_enabled", "caldav_url"]) == (
		1,
		radicale.principal_url(DAV_USER),
	)
	assert DAV_PASSWORD not in page.content()

	# Find a time, for the meeting's day: the meeting is a grey block among the free times, in the
	# user's zone (the system's, Asia/Kolkata), with no title.
	find = find_a_time(page, radicale.meeting)
	shown = radicale.meeting.astimezone(ZoneInfo(get_system_timezone()))
	block = find.locator(".crm-busy-block")
	expect(block).to_have_count(1)
	expect(block).to_contain_text(f"{shown:%H:%M}\u2013{shown + timedelta(hours=1):%H:%M}")
	assert "Board meeting" not in find.inner_text()
	red, green, blue = block.evaluate(
		"(el) => getComputedStyle(el).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"
	)
	assert max(red, green, blue) - min(red, green, blue) < 20, (red, green, blue)  # grey
	expect(find.locator(".crm-slot").first).to_be_visible()
	find.locator(".btn-modal-close").first.click()

	# The host form: read a moment ago.
	browser.open_route(page, page.base, f"/app/crm-appointment-host/{HOLDER}")
	expect(page.locator(".crm-outside-calendar .crm-calendar-last-read")).not_to_contain_text("never")

	# The Calendar view's week of the meeting, filtered by the host: a grey background block.
	browser.open_route(page, page.base, f"/app/crm-appointment/view/calendar/default?host={quote(HOLDER)}")
	page.locator(".fc-agendaWeek-button").click()
	page.evaluate("(day) => cur_list.calendar.$cal.fullCalendar('gotoDate', day)", shown.date().isoformat())
	expect(page.locator(".fc-bgevent.crm-busy-block")).to_have_count(1)

	# The app password is revoked at the server's end and the cache's minutes pass: Find a time flags
	# the host (and offers nothing), the form says since when and why.
	radicale.set_password(DAV_USER, "a-new-app-password")
	caldav_busy.forget(HOLDER)
	find_a_time(page, radicale.meeting)
	expect(page.locator(".modal.show .crm-calendar-unreadable")).to_contain_text("cannot be read")
	expect(page.locator(".modal.show .crm-busy-block")).to_have_count(0)
	browser.open_route(page, page.base, f"/app/crm-appointment-host/{HOLDER}")
	expect(page.locator(".form-message, .form-headline").first).to_contain_text("Calendar unreadable since")
	expect(page.locator(".crm-outside-calendar .crm-calendar-last-error")).to_contain_text("401")


def find_a_time(page, day: datetime):
	"""A new appointment's Find a time dialog, for the host and the day: the dialog."""
	browser.open_route(page, page.base, "/app/crm-appointment/new")
	page.click('.page-actions button:has-text("Find a time")')
	find = page.locator(".modal.show")
	host = find.locator('input[data-fieldname="host"]')
	host.fill(HOLDER)
	host.press("Tab")
	find.locator('input[data-fieldname="day"]').fill(browser.user_datetime(page, day.date().isoformat()))
	find.locator(".modal-title").click()  # close the date picker
	return find
