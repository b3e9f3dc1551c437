"""The booking pages as a visitor uses them: headless Chromium against the live server, at phone
(360 px) and desktop width, in the visitor's own time zone (the browser's, Europe/Berlin here).

Each page must load and work without a JavaScript error; the database shows what happened.
"""

import re
from datetime import date, timedelta

import frappe
import pytest
from playwright.sync_api import expect, sync_playwright

from tests import browser, factories
from tests.factories import USERS
from tests.test_api_bookings import berlin, mail_to, parts, site_time, token_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def chromium():
	if not browser.chromium_path():
		pytest.fail("Chromium is not installed (scripts/test.sh installs Debian's chromium)")
	with sync_playwright() as playwright:
		launched = browser.launch(playwright)
		yield launched
		launched.close()


@pytest.fixture
def open_booking(committed):
	factories.host("user", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	with factories.booking_settings(
		enable_public_booking=1,
		booking_duration=60,
		slot_interval=0,
		booking_page_title="Book a call",
		booking_intro="Thirty minutes with one of our advisers. Pick a time that suits you.",
	):
		yield


@pytest.fixture
def visitor(request, chromium, live_server):
	"""visitor(viewport) -> a new page of a guest in Berlin; each page's JavaScript errors are checked
	at the end of the test."""
	contexts, errors = [], []

	def open_page(viewport=DESKTOP, forwarded_for=None):
		context = chromium.new_context(
			viewport=viewport,
			locale="en-GB",
			timezone_id="Europe/Berlin",
			extra_http_headers={
				"X-Forwarded-For": forwarded_for or f"10.9.{len(contexts)}.{id(request) % 250}"
			},
		)
		contexts.append(context)
		page = context.new_page()
		page.set_default_timeout(20_000)
		page.on("pageerror", lambda error: errors.append(str(error)))
		# A refused request (a 404, the 409 of a taken time) is logged by the browser: not a script error.
		page.on(
			"console",
			lambda msg: msg.type == "error" and not refused_request(msg.text) and errors.append(msg.text),
		)
		page.base = live_server
		return page

	yield open_page
	report = getattr(request.node, "report_call", None)
	if report is not None and report.failed:
		for i, context in enumerate(contexts):
			if context.pages:
				browser.save_failure(context.pages[0], f"{request.node.name}-{i}")
	for context in contexts:
		context.close()
	assert not errors, f"JavaScript errors on the page: {errors}"


def refused_request(text: str) -> bool:
	return text.startswith("Failed to load resource: the server responded with a status of 4")


def day(n: int) -> str:
	return (date.today() + timedelta(days=n)).isoformat()


def slot_labels(page) -> list[str]:
	return page.locator("[data-slots] label").all_inner_texts()


def open_day(page, n: int):
	page.fill("#book-day", day(n))
	page.locator("#book-day").dispatch_event("change")
	wait_for_slots(page)


def wait_for_slots(page):
	page.wait_for_selector("[data-slots][aria-busy=false]", state="attached")


def no_sideways_scroll(page):
	width = page.evaluate("() => document.documentElement.scrollWidth")
	assert width <= page.viewport_size["width"], f"the page is {width}px wide"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_visitor_books_a_free_time_and_is_told_an_email_is_on_its_way(open_booking, visitor, viewport):
	page = visitor(viewport)
	page.goto(f"{page.base}/book")
	expect(page.locator("h1")).to_have_text("Book a call")
	expect(page.locator(".book-intro")).to_contain_text("Pick a time that suits you.")
	expect(page.locator("#book-zone")).to_have_value("Europe/Berlin")
	open_day(page, 3)
	assert slot_labels(page) == ["09:00", "10:00", "11:00"]
	no_sideways_scroll(page)
	browser.screenshot(page, f"book-{'phone' if viewport is PHONE else 'desktop'}")

	page.get_by_label("10:00").check()
	page.get_by_label("Name").fill("Ada Lovelace")
	page.get_by_label("Email").fill("ada.browser@example.org")
	page.get_by_label("Phone").fill("+44 20 7946 0000")
	page.get_by_role("button", name="Book").click()

	done = page.locator("#book-done")
	expect(done).to_be_visible()
	expect(done).to_contain_text("10:00")
	expect(done).to_contain_text("Europe/Berlin")
	expect(done).to_contain_text("email is on its way to ada.browser@example.org")
	no_sideways_scroll(page)
	frappe.db.rollback()
	booked = frappe.get_all(
		"CRM Appointment",
		filters={"customer_email": "ada.browser@example.org"},
		fields=["name", "host", "status", "customer_phone_number"],
	)
	assert [(b.host, b.status, b.customer_phone_number) for b in booked] == [
		(USERS["user"], "Scheduled", "+44 20 7946 0000")
	]


def test_the_whole_booking_works_from_the_keyboard(open_booking, visitor):
	page = visitor(DESKTOP)
	with factories.booking_settings(booking_intro="Call <b>us</b> & <script>x()</script>"):
		page.goto(f"{page.base}/book")
		expect(page.locator(".book-intro")).to_have_text("Call <b>us</b> & <script>x()</script>")  # as typed
	open_day(page, 4)
	page.locator("[data-slots] input").first.focus()
	page.keyboard.press("ArrowRight")  # radios: the arrow moves to the next time and picks it
	assert page.locator("[data-slots] input:checked").evaluate("e => e.nextSibling.textContent") == "10:00"
	page.keyboard.press("Tab")
	page.keyboard.type("Keyboard User")
	page.keyboard.press("Tab")
	page.keyboard.type("keys@example.org")
	for _ in range(2):  # phone, notes: left empty; the honeypot is out of the tab order
		page.keyboard.press("Tab")
	page.keyboard.press("Tab")
	assert page.evaluate("() => document.activeElement.id") == "book-submit"
	page.keyboard.press("Enter")
	expect(page.locator("#book-done")).to_be_focused()


def test_the_time_zone_can_be_changed_and_the_times_follow(open_booking, visitor):
	page = visitor(PHONE)
	page.goto(f"{page.base}/book")
	open_day(page, 5)
	assert slot_labels(page) == ["09:00", "10:00", "11:00"]
	page.select_option("#book-zone", "America/New_York")
	wait_for_slots(page)
	assert slot_labels(page) == ["03:00", "04:00", "05:00"]


def test_of_two_visitors_picking_the_last_free_time_one_books_it_the_other_is_told_and_shown_the_rest(
	open_booking, visitor
):
	first, second = visitor(DESKTOP), visitor(PHONE)
	for page, name in ((first, "First"), (second, "Second")):
		page.goto(f"{page.base}/book")
		open_day(page, 6)
		page.get_by_label("11:00").check()
		page.get_by_label("Name").fill(f"{name} Visitor")
		page.get_by_label("Email").fill(f"{name.lower()}.race@example.org")

	first.get_by_role("button", name="Book").click()
	expect(first.locator("#book-done")).to_be_visible()
	second.get_by_role("button", name="Book").click()

	expect(second.locator("#book-message")).to_contain_text("just taken")
	expect(second.locator("#book-done")).to_be_hidden()
	expect(second.locator("[data-slots] label")).to_have_count(2)
	assert slot_labels(second) == ["09:00", "10:00"]
	frappe.db.rollback()
	assert frappe.db.count("CRM Appointment", {"customer_email": ("like", "%.race@example.org")}) == 1


def test_while_booking_is_off_the_page_says_so(committed, visitor):
	with factories.booking_settings(enable_public_booking=0):
		page = visitor(PHONE)
		page.goto(f"{page.base}/book")
		expect(page.locator("#book-closed")).to_contain_text("not available")
		expect(page.locator("#book-form")).to_have_count(0)
		browser.screenshot(page, "book-closed-phone")


def guest_booking(live_server, start: str) -> tuple[str, str]:
	import requests

	response = requests.post(
		f"{live_server}/api/crm/bookings",
		json={"customer_name": "Grace Hopper", "customer_email": "grace.page@example.org", "start": start},
		headers={"X-Forwarded-For": "10.77.0.1"},
		timeout=30,
	)
	assert response.status_code == 200, response.text
	name = response.json()["id"]
	return name, token_in(parts(mail_to(name, "Booked")[0])[0])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_manage_page_reschedules_through_the_slot_picker_then_cancels(
	open_booking, visitor, live_server, viewport
):
	name, token = guest_booking(live_server, berlin(3, 9))
	page = visitor(viewport)
	page.goto(f"{page.base}/book/manage/{token}")
	expect(page.locator("#manage-when")).to_contain_text("09:00")
	expect(page.locator("#manage-when")).to_contain_text("Europe/Berlin")
	open_day(page, 3)
	assert slot_labels(page) == ["10:00", "11:00"]  # its own time is taken (by itself)
	no_sideways_scroll(page)
	browser.screenshot(page, f"book-manage-{'phone' if viewport is PHONE else 'desktop'}")

	page.get_by_label("11:00").check()
	page.get_by_role("button", name="Move to this time").click()
	expect(page.locator("#manage-message")).to_contain_text("Moved to")
	expect(page.locator("#manage-when")).to_contain_text("11:00")
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", name, "scheduled_time") == site_time(berlin(3, 11))

	page.get_by_label("Reason (optional)").fill("Cannot make it after all")
	page.get_by_role("button", name="Cancel appointment").click()
	expect(page.locator("#manage-message")).to_contain_text("cancelled")
	expect(page.locator("#manage-status")).to_have_text("Cancelled")
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", name, "status") == "Cancelled"

	page.reload()
	expect(page.locator("#manage-final")).to_be_visible()
	expect(page.locator("#manage-cancel")).to_have_count(0)


def test_an_unknown_manage_link_is_the_sites_not_found_page(open_booking, visitor):
	page = visitor(PHONE)
	response = page.goto(f"{page.base}/book/manage/not-a-real-token-{'x' * 30}")
	assert response.status == 404
	assert not re.search(r"Grace|appointment_", page.content())
