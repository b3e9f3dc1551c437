"""The booking pages of appointment types as a visitor uses them (contract.md, "Appointment types"):
headless Chromium against the live server, in Berlin, at phone (375 px) and desktop width.

Two hosts, the test user and the manager, work 09:00-12:00 Berlin every day. The site's own
`appointment` type is taken off /book, which then offers two types:
- `consult`: 30 minutes in the shop, the customer picks the host, a required question, a Select and
  a Check;
- `call`: 15 minutes by phone (the customer's number, so the phone field is required), any free host.

Each page must work without a JavaScript error (the `visitor` fixture checks), from the keyboard
alone, and pass axe-core's WCAG 2.1 AA rules; the database shows what happened.
"""

import json
import os
import re

import frappe
import pytest
import requests
from playwright.sync_api import expect

from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE, DEFAULT_TYPE, HOST
from crm_appointments.scheduling import timing
from crm_appointments.www.book.page_context import clear_page_cache
from tests import browser, factories, test_booking_browser
from tests.factories import USERS
from tests.test_api_bookings import mail_to, parts, token_in
from tests.test_booking_browser import DESKTOP, no_sideways_scroll, wait_for_slots

pytestmark = [pytest.mark.slow, pytest.mark.browser]

chromium, visitor = test_booking_browser.chromium, test_booking_browser.visitor  # the fixtures

PHONE = {"width": 375, "height": 740}
HOURS = [(d, "09:00", "12:00") for d in range(7)]
SHOP = "Hauptstraße 5\n10115 Berlin"
AXE = os.path.join(os.environ.get("CRM_TEST_TOOLS", ""), "node_modules", "axe-core", "axe.min.js")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def two_types(committed):
	"""The hosts and the two types of the module's docstring; public booking on. Yields the hosts'
	handles and names by kind ("user", "manager")."""
	for kind in ("user", "manager"):
		factories.host(kind, hours=HOURS, time_zone="Europe/Berlin")
	frappe.db.set_value(APPOINTMENT_TYPE, DEFAULT_TYPE, "public", 0)
	timing.forget_types()  # set_value goes around the type's hooks
	make_type(
		title="Consultation",
		slug="consult",
		description="Bring your plans: we look at them together.",
		duration=30,
		host_choice="Customer picks",
		location_kind="In person",
		location=SHOP,
		questions=[
			{"label": "Company", "kind": "Data", "required": 1},
			{"label": "Topic", "kind": "Select", "options": "Kitchen\nBathroom\nGarden"},
			{"label": "Existing customer", "kind": "Check"},
		],
	)
	make_type(title="Phone call", slug="call", duration=15, location_kind="Phone")
	frappe.db.commit()
	hosts = {
		kind: frappe.db.get_value(HOST, USERS[kind], ["slug", "full_name"], as_dict=True)
		for kind in ("user", "manager")
	}
	with factories.booking_settings(
		enable_public_booking=1, minimum_notice=120, booking_horizon=30, slot_interval=0
	):
		yield hosts
	frappe.db.rollback()
	frappe.db.set_value(APPOINTMENT_TYPE, DEFAULT_TYPE, "public", 1)
	frappe.db.commit()
	timing.forget_types()  # set_value goes around the type's hooks
	clear_page_cache()


def make_type(**fields):
	return frappe.get_doc({"doctype": APPOINTMENT_TYPE, **fields}).insert(ignore_permissions=True)


# -- helpers ------------------------------------------------------------------------------------------------


def axe_violations(page, exclude=()) -> list[dict]:
	"""axe-core's WCAG 2.1 A and AA violations on the page as it is now."""
	assert os.path.isfile(AXE), f"axe-core is not installed at {AXE} (scripts/test.sh installs it)"
	page.add_script_tag(path=AXE)
	return page.evaluate(
		"""async ([tags, exclude]) => {
			const result = await axe.run({ exclude: exclude.map((s) => [s]) }, { runOnly: { type: "tag", values: tags } });
			return result.violations.map((v) => ({
				id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
			}));
		}""",
		[WCAG_21_AA, list(exclude)],
	)


def assert_accessible(page):
	violations = axe_violations(page)
	assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)


def tab_to(page, is_there: str, limit: int = 60):
	"""Press Tab until `is_there` (a JavaScript expression about document.activeElement, `el`) holds."""
	for _ in range(limit):
		page.keyboard.press("Tab")
		if page.evaluate(f"() => {{ const el = document.activeElement; return !!({is_there}); }}"):
			return
	raise AssertionError(f"Tab never reached {is_there}")


def focused(page, expression: str):
	return page.evaluate(f"() => {{ const el = document.activeElement; return {expression}; }}")


def first_free_slot_by_keyboard(page):
	"""From the host choice or above: Tab into the times; when the day shown has none, Enter on "Show
	<the next day with free times>"; Space picks the time that has the focus. Returns its label."""
	wait_for_slots(page)
	tab_to(page, "el.closest('[data-slots]')")
	if focused(page, "el.tagName") == "BUTTON":
		page.keyboard.press("Enter")
		assert focused(page, "el.name") == "slot"
	page.keyboard.press("Space")
	assert focused(page, "el.checked")
	return focused(page, "el.nextSibling.textContent")


def pick_first_time(page) -> str:
	"""The first free time (on the next day with any, when the day shown has none), by pointer."""
	wait_for_slots(page)
	if page.locator("[data-slots] button").count():
		page.locator("[data-slots] button").click()
	label = page.locator("[data-slots] label").first
	label.click()
	return label.inner_text()


def booked(email: str):
	frappe.db.rollback()
	return frappe.get_all(
		APPOINTMENT,
		filters={"customer_email": email},
		fields=["name", "host", "appointment_type", "location", "answers", "customer_phone_number"],
	)


# -- the list ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_book_lists_the_public_types_and_a_click_opens_the_types_picker(two_types, visitor, viewport):
	page = visitor(viewport)
	page.goto(f"{page.base}/book")
	cards = page.locator("#book-types > li")
	expect(cards).to_have_count(2)
	expect(cards.nth(0)).to_contain_text("Consultation")
	expect(cards.nth(0)).to_contain_text("30 minutes")
	expect(cards.nth(0)).to_contain_text("In person at Hauptstraße 5, 10115 Berlin")
	expect(cards.nth(0)).to_contain_text("Bring your plans")
	expect(cards.nth(1)).to_contain_text("Phone call")
	expect(cards.nth(1)).to_contain_text("15 minutes")
	expect(cards.nth(1)).to_contain_text("By phone")
	expect(page.locator("#book-form")).to_have_count(0)
	no_sideways_scroll(page)
	assert_accessible(page)
	browser.screenshot(page, f"book-types-{'phone' if viewport is PHONE else 'desktop'}")

	page.get_by_role("link", name="Consultation").click()
	page.wait_for_url(f"{page.base}/book/consult")
	expect(page.locator("h1")).to_have_text("Consultation")
	expect(page.locator("#book-type-summary")).to_contain_text("Hauptstraße 5")
	host_choice = page.locator("#book-hosts")
	expect(host_choice.get_by_label("Anyone available")).to_be_checked()
	expect(host_choice.get_by_label(two_types["user"].full_name)).to_have_count(1)
	expect(host_choice.get_by_label(two_types["manager"].full_name)).to_have_count(1)
	expect(page.get_by_label("Company")).to_have_attribute("required", "")
	expect(page.get_by_label("Topic")).to_have_js_property("tagName", "SELECT")
	expect(page.get_by_label("Existing customer")).to_have_attribute("type", "checkbox")
	expect(page.locator(".book-length")).to_have_text("Appointments last 30 minutes.")
	wait_for_slots(page)
	no_sideways_scroll(page)
	assert_accessible(page)
	browser.screenshot(page, f"book-type-{'phone' if viewport is PHONE else 'desktop'}")
	page.get_by_role("link", name="All kinds of appointment").click()
	page.wait_for_url(f"{page.base}/book")


# -- booking a type -----------------------------------------------------------------------------------


def test_a_customer_picks_a_host_answers_the_questions_and_books_by_keyboard_alone(two_types, visitor):
	manager = two_types["manager"]
	page = visitor(DESKTOP)
	slot_queries = []
	page.on("request", lambda r: "/api/crm/slots" in r.url and slot_queries.append(r.url))
	page.goto(f"{page.base}/book/consult")
	wait_for_slots(page)
	tab_to(page, "el.name === 'book_host'")
	assert focused(page, "el.id") == "book-host-any"
	for _ in range(3):  # radios: the arrows move along the hosts and pick
		if focused(page, "el.value") == manager.slug:
			break
		page.keyboard.press("ArrowDown")
	expect(page.locator("#book-hosts input:checked + label")).to_contain_text(manager.full_name)
	time = first_free_slot_by_keyboard(page)
	assert f"host={manager.slug}" in slot_queries[-1]  # the times shown are the picked host's
	assert "host=" not in slot_queries[0]  # anyone available
	tab_to(page, "el.id === 'book-name'")
	page.keyboard.type("Keyboard Customer")
	page.keyboard.press("Tab")
	page.keyboard.type("keys.consult@example.org")
	tab_to(page, "el.id === 'book-q-1'")  # past the phone and the notes, left empty
	page.keyboard.type("Lovelace & <Babbage>")
	page.keyboard.press("Tab")
	assert focused(page, "el.dataset.question") == "Topic"
	page.keyboard.press("ArrowDown")  # a closed select takes the next choice
	page.keyboard.press("ArrowDown")
	page.keyboard.press("Tab")
	assert focused(page, "el.dataset.question") == "Existing customer"
	page.keyboard.press("Space")
	page.keyboard.press("Tab")
	assert focused(page, "el.id") == "book-submit"
	page.keyboard.press("Enter")

	done = page.locator("#book-done")
	expect(done).to_be_focused()
	expect(done).to_contain_text(time)
	expect(done).to_contain_text(manager.full_name)
	expect(page.locator("#book-done-where")).to_have_text(f"Where: {SHOP}")
	expect(done).to_contain_text("email is on its way to keys.consult@example.org")
	assert_accessible(page)
	[appointment] = booked("keys.consult@example.org")
	assert (appointment.host, appointment.appointment_type, appointment.location) == (
		USERS["manager"],
		"consult",
		SHOP,
	)
	assert json.loads(appointment.answers) == [
		{"question": "Company", "answer": "Lovelace & <Babbage>"},
		{"question": "Topic", "answer": "Bathroom"},
		{"question": "Existing customer", "answer": "Yes"},
	]

	# The manage link of the confirmation shows the kind and the place, and passes axe too.
	token = token_in(parts(mail_to(appointment.name, "Booked")[0])[0])
	page.goto(f"{page.base}/book/manage/{token}")
	expect(page.locator("#manage-type")).to_have_text("Consultation")
	expect(page.locator("#manage-where")).to_have_text(SHOP)
	wait_for_slots(page)
	assert_accessible(page)


def test_a_missing_required_answer_is_shown_beside_the_questions_and_books_nothing(two_types, visitor):
	page = visitor(PHONE)
	page.goto(f"{page.base}/book/consult")
	pick_first_time(page)
	page.get_by_label("Name").fill("Forgetful Customer")
	page.get_by_label("Email").fill("forgetful@example.org")
	page.get_by_role("button", name="Book").click()

	message = page.locator("#book-questions #book-answers-message")
	expect(message).to_be_visible()
	expect(message).to_contain_text("Company")
	company = page.get_by_label("Company")
	expect(company).to_be_focused()
	expect(company).to_have_attribute("aria-invalid", "true")
	expect(page.locator("#book-done")).to_be_hidden()
	no_sideways_scroll(page)
	assert_accessible(page)  # a time picked, a message shown, a field marked
	assert not booked("forgetful@example.org")

	company.fill("Remembered Ltd")
	page.get_by_role("button", name="Book").click()
	expect(page.locator("#book-done")).to_be_visible()
	expect(company).not_to_have_attribute("aria-invalid", "true")
	assert len(booked("forgetful@example.org")) == 1


def test_the_address_of_a_host_books_that_host(two_types, visitor):
	user = two_types["user"]
	page = visitor(DESKTOP)
	with page.expect_request(lambda r: "/api/crm/slots" in r.url) as slots_request:
		page.goto(f"{page.base}/book/consult/{user.slug}")
	assert f"host={user.slug}" in slots_request.value.url and "type=consult" in slots_request.value.url
	expect(page.locator("#book-hosts")).to_have_count(0)  # no choice: the address made it
	expect(page.locator("#book-with")).to_have_text(user.full_name)
	pick_first_time(page)
	page.get_by_label("Name").fill("Host Picker")
	page.get_by_label("Email").fill("host.picker@example.org")
	page.get_by_label("Company").fill("Picked Ltd")
	with page.expect_request(lambda r: r.url.endswith("/api/crm/bookings")) as booking_request:
		page.get_by_role("button", name="Book").click()
	body = booking_request.value.post_data_json
	assert (body["type"], body["host"], body["answers"]) == (
		"consult",
		user.slug,
		{"Company": "Picked Ltd", "Existing customer": False},
	)
	expect(page.locator("#book-done")).to_contain_text(user.full_name)
	[appointment] = booked("host.picker@example.org")
	assert appointment.host == USERS["user"]


def test_a_phone_type_asks_for_the_number_and_the_confirmation_gives_it(two_types, visitor):
	page = visitor(PHONE)
	page.goto(f"{page.base}/book/call")
	expect(page.locator("#book-hosts")).to_have_count(0)
	expect(page.locator("#book-questions")).to_have_count(0)
	phone = page.get_by_label("Phone")
	expect(phone).to_have_attribute("required", "")
	pick_first_time(page)
	no_sideways_scroll(page)
	page.get_by_label("Name").fill("Phone Customer")
	page.get_by_label("Email").fill("phone.customer@example.org")
	page.get_by_role("button", name="Book").click()
	expect(phone).to_be_focused()  # the browser says why, on the field
	expect(phone).to_have_attribute("aria-invalid", "true")
	assert not booked("phone.customer@example.org")

	phone.fill("+49 30 1234567")
	page.get_by_role("button", name="Book").click()
	expect(page.locator("#book-done-where")).to_have_text("By phone: +49 30 1234567")
	no_sideways_scroll(page)
	[appointment] = booked("phone.customer@example.org")
	assert (appointment.appointment_type, appointment.location) == ("call", "+49 30 1234567")


# -- what the server serves ---------------------------------------------------------------------------------


def page_of(live_server, path: str) -> requests.Response:
	return requests.get(f"{live_server}{path}", headers={"X-Forwarded-For": "10.78.0.1"}, timeout=30)


def test_no_public_type_no_host_to_pick_and_no_other_address_is_a_page(two_types, live_server):
	make_type(title="Internal", slug="internal", public=0)
	make_type(title="Retired", slug="retired", enabled=0)
	frappe.db.commit()
	for path in (
		"/book/no-such-type",
		"/book/internal",
		"/book/retired",
		f"/book/{DEFAULT_TYPE}",  # no longer public
		f"/book/call/{two_types['user'].slug}",  # any free host: the customer picks none
		"/book/consult/no-such-host",
		f"/book/consult/{USERS['user']}",  # a user id is not a handle
		"/book/Consult",
	):
		for _ in range(2):  # a 404 again, not the page cache's copy of one with a 200
			assert page_of(live_server, path).status_code == 404, path
	for path in ("/book", "/book/consult", f"/book/consult/{two_types['manager'].slug}", "/book/call"):
		assert page_of(live_server, path).status_code == 200, path


def test_each_booking_page_is_cached_under_its_own_address_and_saving_a_type_clears_it(
	two_types, live_server
):
	for path, shows in (("/book", "Choose a kind of appointment"), ("/book/call", "Phone call")):
		page_of(live_server, path)
		again = page_of(live_server, path)
		assert again.headers["X-From-Cache"] == "True", path
		assert shows in again.text
	# A query string does not reach the page, nor the page kept for its address.
	assert "book-types" in page_of(live_server, "/book?type=call").text
	assert "book-types" in page_of(live_server, "/book").text

	call = frappe.get_doc(APPOINTMENT_TYPE, "call")
	call.title = "Quick <call>"
	call.description = "Ten minutes & <script>alert(1)</script>"
	call.append("questions", {"label": 'Best time <i>"now"</i>', "kind": "Select", "options": "<b>9</b>"})
	call.save()
	frappe.db.commit()
	fresh = page_of(live_server, "/book/call")
	assert fresh.headers["X-From-Cache"] == "False"
	# Escaped, as everything an admin typed.
	assert "<h1>Quick &lt;call&gt;</h1>" in fresh.text
	assert "Ten minutes &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in fresh.text
	assert "Best time &lt;i&gt;&#34;now&#34;&lt;/i&gt;" in fresh.text
	assert "&lt;b&gt;9&lt;/b&gt;" in fresh.text
	assert not re.search(r"<(i|b|script)>(\"now|9|alert)", fresh.text)
	assert "Quick &lt;call&gt;" in page_of(live_server, "/book").text


def test_saving_a_host_clears_the_pages_that_show_them(two_types, live_server):
	manager = two_types["manager"]
	page_of(live_server, "/book/consult")
	cached = page_of(live_server, "/book/consult")
	assert cached.headers["X-From-Cache"] == "True"
	assert f'value="{manager.slug}"' in cached.text
	assert USERS["manager"] not in cached.text  # a host's handle and name, never their email
	host = frappe.get_doc(HOST, USERS["manager"])
	host.enabled = 0
	host.save(ignore_permissions=True)
	frappe.db.commit()
	fresh = page_of(live_server, "/book/consult")
	assert fresh.headers["X-From-Cache"] == "False"
	assert f'value="{manager.slug}"' not in fresh.text
	assert f'value="{two_types["user"].slug}"' in fresh.text
	assert page_of(live_server, f"/book/consult/{manager.slug}").status_code == 404
