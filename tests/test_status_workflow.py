"""The status workflow as contract.md states it, checked through the ORM (the path every other takes)."""

import itertools

import frappe
import pytest

from crm_appointments.core.exceptions import (
	InvalidFieldError,
	StatusTransitionError,
	TerminalAppointmentError,
)
from tests.factories import future, in_status, let_time_pass, make, past, stored

STATUSES = ("draft", "scheduled", "confirmed", "completed", "cancelled", "no_show")
LABELS = {
	"draft": "Draft",
	"scheduled": "Scheduled",
	"confirmed": "Confirmed",
	"completed": "Completed",
	"cancelled": "Cancelled",
	"no_show": "No Show",
}
# contract.md, "Allowed moves", written out independently of the code's table.
ALLOWED = {
	("draft", "scheduled"),
	("draft", "cancelled"),
	("scheduled", "confirmed"),
	("scheduled", "completed"),
	("scheduled", "cancelled"),
	("scheduled", "no_show"),
	("confirmed", "scheduled"),
	("confirmed", "completed"),
	("confirmed", "cancelled"),
	("confirmed", "no_show"),
}
REFUSED = (StatusTransitionError, TerminalAppointmentError)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_every_status_pair_is_allowed_or_refused_as_the_contract_says(current, target):
	doc = in_status(current)
	if target in ("completed", "no_show") and current in ("scheduled", "confirmed"):
		let_time_pass(doc)  # completing needs the start to have passed
	doc.status = target

	if current == target or (current, target) in ALLOWED:
		doc.save()
		assert stored(doc, "status") == LABELS[target]
	else:
		with pytest.raises(REFUSED):
			doc.save()
		assert stored(doc, "status") == LABELS[current]


def test_a_refused_move_names_the_current_status_and_the_allowed_ones():
	doc = make(status="draft")
	doc.status = "completed"
	with pytest.raises(StatusTransitionError) as refused:
		doc.save()
	message = str(refused.value)
	assert "Draft" in message
	assert "Scheduled, Cancelled" in message


def test_a_final_status_says_it_allows_no_move():
	doc = in_status("cancelled")
	doc.status = "scheduled"
	with pytest.raises(TerminalAppointmentError) as refused:
		doc.save()
	assert "Cancelled" in str(refused.value)


def test_setting_the_same_status_again_changes_nothing_but_is_accepted():
	doc = make(status="scheduled")
	doc.status = "scheduled"
	doc.save()
	assert stored(doc, "status") == "Scheduled"


def test_api_values_and_desk_labels_both_name_a_status():
	assert make(status="no_show", scheduled_time=past()).status == "No Show"
	assert make(status="No Show", scheduled_time=past()).status == "No Show"


def test_an_unknown_status_is_a_field_error():
	with pytest.raises(InvalidFieldError) as error:
		make(status="postponed")
	assert error.value.fieldname == "status"


# -- creating -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "scheduled", "confirmed"])
def test_a_new_appointment_may_start_draft_scheduled_or_confirmed_in_the_future(status):
	assert stored(make(status=status, scheduled_time=future()), "status") == LABELS[status]


@pytest.mark.parametrize("status", ["scheduled", "confirmed"])
def test_a_new_scheduled_or_confirmed_appointment_needs_a_future_time(status):
	with pytest.raises(InvalidFieldError) as error:
		make(status=status, scheduled_time=past(minutes=1))
	assert error.value.fieldname == "scheduled_time"


def test_a_draft_may_be_created_for_any_time():
	assert make(status="draft", scheduled_time=past()).status == "Draft"


@pytest.mark.parametrize("status", ["completed", "no_show"])
def test_a_past_appointment_may_be_logged_as_completed_or_no_show(status):
	assert stored(make(status=status, scheduled_time=past()), "status") == LABELS[status]


@pytest.mark.parametrize("status", ["completed", "no_show"])
def test_completed_or_no_show_cannot_be_logged_for_the_future(status):
	with pytest.raises(InvalidFieldError) as error:
		make(status=status, scheduled_time=future())
	assert error.value.fieldname == "scheduled_time"


def test_a_new_appointment_cannot_start_cancelled():
	with pytest.raises(InvalidFieldError) as error:
		make(status="cancelled")
	assert error.value.fieldname == "status"
	assert (
		frappe.db.count("CRM Appointment", {"customer_email": "ada@example.com", "status": "Cancelled"}) == 0
	)


def test_a_new_appointment_is_a_draft_unless_told_otherwise():
	doc = make(status=None)
	assert stored(doc, "status") == "Draft"


# -- completing too early ---------------------------------------------------------------------


@pytest.mark.parametrize("current", ["scheduled", "confirmed"])
@pytest.mark.parametrize("target", ["completed", "no_show"])
def test_completed_and_no_show_wait_for_the_start_to_pass(current, target):
	doc = in_status(current)
	doc.status = target
	with pytest.raises(StatusTransitionError) as refused:
		doc.save()
	assert "passed" in str(refused.value)
	assert stored(doc, "status") == LABELS[current]


# -- rescheduling -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "scheduled"])
def test_draft_and_scheduled_appointments_can_be_rescheduled_and_keep_their_status(status):
	doc = make(status=status)
	new_time = future(days=3)
	doc.scheduled_time = new_time
	doc.save()
	assert stored(doc, "scheduled_time") == new_time
	assert stored(doc, "status") == LABELS[status]


def test_a_rescheduled_confirmed_appointment_goes_back_to_scheduled():
	doc = make(status="confirmed")
	doc.scheduled_time = future(days=5)
	doc.save()
	assert stored(doc, "status") == "Scheduled"


@pytest.mark.parametrize("status", ["scheduled", "confirmed"])
def test_scheduled_and_confirmed_cannot_be_moved_into_the_past(status):
	doc = make(status=status)
	before = stored(doc, "scheduled_time")
	doc.scheduled_time = past(hours=2)
	with pytest.raises(InvalidFieldError) as error:
		doc.save()
	assert error.value.fieldname == "scheduled_time"
	assert stored(doc, "scheduled_time") == before
	assert stored(doc, "status") == LABELS[status]


def test_a_draft_can_be_moved_into_the_past_but_not_scheduled_there():
	doc = make(status="draft")
	doc.scheduled_time = past()
	doc.save()
	doc.status = "scheduled"
	with pytest.raises(StatusTransitionError):
		doc.save()
	assert stored(doc, "status") == "Draft"


def test_scheduling_a_draft_and_giving_it_a_future_time_in_one_save():
	doc = make(status="draft", scheduled_time=past())
	doc.update({"status": "scheduled", "scheduled_time": future()})
	doc.save()
	assert stored(doc, "status") == "Scheduled"


def test_an_appointment_whose_time_passed_can_still_have_other_fields_edited():
	doc = let_time_pass(make(status="scheduled"))
	doc.customer_phone_number = "+44 20 7946 0000"
	doc.save()
	assert stored(doc, "customer_phone_number") == "+44 20 7946 0000"


# -- terminal appointments ----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show"])
@pytest.mark.parametrize(
	("fieldname", "value"),
	[
		("customer_name", "Someone Else"),
		("customer_email", "else@example.com"),
		("customer_phone_number", "123"),
		("scheduled_time", "2031-01-01 10:00:00"),
		("duration", 60),
	],
)
def test_a_final_appointment_is_read_only(status, fieldname, value):
	doc = in_status(status)
	before = stored(doc, fieldname)
	doc.set(fieldname, value)
	with pytest.raises(TerminalAppointmentError) as refused:
		doc.save()
	assert refused.value.fieldname == fieldname
	assert stored(doc, fieldname) == before


@pytest.mark.parametrize("status", ["completed", "cancelled", "no_show"])
def test_a_final_appointment_keeps_its_notes_editable(status):
	doc = in_status(status)
	doc.customer_details = "Customer asked for a follow-up call."
	doc.save()
	assert stored(doc, "customer_details") == "Customer asked for a follow-up call."


def test_saving_a_final_appointment_unchanged_is_fine():
	doc = in_status("completed")
	doc.save()
	assert stored(doc, "status") == "Completed"


def test_the_form_is_offered_exactly_the_allowed_moves():
	doc = make(status="scheduled")
	doc.run_method("onload")
	assert doc.get_onload().status_moves == ["Confirmed", "Completed", "Cancelled", "No Show"]


def test_the_desk_button_moves_through_the_same_rules():
	doc = make(status="draft")
	doc.move_to("scheduled")
	assert stored(doc, "status") == "Scheduled"
	with pytest.raises(StatusTransitionError):
		doc.move_to("draft")
	assert stored(doc, "status") == "Scheduled"
