"""Hosts in the desk, in headless Chromium against a live server of the test site: the calendar by
host, Find a time on a new appointment, a double booking refused in the form, and a manager setting
up a host. The set-up (browser, login, clean-up) is test_desk_browser.py's."""

import re
import time as time_module
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import format_datetime, format_time, getdate, nowdate
from frappe.utils.password import update_password
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from crm_appointments.scheduling.host_calendars import to_site
from tests import browser, factories
from tests import test_desk_browser as desk
from tests.factories import USERS
from tests.test_desk_browser import (
	DOCTYPE,
	LIST,
	NAME_WITH_SCRIPT,
	PASSWORD,
	assert_no_script_ran,
	calendar_event,
	message_dialog_text,
	open_month_calendar,
	saved,
)

# test_desk_browser's fixtures: the browser, the desk user and their logged-in page.
playwright_browser, staff, page = desk.playwright_browser, desk.staff, desk.page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HOST, OTHER = USERS["user"], USERS["manager"]
HOST_NAME, OTHER_NAME = "CRM test user", "CRM test manager"  # their full names (factories.make_users)


@contextmanager
def user_time_zone(user, zone):
	"""The user's own time zone (User > Time Zone), for the pages loaded meanwhile."""
	frappe.db.set_value("User", user, "time_zone", zone)
	frappe.db.commit()
	frappe.clear_cache(user=user)  # the desk's boot, cached per session, carries it
	try:
		yield
	finally:
		frappe.db.rollback()
		frappe.db.set_value("User", user, "time_zone", None)
		frappe.db.commit()
		frappe.clear_cache(user=user)


def rendered_colour(page, css_colour):
	"""A CSS colour as the browser computes it (for comparing with an element's style)."""
	return page.evaluate(
		"(colour) => { const el = document.createElement('div'); el.style.backgroundColor = colour;"
		" document.body.append(el); const c = getComputedStyle(el).backgroundColor; el.remove(); return c; }",
		css_colour,
	)


def host_colour(page, host):
	"""The calendar's background for a host's appointments: the host's colour, extra light."""
	return rendered_colour(
		page,
		page.evaluate(
			"(host) => frappe.ui.color.get(crm_appointments.hosts.colour(host), 'extra-light')", host
		),
	)


def background(event):
	return event.evaluate("(el) => getComputedStyle(el).backgroundColor")


def event_titles(page):
	return sorted(page.locator(".fc-event .fc-title").all_inner_texts())


def test_the_calendar_filtered_by_host_shows_only_their_appointments_labelled_and_coloured(page):
	factories.host("user")
	factories.host("manager")
	start = datetime.combine(getdate(nowdate()) + timedelta(days=1), time(11, 0))
	saved(customer_name="Ada Lovelace", status="scheduled", scheduled_time=start, host=HOST)
	saved(
		customer_name="Margaret Hamilton",
		status="scheduled",
		scheduled_time=start + timedelta(hours=2),
		host=HOST,
	)
	saved(
		customer_name=NAME_WITH_SCRIPT,
		status="scheduled",
		scheduled_time=start + timedelta(hours=4),
		host=HOST,
	)
	saved(customer_name="Grace Hopper", status="scheduled", scheduled_time=start, host=OTHER)
	saved(customer_name="Alan Turing", status="draft", scheduled_time=start)
	ada = f"Ada Lovelace \u00b7 {HOST_NAME}"
	margaret = f"Margaret Hamilton \u00b7 {HOST_NAME}"
	eve = f"{NAME_WITH_SCRIPT} \u00b7 {HOST_NAME}"

	open_month_calendar(page)
	calendar_event(page, "Grace Hopper").wait_for()
	assert event_titles(page) == sorted(
		[ada, margaret, eve, f"Grace Hopper \u00b7 {OTHER_NAME}", "Alan Turing"]
	)
	# Each host has a colour of their own, the same on each of their appointments; an appointment
	# without a host keeps its status's colour, as before hosts (a draft's is the calendar's default).
	assert host_colour(page, HOST) != host_colour(page, OTHER)
	assert background(calendar_event(page, "Ada Lovelace")) == host_colour(page, HOST)
	assert background(calendar_event(page, "Margaret Hamilton")) == host_colour(page, HOST)
	assert background(calendar_event(page, "Grace Hopper")) == host_colour(page, OTHER)
	default = page.evaluate("() => frappe.ui.color.get('blue', 'extra-light')")
	assert background(calendar_event(page, "Alan Turing")) == rendered_colour(page, default)

	# Filtered by host, as a link to the filtered list (or the Filter button) does.
	browser.open_route(page, page.base, f"{LIST}/view/calendar/default?host={quote(HOST)}")
	expect(page.locator(".filter-selector .filter-label")).to_have_text(re.compile(r"^1\b"))
	calendar_event(page, "Ada Lovelace").wait_for()
	assert event_titles(page) == sorted([ada, margaret, eve])
	assert background(calendar_event(page, "Ada Lovelace")) == host_colour(page, HOST)
	assert_no_script_ran(page, "calendar filtered by host")


def test_find_a_time_offers_the_hosts_free_times_in_the_users_zone_and_fills_the_form(page, staff):
	"""The host works 09:00-12:00 Berlin time and is taken 09:45-10:30; the desk user is in New York.
	The slots are asked for and shown in New York time; the form keeps the system's (Kolkata)."""
	berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
	day = getdate(nowdate()) + timedelta(days=2)
	factories.host("manager", hours=[(day.weekday(), "09:00", "12:00")], time_zone="Europe/Berlin")
	at_berlin = lambda hour, minute: datetime.combine(day, time(hour, minute), berlin)  # noqa: E731
	saved(
		customer_name="Taken",
		status="scheduled",
		host=OTHER,
		scheduled_time=to_site(at_berlin(9, 45)),
		duration=45,
	)
	free = [at_berlin(9, 0), at_berlin(10, 30), at_berlin(11, 15)]
	with user_time_zone(staff, "America/New_York"):
		browser.open_route(page, page.base, f"{LIST}/new")
		page.click('.page-actions button:has-text("Find a time")')
		dialog = page.locator(".modal.show")
		host = dialog.locator('input[data-fieldname="host"]')
		host.fill(OTHER)
		host.press("Tab")
		dialog.locator('input[data-fieldname="day"]').fill(browser.user_datetime(page, day.isoformat()))
		dialog.locator(".modal-title").click()  # close the date picker
		dialog.locator('input[data-fieldname="duration"]').fill("45")
		dialog.locator('input[data-fieldname="duration"]').press("Tab")
		slots = dialog.locator(".crm-slot")
		shown = [moment.astimezone(new_york).strftime("%H:%M") for moment in free]
		expect(slots).to_have_text(shown)
		expect(dialog).to_contain_text("America/New_York")
		browser.screenshot(page, "find_a_time")

		slots.nth(1).click()
		page.wait_for_selector(".modal.show", state="hidden")
		picked = to_site(free[1])  # naive, in the system's time zone
		assert page.evaluate("() => cur_frm.doc.scheduled_time") == str(picked)
		assert page.evaluate("() => cur_frm.doc.host") == OTHER
		assert page.evaluate("() => cur_frm.doc.duration") == 45
		# The field shows the time in the user's zone.
		expect(page.locator('.frappe-control[data-fieldname="scheduled_time"] input')).to_have_value(
			browser.user_datetime(page, str(picked))
		)

		page.locator('.frappe-control[data-fieldname="customer_name"] input').fill("Grace Hopper")
		page.locator('.frappe-control[data-fieldname="customer_email"] input').fill("grace@example.com")
		page.locator('.frappe-control[data-fieldname="status"] select').select_option("Scheduled")
		page.keyboard.press("Control+s")
		page.wait_for_url(f"**{LIST}/appointment_*")
		browser.wait_idle(page)

	frappe.db.rollback()
	row = frappe.get_all(
		DOCTYPE,
		filters={"customer_email": "grace@example.com"},
		fields=["host", "scheduled_time", "duration", "status"],
	)
	assert row == [{"host": OTHER, "scheduled_time": picked, "duration": 45, "status": "Scheduled"}]


def test_a_double_booking_in_the_desk_names_the_clashing_time_and_outside_hours_only_warns(page):
	day = getdate(nowdate()) + timedelta(days=3)
	factories.host("manager", hours=[(day.weekday(), "09:00", "17:00")])
	taken = datetime.combine(day, time(10, 0))
	saved(customer_name="First Customer", status="scheduled", host=OTHER, scheduled_time=taken, duration=60)

	browser.open_route(page, page.base, f"{LIST}/new")
	fill = lambda fieldname, value: page.locator(  # noqa: E731
		f'.frappe-control[data-fieldname="{fieldname}"] input'
	).fill(value)
	fill("customer_name", "Second Customer")
	fill("customer_email", "second@example.com")
	page.locator('.frappe-control[data-fieldname="status"] select').select_option("Scheduled")
	fill("scheduled_time", browser.user_datetime(page, str(taken + timedelta(minutes=30))))
	page.locator(".page-title").click()  # close the date picker
	fill("host", OTHER)
	page.locator('.frappe-control[data-fieldname="host"] input').press("Tab")
	browser.wait_idle(page)
	page.keyboard.press("Control+s")
	text = message_dialog_text(page)
	# The clashing time, in the site's format, and not the other customer.
	expected = f"{OTHER_NAME} already has an appointment from {format_datetime(taken)} to {format_time(taken + timedelta(hours=1))} (Asia/Kolkata)."
	assert expected in text
	assert "First Customer" not in text
	assert frappe.db.count(DOCTYPE, {"customer_email": "second@example.com"}) == 0

	# Outside the host's hours is the staff's call: saved, with a warning.
	page.locator(".modal.show .btn-modal-close").first.click()
	page.wait_for_selector(".modal.show", state="hidden")
	# Typing a time is tested above; here the form is given the new time directly, so the save cannot
	# race the date control's debounce (after the dialog, on a busy machine, it sometimes saved the
	# clashing time again).
	page.evaluate(
		"value => cur_frm.set_value('scheduled_time', value)", str(datetime.combine(day, time(18, 0)))
	)
	page.wait_for_function("() => (cur_frm.doc.scheduled_time || '').includes(' 18:00')")
	browser.wait_idle(page)
	page.keyboard.press("Control+s")
	page.locator(".desk-alert", has_text=f"This is outside {OTHER_NAME}'s hours").wait_for()
	page.wait_for_url(f"**{LIST}/appointment_*")
	frappe.db.rollback()
	assert frappe.db.get_value(
		DOCTYPE, {"customer_email": "second@example.com"}, ["host", "scheduled_time"]
	) == (OTHER, datetime.combine(day, time(18, 0)))


@pytest.fixture
def manager_page(request, playwright_browser, live_server, committed):
	"""A CRM Appointment Manager, logged in."""
	update_password(OTHER, PASSWORD)
	frappe.db.commit()
	with browser.desk_session(request, playwright_browser, live_server, OTHER, PASSWORD) as page:
		yield page


def type_time(page, row, value_of: str, fieldname: str, value: str):
	"""Type a time into a grid cell and wait until the row holds it. The time control sets the row's
	value after a debounce, and a busy machine can re-draw the row in between and drop what was
	typed: then type it again, as a person who sees the cell empty would."""
	cell = row.locator(f'.grid-static-col[data-fieldname="{fieldname}"]')
	for _attempt in range(3):
		cell.click()
		field = cell.locator("input")
		field.fill(value)
		field.blur()
		try:
			page.wait_for_function(f"() => {value_of}", timeout=5_000)
			return
		except PlaywrightTimeoutError:
			continue
	raise AssertionError(f"the {fieldname} cell never took {value}")


def test_a_manager_sets_up_a_host_with_two_blocks_in_a_day_within_a_minute(manager_page):
	"""New host: their user, Add Row and two times, twice (Monday is the first day offered), save."""
	page = manager_page
	for doctype, field in (("CRM Appointment Host", "name"), ("CRM Appointment Host Hours", "parent")):
		frappe.db.delete(doctype, {field: HOST})
	frappe.db.commit()
	started = time_module.monotonic()
	browser.open_route(page, page.base, "/app/crm-appointment-host/new")
	user = page.locator('.frappe-control[data-fieldname="user"] input')
	user.fill(HOST)
	user.press("Tab")
	grid = page.locator('.frappe-control[data-fieldname="working_hours"]')
	for index, (start, end) in enumerate((("09:00", "12:00"), ("13:00", "17:00")), start=1):
		grid.locator(".grid-add-row").click()
		row = grid.locator(f'.grid-body .grid-row[data-idx="{index}"]')
		# A cell becomes a field when clicked; Day starts as Monday, its first option.
		for fieldname, value in (("from_time", start), ("to_time", end)):
			type_time(
				page,
				row,
				f"((cur_frm.doc.working_hours || [])[{index - 1}] || {{}}).{fieldname}",
				fieldname,
				value,
			)
	# The grid's time controls set the row's value after a debounce: save once both rows hold theirs.
	page.wait_for_function(
		"() => (cur_frm.doc.working_hours || []).length === 2"
		" && cur_frm.doc.working_hours.every(row => row.from_time && row.to_time)"
	)
	browser.wait_idle(page)
	page.keyboard.press("Control+s")
	summary = page.locator('.frappe-control[data-fieldname="weekly_summary"]')
	expect(summary).to_contain_text("Mon 09:00\u201312:00, 13:00\u201317:00", timeout=20_000)
	elapsed = time_module.monotonic() - started
	assert elapsed < 60, f"setting up a host took {elapsed:.0f} s"
	browser.screenshot(page, "host_form")
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment Host", HOST, "weekly_summary") == (
		"Mon 09:00\u201312:00, 13:00\u201317:00"
	)


def offered_hosts(field) -> str:
	"""What a Link field's dropdown lists for an empty search (each host's name and user id)."""
	field.click()
	field.fill("")
	listbox = field.locator("xpath=ancestor::div[contains(@class, 'awesomplete')]").locator(
		'[role="listbox"]'
	)
	listbox.locator('[role="option"]', has_text=OTHER).wait_for()
	return listbox.inner_text()


def test_the_host_fields_offer_only_enabled_hosts(page):
	factories.host("user")
	factories.host("manager")
	factories.host("Administrator", enabled=0)
	frappe.db.commit()
	browser.open_route(page, page.base, LIST)
	page.click(".page-actions .primary-action")  # quick entry
	quick = offered_hosts(page.locator('.modal.show input[data-fieldname="host"]'))
	page.keyboard.press("Escape")
	browser.open_route(page, page.base, f"{LIST}/new")
	form = offered_hosts(page.locator('.frappe-control[data-fieldname="host"] input'))
	page.click('.page-actions button:has-text("Find a time")')
	dialog = offered_hosts(page.locator('.modal.show input[data-fieldname="host"]'))
	for offered in (quick, form, dialog):
		assert HOST in offered and OTHER in offered
		assert "Administrator" not in offered


def test_a_manager_sets_up_a_type_and_choosing_it_on_an_appointment_sets_its_length_and_place(
	manager_page,
):
	"""New type: title, length, in person at the shop; then a new appointment of that type."""
	page = manager_page
	browser.open_route(page, page.base, "/app/crm-appointment-type/new")
	page.locator('.frappe-control[data-fieldname="title"] input').fill("Fitting")
	page.locator('.frappe-control[data-fieldname="duration"] input').fill("60")
	page.locator('.frappe-control[data-fieldname="buffer_after"] input').fill("15")
	page.locator('.frappe-control[data-fieldname="location_kind"] select').select_option("In person")
	address = page.locator('.frappe-control[data-fieldname="location"] textarea')
	address.wait_for()
	address.fill("Hauptstraße 5, Berlin")
	browser.wait_idle(page)
	page.keyboard.press("Control+s")
	page.wait_for_function(
		"() => cur_frm && !cur_frm.is_new() && cur_frm.doc.name === 'fitting'", timeout=20_000
	)
	page.evaluate("() => window.scrollTo(0, 0)")
	browser.screenshot(page, "type_form")
	frappe.db.rollback()
	assert frappe.db.get_value(
		"CRM Appointment Type", "fitting", ["duration", "buffer_after", "location"]
	) == (
		60,
		15,
		"Hauptstraße 5, Berlin",
	)

	browser.open_route(page, page.base, "/app/crm-appointment/new")
	kind = page.locator('.frappe-control[data-fieldname="appointment_type"] input')
	kind.fill("fitting")
	kind.locator("xpath=ancestor::div[contains(@class, 'awesomplete')]").locator(
		'[role="option"]', has_text="fitting"
	).first.click()
	page.wait_for_function(
		"() => cur_frm.doc.duration === 60 && cur_frm.doc.location === 'Hauptstraße 5, Berlin'",
		timeout=20_000,
	)
