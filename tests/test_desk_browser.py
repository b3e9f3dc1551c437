"""The desk, as staff use it, in headless Chromium against a live server of the test site.

Each test logs in through the login page as a CRM Appointment User, works through the pages and
checks what the database holds afterwards. Data is made through the ORM and committed (the server
is another process); the `committed` fixture removes it.
"""

import re
import time as time_module
from datetime import datetime, time, timedelta

import frappe
import pytest
from frappe.utils import get_first_day_of_week, get_last_day, get_last_day_of_week, getdate, nowdate
from frappe.utils.password import update_password
from playwright.sync_api import expect, sync_playwright

from tests import browser, factories

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PASSWORD = "Desk-staff-1!"
DOCTYPE = "CRM Appointment"
LIST = "/app/crm-appointment"


@pytest.fixture(scope="module")
def playwright_browser():
	if not browser.chromium_path():
		pytest.fail("Chromium is not installed (scripts/test.sh installs Debian's chromium)")
	with sync_playwright() as playwright:
		chromium = browser.launch(playwright)
		yield chromium
		chromium.close()


@pytest.fixture(scope="module")
def staff(site):
	"""The desk user: CRM Appointment User, with a password to log in with."""
	email = factories.USERS["user"]
	update_password(email, PASSWORD)
	frappe.db.commit()
	return email


def forget_view_settings(user):
	"""Frappe remembers each user's last filters and views; every test starts and ends with none
	(the user's own "Mine" saved filter included)."""
	frappe.db.sql("delete from `__UserSettings` where `user` = %s", user)
	frappe.db.delete("List Filter", {"for_user": user})
	frappe.cache.delete_value("_user_settings")
	frappe.db.commit()


@pytest.fixture
def page(request, playwright_browser, live_server, staff, committed):
	forget_view_settings(staff)
	try:
		with browser.desk_session(request, playwright_browser, live_server, staff, PASSWORD) as page:
			yield page
	finally:
		forget_view_settings(staff)


def saved(**fields):
	"""An appointment made as the desk user would have made it, committed for the server to see."""
	frappe.set_user(factories.USERS["user"])
	doc = factories.make(**fields)
	frappe.set_user("Administrator")
	frappe.db.commit()
	return doc


def stored(name, fieldname="status"):
	frappe.db.rollback()  # see what the server committed, not this connection's snapshot
	return frappe.db.get_value(DOCTYPE, name, fieldname)


def eventually_stored(name, fieldname, expected, seconds=10):
	"""What the database holds once the browser's request has had time to land."""
	deadline = time_module.monotonic() + seconds
	while (value := stored(name, fieldname)) != expected and time_module.monotonic() < deadline:
		time_module.sleep(0.2)
	return value


def close_message(page):
	page.locator(".modal.show .btn-modal-close").first.click()
	page.wait_for_selector(".modal.show", state="hidden")
	browser.wait_idle(page)


def open_form(page, name):
	browser.open_route(page, page.base, f"{LIST}/{name}")
	page.wait_for_selector(f'.page-title:has-text("{frappe.db.get_value(DOCTYPE, name, "customer_name")}")')


def wait_for_status(page, label):
	"""Until the form's title shows the status, after its reload."""
	page.wait_for_selector(f'.page-head .indicator-pill:has-text("{label}")')
	browser.wait_idle(page)


def click_status_button(page, caption):
	page.click('.inner-group-button[data-label="Status"] button')
	page.click(f'.inner-group-button[data-label="Status"] .dropdown-item:has-text("{caption}")')


def message_dialog_text(page) -> str:
	dialog = page.locator(".modal.show .msgprint, .modal.show .modal-body").first
	dialog.wait_for()
	return dialog.inner_text()


def test_log_in_and_create_an_appointment_from_the_list(page):
	when = factories.future(days=3).replace(hour=10, minute=30, second=0)
	browser.open_route(page, page.base, LIST)
	page.click(".page-actions .primary-action")
	dialog = page.locator(".modal.show")
	dialog.locator('input[data-fieldname="customer_name"]').fill("Grace Hopper")
	dialog.locator('input[data-fieldname="customer_email"]').fill("Grace.Hopper@Example.com")
	dialog.locator('input[data-fieldname="scheduled_time"]').fill(
		browser.user_datetime(page, when.strftime("%Y-%m-%d %H:%M:%S"))
	)
	dialog.locator(".modal-title").click()  # close the date picker
	# The party picker offers only party DocTypes this site has: here Frappe's own Contact.
	picker = dialog.locator('input[data-fieldname="appointment_with"]')
	picker.click()
	picker.fill("")
	options = '.modal.show [data-fieldname="appointment_with"] [role="option"] p[title]'
	page.wait_for_selector(f'{options}[title="Contact"]')
	# Results are in bold; the rest are actions ("Advanced Search").
	offered = page.eval_on_selector_all(f"{options} > strong", "(els) => els.map((el) => el.innerText)")
	assert offered == ["Contact"]  # nothing else: a staff user cannot create DocTypes either
	dialog.locator(".modal-title").click()
	dialog.locator(".btn-primary").first.click()
	page.wait_for_selector(".modal.show", state="hidden")  # closed once the insert succeeded
	browser.wait_idle(page)

	frappe.db.rollback()
	rows = frappe.get_all(
		DOCTYPE,
		filters={"customer_email": "grace.hopper@example.com"},
		fields=["name", "customer_name", "scheduled_time", "status", "owner"],
	)
	assert len(rows) == 1
	assert rows[0].customer_name == "Grace Hopper"
	assert rows[0].scheduled_time == when
	assert rows[0].status == "Draft"
	assert rows[0].owner == factories.USERS["user"]


def test_confirm_then_complete_with_the_buttons(page):
	doc = saved(status="scheduled", scheduled_time=factories.future(days=2))
	open_form(page, doc.name)
	click_status_button(page, "Confirm")
	wait_for_status(page, "Confirmed")
	assert stored(doc.name) == "Confirmed"

	# Time passes: the appointment's start is now behind us.
	factories.let_time_pass(doc)
	frappe.db.commit()
	open_form(page, doc.name)
	click_status_button(page, "Complete")
	wait_for_status(page, "Completed")
	assert stored(doc.name) == "Completed"
	# Final: no moves left to offer, and the fields are read-only.
	assert page.locator('.inner-group-button[data-label="Status"]').count() == 0
	assert page.locator('.frappe-control[data-fieldname="customer_name"] input:visible').count() == 0


def test_a_refused_move_says_why_and_changes_nothing(page):
	doc = saved(status="scheduled", scheduled_time=factories.future(days=2))
	open_form(page, doc.name)
	click_status_button(page, "Complete")
	text = message_dialog_text(page)
	assert "only once its Scheduled Time has passed" in text
	assert "From Scheduled it can move to: Confirmed, Completed, Cancelled, No Show." in text
	assert stored(doc.name) == "Scheduled"


def test_cancel_with_a_reason_kept_in_the_timeline(page):
	doc = saved(status="scheduled", scheduled_time=factories.future(days=2))
	open_form(page, doc.name)
	click_status_button(page, "Cancel Appointment")
	dialog = page.locator(".modal.show")
	dialog.locator('textarea[data-fieldname="reason"]').fill("Customer is <b>ill</b>")
	dialog.locator(".btn-primary").click()
	wait_for_status(page, "Cancelled")
	assert stored(doc.name) == "Cancelled"
	timeline = page.locator(".timeline-item:has-text('Customer is')").first
	timeline.wait_for()
	# Shown as typed, escaped: no <b> element made from the reason.
	assert "Customer is <b>ill</b>" in timeline.inner_text()
	assert timeline.locator("b:has-text('ill')").count() == 0


def test_reschedule_dialog_moves_a_confirmed_appointment_back_to_scheduled(page):
	doc = saved(status="confirmed", scheduled_time=factories.future(days=2))
	new_time = factories.future(days=5).replace(hour=9, minute=15, second=0)
	open_form(page, doc.name)
	page.click('.page-actions button:has-text("Reschedule")')
	dialog = page.locator(".modal.show")
	dialog.locator('input[data-fieldname="scheduled_time"]').fill(
		browser.user_datetime(page, new_time.strftime("%Y-%m-%d %H:%M:%S"))
	)
	dialog.locator('input[data-fieldname="duration"]').fill("45")
	dialog.locator(".modal-title").click()  # close the date picker
	dialog.locator(".btn-primary").click()
	wait_for_status(page, "Scheduled")
	assert stored(doc.name, "scheduled_time") == new_time
	assert stored(doc.name, "duration") == 45
	assert stored(doc.name) == "Scheduled"


def test_a_datetime_field_shows_its_time_not_a_literal_ss(page):
	"""Frappe's time format has seconds; the datepicker writes the field's text, and an offline
	bench's datepicker (the registry's 2.2.3) needs the app's datepicker_seconds.js for them."""
	when = factories.future(days=2).replace(hour=10, minute=30, second=0)
	doc = saved(status="scheduled", scheduled_time=when)
	open_form(page, doc.name)
	field = page.locator('.frappe-control[data-fieldname="scheduled_time"] input')
	expected = browser.user_datetime(page, when.strftime("%Y-%m-%d %H:%M:%S"))
	assert expected.endswith("10:30:00")
	expect(field).to_have_value(expected)
	assert "ss" not in field.input_value()


def calendar_cell(page, day):
	return page.locator(f'.fc-month-view .fc-day-top[data-date="{day.isoformat()}"]').first


def calendar_event(page, name):
	return page.locator(f'.fc-event:has-text("{name}")').first


def open_month_calendar(page):
	page.evaluate("() => localStorage.setItem('cal_defaultView', 'month')")
	browser.open_route(page, page.base, f"{LIST}/view/calendar/default")
	page.wait_for_selector(".fc-month-view")


def test_dragging_in_the_calendar_reschedules_under_the_same_rules(page):
	today = getdate(nowdate())
	start = datetime.combine(today + timedelta(days=1), time(11, 0))
	movable = saved(customer_name="Drag Me", status="scheduled", scheduled_time=start)
	final = saved(customer_name="Final One", status="draft", scheduled_time=start)
	final.status = "cancelled"
	final.save()
	frappe.db.commit()

	open_month_calendar(page)
	browser.drag(page, calendar_event(page, "Drag Me"), calendar_cell(page, today + timedelta(days=2)))
	# Same time of day, one day later; the duration is kept.
	expected = start + timedelta(days=1)
	assert eventually_stored(movable.name, "scheduled_time", expected) == expected
	assert stored(movable.name, "duration") == movable.duration

	# A cancelled appointment cannot move: the reason is shown and the event goes back.
	browser.drag(page, calendar_event(page, "Final One"), calendar_cell(page, today + timedelta(days=2)))
	assert "only its notes (Customer Details) can change" in message_dialog_text(page)
	assert stored(final.name, "scheduled_time") == start
	close_message(page)
	cell_date = calendar_event(page, "Final One").evaluate(
		"(el) => el.closest('.fc-row').querySelector('.fc-content-skeleton thead td:nth-child(' "
		"+ (el.closest('td').cellIndex + 1) + ')').dataset.date"
	)
	assert cell_date == (today + timedelta(days=1)).isoformat()


def kanban_column(page, status):
	return page.locator(f'.kanban-column[data-column-value="{status}"]')


def kanban_card(page, name):
	return page.locator(f'.kanban-card-wrapper[data-name="{name}"]')


def test_kanban_moves_and_refused_moves_snap_back(page):
	doc = saved(customer_name="Kanban Card", status="scheduled", scheduled_time=factories.future(days=2))
	browser.open_route(page, page.base, f"{LIST}/view/kanban/CRM Appointments by Status")
	card = kanban_card(page, doc.name)
	card.wait_for()
	assert (
		kanban_column(page, "Scheduled").locator(f'.kanban-card-wrapper[data-name="{doc.name}"]').count() == 1
	)

	# Completing before the time has passed is refused: the reason shows, the card goes back.
	browser.drag(page, card, kanban_column(page, "Completed").locator(".kanban-cards"))
	assert "only once its Scheduled Time has passed" in message_dialog_text(page)
	close_message(page)
	assert stored(doc.name) == "Scheduled"
	kanban_column(page, "Scheduled").locator(f'.kanban-card-wrapper[data-name="{doc.name}"]').wait_for()
	assert (
		kanban_column(page, "Completed").locator(f'.kanban-card-wrapper[data-name="{doc.name}"]').count() == 0
	)

	# An allowed move goes through (once the board has redrawn the card it put back).
	page.wait_for_timeout(500)
	browser.drag(page, kanban_card(page, doc.name), kanban_column(page, "Confirmed").locator(".kanban-cards"))
	assert eventually_stored(doc.name, "status", "Confirmed") == "Confirmed"


def count_in_db(where: str, values: dict) -> int:
	frappe.db.rollback()
	return frappe.db.sql(f"select count(*) from `tabCRM Appointment` where {where}", values)[0][0]


def test_workspace_numbers(page):
	today = getdate(nowdate())
	week_start, week_end = get_first_day_of_week(today), get_last_day_of_week(today)
	month_start = today.replace(day=1)
	at = lambda day, hour: datetime.combine(day, time(hour, 0))  # noqa: E731
	# Drafts may have any time, so today's can be made at any hour of the day the test runs.
	saved(status="draft", scheduled_time=at(today, 9))
	saved(status="draft", scheduled_time=at(today, 15))
	cancelled = saved(status="draft", scheduled_time=at(today, 16))
	cancelled.status = "cancelled"
	cancelled.save()
	other_day = next(
		(week_start + timedelta(days=i) for i in range(7) if week_start + timedelta(days=i) != today), None
	)
	saved(status="draft", scheduled_time=at(other_day, 10))
	saved(status="no_show", scheduled_time=datetime.combine(month_start, time(0, 0, 1)))
	frappe.db.commit()

	expected = {
		"Appointments Today": count_in_db(
			"date(scheduled_time) = %(d)s and status != 'Cancelled'", {"d": today}
		),
		"Appointments This Week": count_in_db(
			"date(scheduled_time) between %(a)s and %(b)s and status != 'Cancelled'",
			{"a": week_start, "b": week_end},
		),
		"No-shows This Month": count_in_db(
			"date(scheduled_time) between %(a)s and %(b)s and status = 'No Show'",
			{"a": month_start, "b": get_last_day(today)},
		),
	}
	assert expected["Appointments Today"] >= 2
	browser.open_route(page, page.base, "/app/crm-appointments")
	for label, number in expected.items():
		card = page.locator(".number-widget-box", has=page.locator(f'.widget-title [title="{label}"]'))
		# The card loads its number after the page: wait until it shows the count.
		expect(card.locator(".number")).to_have_text(str(number), timeout=20_000)
	page.locator(".widget.dashboard-widget-box svg.frappe-chart").first.wait_for()


def test_list_view_indicators_and_saved_filters(page):
	saved(customer_name="Listed Scheduled", status="scheduled", scheduled_time=factories.future(hours=2))
	saved(customer_name="Listed Later", status="confirmed", scheduled_time=factories.future(days=40))
	browser.open_route(page, page.base, LIST)
	row = page.locator('.list-row-container:has-text("Listed Scheduled")')
	row.wait_for()
	pills = row.locator(".indicator-pill:has-text('Scheduled')")
	assert pills.count() >= 1
	assert all("blue" in pills.nth(i).get_attribute("class") for i in range(pills.count()))
	sidebar = page.locator(".list-sidebar .saved-filters")
	for name in ("Today", "Upcoming", "Mine"):
		sidebar.locator(f'.filter-pill:has-text("{name}")').wait_for()
	sidebar.locator('.filter-pill:has-text("Upcoming") .filter-name').click()
	# The list reloads with the filter: the appointment 40 days out goes, the one today stays.
	page.locator('.list-row-container:has-text("Listed Later")').wait_for(state="detached")
	browser.wait_idle(page)
	assert page.locator('.list-row-container:has-text("Listed Scheduled")').count() == 1


def go_to(page, *route):
	"""Within the desk, as its own links do: the page (and what it learnt at login) stays."""
	page.evaluate("(route) => frappe.set_route(...route)", list(route))
	browser.wait_idle(page)


def test_the_desk_draws_statuses_from_the_servers_table(page):
	"""Captions, colours and field rules come from the table the server sends at login
	(status_workflow.py through boot): change it in the page, and every view follows."""
	start = datetime.combine(getdate(nowdate()) + timedelta(days=1), time(11, 0))
	doc = saved(customer_name="Table Driven", status="scheduled", scheduled_time=start)
	final = saved(customer_name="Table Final", status="draft", scheduled_time=start)
	final.status = "cancelled"
	final.save()
	frappe.db.commit()
	browser.open_route(page, page.base, LIST)
	page.evaluate(
		"""() => {
			const table = frappe.boot.crm_appointment_workflow;
			const status = (value) => table.statuses.find((s) => s.value === value);
			status("confirmed").action = "Confirm From Table";
			status("scheduled").indicator = "green";
			table.editable_when_terminal = ["customer_details", "customer_phone_number"];
		}"""
	)
	go_to(page, "Form", DOCTYPE, doc.name)
	page.click('.inner-group-button[data-label="Status"] button')
	page.locator(
		'.inner-group-button[data-label="Status"] .dropdown-item:has-text("Confirm From Table")'
	).wait_for()
	page.keyboard.press("Escape")

	# The calendar colours a status by its indicator (green is the calendar's "success").
	page.evaluate("() => localStorage.setItem('cal_defaultView', 'month')")
	go_to(page, "List", DOCTYPE, "Calendar", "default")
	event = calendar_event(page, "Table Driven")
	event.wait_for()
	green = page.evaluate("() => frappe.ui.color.get('green', 'extra-light')")
	assert event.evaluate("(el) => getComputedStyle(el).backgroundColor") == page.evaluate(
		"(colour) => { const el = document.createElement('div'); el.style.backgroundColor = colour;"
		" document.body.append(el); const c = getComputedStyle(el).backgroundColor; el.remove(); return c; }",
		green,
	)

	# A final appointment keeps editable only the fields the table names.
	go_to(page, "Form", DOCTYPE, final.name)
	wait_for_status(page, "Cancelled")
	editable = '.frappe-control[data-fieldname="{}"] input:visible'
	assert page.locator(editable.format("customer_phone_number")).count() == 1
	assert page.locator(editable.format("customer_name")).count() == 0


def test_the_pages_shown_in_the_readme(page):
	"""A small realistic day, and each page the README shows (saved by scripts/screenshots.sh)."""
	today = getdate(nowdate())
	at = lambda days, hour, minute=0: datetime.combine(today + timedelta(days=days), time(hour, minute))  # noqa: E731
	people = [
		("Ada Lovelace", "scheduled", at(1, 10)),
		("Grace Hopper", "confirmed", at(2, 14, 30)),
		("Alan Turing", "draft", at(3, 9)),
		("Margaret Hamilton", "confirmed", at(5, 11)),
		("Barbara Liskov", "cancelled", at(1, 15)),
		("Katherine Johnson", "completed", at(-1, 11)),
		("Edsger Dijkstra", "no_show", at(-2, 16)),
	]
	made = {}
	for name, status, when in people:
		email = name.lower().replace(" ", ".") + "@example.com"
		if status == "cancelled":
			doc = saved(customer_name=name, customer_email=email, status="draft", scheduled_time=when)
			doc.move_to("Cancelled", reason="Moved to next quarter")
		else:
			doc = saved(customer_name=name, customer_email=email, status=status, scheduled_time=when)
		made[name] = doc
	frappe.db.commit()

	browser.open_route(page, page.base, "/app/crm-appointments")
	expect(page.locator(".number-widget-box .number").first).not_to_have_text("...", timeout=20_000)
	# The chart's bars, drawn once its data has come (each dataset is a group of bars).
	page.wait_for_function(
		"""() => [...document.querySelectorAll('.dashboard-widget-box svg.frappe-chart rect.bar')]
			.some((bar) => bar.getBBox().height > 0)"""
	)
	page.wait_for_timeout(800)  # the bars grow in
	browser.screenshot(page, "workspace")

	browser.open_route(page, page.base, LIST)
	expect(page.locator(".list-row-container")).to_have_count(len(people))
	page.locator('.list-sidebar .filter-pill:has-text("Mine")').wait_for()
	browser.wait_idle(page)
	browser.screenshot(page, "list")

	open_form(page, made["Grace Hopper"].name)
	page.click('.inner-group-button[data-label="Status"] button')
	page.locator('.inner-group-button[data-label="Status"] .dropdown-item:has-text("Complete")').wait_for()
	browser.screenshot(page, "form")
	page.keyboard.press("Escape")

	open_month_calendar(page)
	calendar_event(page, "Ada Lovelace").wait_for()
	browser.screenshot(page, "calendar")

	browser.open_route(page, page.base, f"{LIST}/view/kanban/CRM Appointments by Status")
	kanban_card(page, made["Ada Lovelace"].name).wait_for()
	browser.screenshot(page, "kanban")


SCRIPT = '<img src=x onerror="window.__crm_xss=1"><script>window.__crm_xss=1</script>'


def test_script_in_every_text_field_is_shown_as_text_on_every_page(page):
	"""Names, Skype and notes are stored exactly as typed (README); every page must show them as
	text. Nothing may run: the payload would set window.__crm_xss."""
	doc = saved(
		customer_name="Eve " + SCRIPT,
		customer_skype="eve" + SCRIPT,
		customer_details="notes " + SCRIPT,
		status="scheduled",
		scheduled_time=factories.future(days=1),
	)
	doc.move_to("Cancelled", reason="reason " + SCRIPT)
	frappe.db.commit()
	# Where the name must read exactly as typed; Frappe's board strips tags from card titles instead
	# (safe, and not ours to change), so there only the name's plain words are looked for.
	pages = {
		"list": (LIST, "Eve <img"),
		"form": (f"{LIST}/{doc.name}", "Eve <img"),
		"calendar": (f"{LIST}/view/calendar/default", "Eve <img"),
		"report": (f"{LIST}/view/report", "Eve <img"),
		"board": (f"{LIST}/view/kanban/CRM Appointments by Status", "Eve window.__crm_xss=1"),
	}
	for where, (path, shown) in pages.items():
		browser.open_route(page, page.base, path)
		page.get_by_text(shown).first.wait_for()
		page.wait_for_timeout(300)
		assert page.evaluate("() => window.__crm_xss") is None, f"script ran on the {where} page"
		assert page.locator('img[src="x"]').count() == 0, f"markup made an element on the {where} page"


NAME_WITH_SCRIPT = 'Eve <img src=x onerror="window.__crm_xss=1">'


def assert_no_script_ran(page, where):
	page.wait_for_timeout(300)
	assert page.evaluate("() => window.__crm_xss") is None, f"script ran on the {where}"
	assert page.locator('img[src="x"]').count() == 0, f"markup made an element on the {where}"


def test_a_name_with_script_runs_nowhere_its_title_appears(page, playwright_browser):
	"""The name is the appointment's title: form, list, calendars, board, the Event form, a link
	field's dropdown, the timeline; and, for a desk user with no CRM role, the link to it on an
	Event they may open (they are given its name, not its title)."""
	# Within the hour, so that the month the calendars open on shows it.
	doc = saved(customer_name=NAME_WITH_SCRIPT, status="scheduled", scheduled_time=factories.future(hours=1))
	event = frappe.db.get_value(DOCTYPE, doc.name, "calendar_event")
	frappe.set_user(factories.USERS["user"])
	meeting = frappe.get_doc(
		{"doctype": "Event", "subject": "Prepare", "event_type": "Public", "starts_on": doc.scheduled_time}
	)
	meeting.add_participant(DOCTYPE, doc.name)
	meeting.insert()
	frappe.set_user("Administrator")
	frappe.db.commit()
	pages = {
		"form and its timeline": f"{LIST}/{doc.name}",
		"list": LIST,
		"appointment calendar": f"{LIST}/view/calendar/default",
		"board": f"{LIST}/view/kanban/CRM Appointments by Status",
		"appointment's Event form": f"/app/event/{event}",
		"Event calendar": "/app/event/view/calendar/default",
		"Event with the appointment as participant": f"/app/event/{meeting.name}",
	}
	for where, path in pages.items():
		browser.open_route(page, page.base, path)
		page.get_by_text(re.compile(r"\bEve\b")).first.wait_for(state="attached")
		assert_no_script_ran(page, f"{where} page")
	# A link field's dropdown (Frappe's Link control, searching appointments).
	page.evaluate(
		"""() => { window.__crm_dialog = new frappe.ui.Dialog({title: "Pick",
			fields: [{fieldtype: "Link", options: "CRM Appointment", fieldname: "appointment"}]});
			window.__crm_dialog.show(); }"""
	)
	field = page.locator('.modal.show input[data-fieldname="appointment"]')
	field.click()
	field.press_sequentially("Eve", delay=100)
	result = page.locator('[role="option"]').filter(has_text=doc.name).first
	result.wait_for()
	assert_no_script_ran(page, "link field's dropdown")
	assert NAME_WITH_SCRIPT in result.inner_text()
	# A desk user with no CRM role opens the Event that links to the appointment.
	# A Blogger: the desk opens for them, and no CRM role is theirs.
	outsider = factories.USERS["nobody"]
	update_password(outsider, PASSWORD)
	frappe.get_doc("User", outsider).add_roles("Blogger")
	frappe.db.commit()
	context = playwright_browser.new_context(viewport=browser.VIEWPORT, locale="en-GB")
	try:
		other = context.new_page()
		other.set_default_timeout(20_000)
		browser.log_in(other, page.base, outsider, PASSWORD)
		browser.open_route(other, page.base, f"/app/event/{meeting.name}")
		other.get_by_text(doc.name).first.wait_for(state="attached")
		assert_no_script_ran(other, "outsider's Event page")
		assert other.get_by_text(re.compile(r"\bEve\b")).count() == 0, (
			"the outsider was shown the customer's name"
		)
	finally:
		context.close()
		frappe.db.rollback()
		frappe.get_doc("User", outsider).remove_roles("Blogger")
		frappe.db.commit()
