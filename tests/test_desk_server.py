"""What the desk's pages ask of the server: status moves with a reason, rescheduling, the calendar's
events and drags, the saved filters and board, the workspace's cards and chart, the party picker.
The pages themselves are driven in a browser in test_desk_browser.py."""

import json
from datetime import datetime, time, timedelta

import frappe
import pytest
from frappe.utils import get_first_day_of_week, getdate, nowdate

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.exceptions import (
	InvalidFieldError,
	StatusTransitionError,
	TerminalAppointmentError,
)
from crm_appointments.crm_appointments.dashboard_chart_source.appointments_per_week_by_status import (
	appointments_per_week_by_status as weekly_chart,
)
from crm_appointments.desk import calendar as calendar_view
from crm_appointments.desk import saved_views as desk_views
from crm_appointments.desk.boot import boot_session
from tests import factories
from tests.factories import future, in_status, make, stored

DOCTYPE = "CRM Appointment"


def comments(doc):
	return frappe.get_all(
		"Comment",
		filters={"reference_doctype": DOCTYPE, "reference_name": doc.name, "comment_type": "Comment"},
		pluck="content",
	)


# -- form: moves with a reason, and rescheduling ---------------------------------------------------


def test_cancelling_with_a_reason_keeps_the_reason_in_the_timeline_escaped():
	doc = in_status("scheduled")
	doc.move_to("Cancelled", reason="  Customer is <b>ill</b>  ")
	assert stored(doc, "status") == "Cancelled"
	assert comments(doc) == ["Cancelled: Customer is &lt;b&gt;ill&lt;/b&gt;"]


def test_a_move_without_a_reason_adds_no_comment():
	doc = in_status("scheduled")
	doc.move_to("Confirmed", reason="   ")
	assert stored(doc, "status") == "Confirmed"
	assert comments(doc) == []


def test_a_too_long_reason_is_refused_and_nothing_changes():
	doc = in_status("scheduled")
	with pytest.raises(InvalidFieldError) as refused:
		doc.move_to("Cancelled", reason="x" * 1001)
	assert refused.value.fieldname == "reason"
	assert stored(doc, "status") == "Scheduled"
	assert comments(doc) == []


def test_a_refused_move_with_a_reason_leaves_no_comment():
	doc = in_status("draft")
	with pytest.raises(StatusTransitionError):
		doc.move_to("Confirmed", reason="why not")
	assert stored(doc, "status") == "Draft"
	assert comments(doc) == []


def test_rescheduling_a_confirmed_appointment_moves_it_back_to_scheduled_with_its_new_duration():
	doc = in_status("confirmed")
	new_time = future(days=3)
	doc.reschedule(new_time, "45")
	assert stored(doc, "scheduled_time") == new_time
	assert stored(doc, "duration") == 45
	assert stored(doc, "status") == "Scheduled"


def test_rescheduling_keeps_the_duration_when_none_is_given():
	doc = in_status("scheduled", duration=50)
	doc.reschedule(future(days=4))
	assert stored(doc, "duration") == 50


@pytest.mark.parametrize(
	("when", "duration", "fieldname"), [("past", None, "scheduled_time"), ("future", 2000, "duration")]
)
def test_rescheduling_under_the_rules_of_any_save(when, duration, fieldname):
	doc = in_status("scheduled")
	before = stored(doc, "scheduled_time")
	with pytest.raises(InvalidFieldError) as refused:
		doc.reschedule(factories.past() if when == "past" else future(days=3), duration)
	assert refused.value.fieldname == fieldname
	assert stored(doc, "scheduled_time") == before


def test_a_final_appointment_cannot_be_rescheduled():
	doc = in_status("completed")
	with pytest.raises(TerminalAppointmentError):
		doc.reschedule(factories.past(days=2))


def test_the_form_is_told_exactly_the_allowed_moves():
	for value in workflow.VALUES:
		doc = in_status(value)
		doc.run_method("onload")
		expected = [workflow.label_of(v) for v in workflow.MOVES[value]]
		assert doc.get_onload("status_moves") == expected


# -- calendar view ---------------------------------------------------------------------------


def test_calendar_events_are_the_appointments_overlapping_the_window_with_their_end_times():
	day = getdate(future(days=10))
	window = (datetime.combine(day, time(0, 0)), datetime.combine(day + timedelta(days=1), time(0, 0)))
	inside = make(customer_name="Inside", scheduled_time=window[0] + timedelta(hours=9), duration=60)
	# Starts the evening before and runs past midnight into the window.
	overlapping = make(customer_name="Overlap", scheduled_time=window[0] - timedelta(minutes=30), duration=45)
	make(customer_name="Ends before", scheduled_time=window[0] - timedelta(hours=2), duration=60)
	make(customer_name="Next day", scheduled_time=window[1] + timedelta(hours=1))

	events = calendar_view.get_events(str(window[0]), str(window[1]))
	by_name = {e.name: e for e in events}
	assert set(by_name) == {inside.name, overlapping.name}
	assert by_name[inside.name].end_time == window[0] + timedelta(hours=10)
	assert by_name[overlapping.name].end_time == window[0] + timedelta(minutes=15)
	assert by_name[inside.name].status_value == "draft"


def test_calendar_events_follow_the_list_filters_and_permissions(as_user):
	day = getdate(future(days=10))
	start, end = datetime.combine(day, time(0, 0)), datetime.combine(day, time(23, 59))
	make(scheduled_time=start + timedelta(hours=9))  # a draft: the status filter leaves it out
	scheduled = make(status="scheduled", scheduled_time=start + timedelta(hours=10))
	status_filter = json.dumps([[DOCTYPE, "status", "=", "Scheduled"]])
	assert [e.name for e in calendar_view.get_events(str(start), str(end), status_filter)] == [scheduled.name]

	as_user("nobody")
	with pytest.raises(frappe.PermissionError):
		calendar_view.get_events(str(start), str(end))


def test_calendar_events_name_their_host_and_follow_the_host_filter(as_user):
	"""Titles are HTML to Frappe's calendar (it strips tags): names go escaped; the tooltip is text."""
	factories.host("user")
	factories.host("manager")
	day = getdate(future(days=10))
	start, end = datetime.combine(day, time(0, 0)), datetime.combine(day, time(23, 59))
	hosted = make(
		customer_name="Ada <b>Lovelace</b>",
		scheduled_time=start + timedelta(hours=9),
		host=factories.USERS["user"],
	)
	make(
		customer_name="Grace Hopper",
		scheduled_time=start + timedelta(hours=9),
		host=factories.USERS["manager"],
	)
	make(customer_name="Alan Turing", scheduled_time=start + timedelta(hours=10))
	host_filter = json.dumps([[DOCTYPE, "host", "=", factories.USERS["user"]]])

	as_user("user")
	events = calendar_view.get_events(str(start), str(end), host_filter)
	assert [e.name for e in events] == [hosted.name]
	assert events[0].host == factories.USERS["user"]
	assert events[0].title == "Ada &lt;b&gt;Lovelace&lt;/b&gt; \u00b7 CRM test user"
	assert events[0].tooltip == "Ada <b>Lovelace</b> \u00b7 CRM test user (Draft)"
	titles = {e.title for e in calendar_view.get_events(str(start), str(end))}
	assert {"Grace Hopper \u00b7 CRM test manager", "Alan Turing"} <= titles


def test_a_calendar_drag_moves_the_start_and_the_resize_sets_the_duration():
	doc = in_status("confirmed", duration=30)
	start = future(days=5).replace(minute=0, second=0)
	calendar_view.update_event(
		json.dumps(
			{"name": doc.name, "scheduled_time": str(start), "end_time": str(start + timedelta(minutes=90))}
		)
	)
	assert stored(doc, "scheduled_time") == start
	assert stored(doc, "duration") == 90
	assert stored(doc, "status") == "Scheduled"  # a rescheduled confirmation goes back to scheduled


def test_a_refused_calendar_drag_changes_nothing():
	doc = in_status("cancelled")
	before = stored(doc, "scheduled_time")
	start = future(days=6)
	with pytest.raises(TerminalAppointmentError):
		calendar_view.update_event(
			json.dumps(
				{"name": doc.name, "scheduled_time": str(start), "end_time": str(start + timedelta(hours=1))}
			)
		)
	assert stored(doc, "scheduled_time") == before


# -- saved filters and the board ---------------------------------------------------------------


def list_filter(name, for_user=None):
	rows = frappe.get_all(
		"List Filter",
		filters={"reference_doctype": DOCTYPE, "filter_name": name},
		fields=["for_user", "filters"],
	)
	rows = [r for r in rows if (r.for_user or None) == for_user]
	assert len(rows) == 1, rows
	return json.loads(rows[0].filters)


def matching(filters):
	return set(frappe.get_all(DOCTYPE, filters=filters, pluck="name"))


def test_the_shared_saved_filters_find_todays_and_upcoming_appointments():
	today_draft = make(scheduled_time=datetime.combine(getdate(nowdate()), time(12, 0)))
	soon = in_status("scheduled", scheduled_time=future(days=2))
	far = in_status("confirmed", scheduled_time=future(days=45))
	closed = in_status("cancelled", scheduled_time=future(days=3))

	assert today_draft.name in matching(list_filter("Today"))
	upcoming = matching(list_filter("Upcoming"))
	assert soon.name in upcoming
	assert not {far.name, closed.name, today_draft.name} & upcoming


def test_mine_is_made_once_per_user_and_finds_their_own_appointments(as_user):
	make()  # someone else's
	frappe.db.delete("List Filter", {"for_user": factories.USERS["user"]})
	as_user("user")
	mine = make()
	assert desk_views.ensure_mine_filter() is True
	assert desk_views.ensure_mine_filter() is False  # made once
	filters = list_filter("Mine", for_user=factories.USERS["user"])
	assert matching(filters) == {mine.name}


def test_mine_needs_read_permission_on_appointments(as_user):
	as_user("nobody")
	with pytest.raises(frappe.PermissionError):
		desk_views.ensure_mine_filter()


def test_installing_the_views_again_changes_nothing_a_user_changed():
	frappe.db.set_value(
		"List Filter", {"reference_doctype": DOCTYPE, "filter_name": "Today"}, "filters", "[]"
	)
	desk_views.install()
	assert list_filter("Today") == []
	assert frappe.db.count("Kanban Board", {"reference_doctype": DOCTYPE}) == 1


def test_the_board_has_a_column_per_status_coloured_as_the_list():
	board = frappe.get_doc("Kanban Board", desk_views.KANBAN_BOARD)
	assert board.reference_doctype == DOCTYPE
	assert board.field_name == "status"
	assert [(c.column_name, c.indicator) for c in board.columns] == [
		("Draft", "Gray"),
		("Scheduled", "Blue"),
		("Confirmed", "Cyan"),
		("Completed", "Green"),
		("Cancelled", "Red"),
		("No Show", "Orange"),
	]


def test_a_board_move_goes_through_the_workflow():
	from frappe.desk.doctype.kanban_board.kanban_board import update_order_for_single_card

	doc = in_status("scheduled")
	with pytest.raises(StatusTransitionError):
		update_order_for_single_card(desk_views.KANBAN_BOARD, doc.name, "Scheduled", "Completed", 0, 0)
	assert stored(doc, "status") == "Scheduled"
	update_order_for_single_card(desk_views.KANBAN_BOARD, doc.name, "Scheduled", "Confirmed", 0, 0)
	assert stored(doc, "status") == "Confirmed"


# -- workspace --------------------------------------------------------------------------------


def card_number(name):
	from frappe.desk.doctype.number_card.number_card import get_result

	card = frappe.get_doc("Number Card", name)
	return get_result(card.as_dict(), card.filters_json)


def test_the_number_cards_count_today_this_week_and_no_shows_this_month():
	today = getdate(nowdate())
	before = {
		name: card_number(name)
		for name in ("Appointments Today", "Appointments This Week", "No-shows This Month")
	}
	make(scheduled_time=datetime.combine(today, time(10, 0)))
	in_status("cancelled", scheduled_time=datetime.combine(today, time(11, 0)))
	make(status="no_show", scheduled_time=datetime.combine(today.replace(day=1), time(0, 0, 1)))
	# Next week's appointment counts in no card.
	make(scheduled_time=datetime.combine(get_first_day_of_week(today) + timedelta(days=7), time(9)))

	assert card_number("Appointments Today") == before["Appointments Today"] + 1 + (today.day == 1)
	in_week = 1 + (today.replace(day=1) >= get_first_day_of_week(today))
	assert card_number("Appointments This Week") == before["Appointments This Week"] + in_week
	assert card_number("No-shows This Month") == before["No-shows This Month"] + 1


def test_the_weekly_chart_counts_each_status_in_its_week(as_user):
	this_week = get_first_day_of_week(getdate(nowdate()))
	base = weekly_chart.get()
	in_status("scheduled", scheduled_time=datetime.combine(this_week + timedelta(days=7, hours=0), time(10)))
	in_status("scheduled", scheduled_time=datetime.combine(this_week + timedelta(days=8), time(10)))
	make(status="completed", scheduled_time=datetime.combine(this_week - timedelta(days=14), time(10)))
	result = weekly_chart.get()

	assert len(result["labels"]) == weekly_chart.WEEKS_BEFORE + weekly_chart.WEEKS_AFTER + 1
	assert [d["name"] for d in result["datasets"]] == list(workflow.LABELS)
	series = {d["name"]: d["values"] for d in result["datasets"]}
	old = {d["name"]: d["values"] for d in base["datasets"]}
	next_week, two_weeks_ago = weekly_chart.WEEKS_BEFORE + 1, weekly_chart.WEEKS_BEFORE - 2
	assert series["Scheduled"][next_week] == old["Scheduled"][next_week] + 2
	assert series["Completed"][two_weeks_ago] == old["Completed"][two_weeks_ago] + 1

	as_user("nobody")
	with pytest.raises(frappe.PermissionError):
		weekly_chart.get()


def test_the_workspace_shows_its_cards_chart_and_shortcuts_to_appointment_staff(as_user):
	from frappe.desk.desktop import get_desktop_page

	as_user("user")
	page = get_desktop_page(
		json.dumps({"name": "CRM Appointments", "title": "CRM Appointments", "public": 1})
	)
	assert [c.number_card_name for c in page["number_cards"]["items"]] == [
		"Appointments Today",
		"Appointments This Week",
		"No-shows This Month",
	]
	assert [c.chart_name for c in page["charts"]["items"]] == ["Appointments per Week by Status"]
	assert [(s.label, s.doc_view) for s in page["shortcuts"]["items"]] == [
		("Appointments", "List"),
		("Calendar", "Calendar"),
		("Board", "Kanban"),
		("New Appointment", "New"),
	]

	as_user("nobody")
	with pytest.raises(frappe.PermissionError):
		get_desktop_page(json.dumps({"name": "CRM Appointments", "title": "CRM Appointments", "public": 1}))


# -- party picker ------------------------------------------------------------------------------


def test_the_desk_learns_the_workflow_table_at_login():
	"""Statuses, colours, captions and field rules reach the desk scripts from status_workflow.py."""
	bootinfo = frappe._dict()
	boot_session(bootinfo)
	table = bootinfo.crm_appointment_workflow
	assert [(s["label"], s["indicator"]) for s in table["statuses"]] == [
		(s.label, s.indicator) for s in workflow.STATUSES
	]
	assert {s["label"]: s["action"] for s in table["statuses"]}["Cancelled"] == "Cancel Appointment"
	assert table["editable_when_terminal"] == list(workflow.EDITABLE_WHEN_TERMINAL)
	assert table["reschedulable"] == list(workflow.RESCHEDULABLE)
	assert table["asks_reason"] == ["cancelled"]


def test_the_party_picker_offers_only_party_doctypes_this_site_has():
	bootinfo = frappe._dict()
	boot_session(bootinfo)
	assert bootinfo.crm_appointment_party_doctypes == [
		dt
		for dt in ("Contact", "Lead", "Customer", "CRM Lead", "CRM Deal")
		if frappe.db.exists("DocType", dt)
	]
	field = frappe.get_meta(DOCTYPE).get_field("appointment_with")
	assert json.loads(field.link_filters) == [
		["DocType", "name", "in", "eval:frappe.boot.crm_appointment_party_doctypes"]
	]
	assert frappe.get_meta(DOCTYPE).get_field("party").depends_on == "eval:doc.appointment_with"
