"""A host who left (their user disabled, or their CRM role taken away, the host record left enabled)
takes no more appointments: one definition (host_calendars.ACTIVE_HOST) for the slots, the booking,
the pickers, the overlap rule's warnings and the feed; their form says what becomes of the live
appointments they still hold. Over the live server as the guest who would book them, and in the ORM
as the staff who would pick them."""

import frappe
import pytest
import requests

from crm_appointments.core.exceptions import InvalidFieldError
from crm_appointments.desk.link_titles import search_active_hosts
from crm_appointments.scheduling import host_calendars
from harness.site_data import make_desk_user
from tests import factories
from tests.test_api_bookings import berlin, book, day, error, guest, slots_of

pytestmark = pytest.mark.slow

LEAVER = "crm-test-leaver@example.com"


@pytest.fixture
def leaver(committed):
	"""A host (a CRM User) with hours 09:00-12:00 Berlin every day, the only host; public booking on.
	Their user is put back as it was, then removed."""
	make_desk_user(LEAVER, "Lee Leaver", "CRM Appointment User")
	factories.host(LEAVER, hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	try:
		with factories.booking_settings(enable_public_booking=1, booking_duration=60, slot_interval=0):
			yield LEAVER
	finally:
		frappe.db.rollback()
		frappe.db.delete("CRM Appointment Host Hours", {"parent": LEAVER})
		frappe.db.delete("CRM Appointment Host", {"name": LEAVER})
		frappe.delete_doc("User", LEAVER, ignore_permissions=True, force=True)
		frappe.db.commit()


def disable(user: str):
	"""As an admin does it: the User form's Enabled unticked, saved."""
	doc = frappe.get_doc("User", user)
	doc.enabled = 0
	doc.save(ignore_permissions=True)
	frappe.db.commit()


def take_roles(user: str):
	frappe.get_doc("User", user).remove_roles("CRM Appointment User")
	frappe.db.commit()


@pytest.mark.parametrize("leave", [disable, take_roles], ids=["user disabled", "role taken away"])
def test_a_host_who_left_is_offered_in_no_slot_and_gets_no_booking(leaver, live_server, leave):
	base = f"{live_server}/api/crm"
	offered = slots_of(base, 3)
	assert offered  # bookable while they are there
	feed = frappe.get_doc("CRM Appointment Host", leaver).issue_calendar_feed()["url"]
	frappe.db.commit()
	feed_path = feed.split("/api/crm/", 1)[1]
	assert requests.get(f"{base}/{feed_path}", timeout=30).status_code == 200

	leave(leaver)

	assert host_calendars.active_hosts([leaver]) == []
	assert slots_of(base, 3) == []
	response = book(base, start=offered[0]["start"])
	assert response.status_code == 409, response.text
	assert error(response)["param"] == "start"
	assert requests.get(f"{base}/{feed_path}", timeout=30).status_code == 404
	frappe.db.rollback()
	assert not frappe.db.exists("CRM Appointment", {"host": leaver})


def test_staff_cannot_give_a_new_appointment_to_a_host_who_left(leaver):
	disable(leaver)
	with pytest.raises(InvalidFieldError) as refused:
		factories.make(status="scheduled", host=leaver)
	assert refused.value.fieldname == "host"
	assert "Their user is disabled." in str(refused.value)


def test_the_host_pickers_offer_only_hosts_who_can_take_appointments(leaver, as_user):
	factories.host("user")
	frappe.db.commit()
	as_user("user")
	assert LEAVER in [row[0] for row in search_active_hosts("CRM Appointment Host", "", "name", 0, 20, None)]
	frappe.set_user("Administrator")
	take_roles(leaver)
	as_user("user")
	found = [row[0] for row in search_active_hosts("CRM Appointment Host", "", "name", 0, 20, None)]
	assert LEAVER not in found and factories.USERS["user"] in found


def test_staff_slots_for_a_host_who_left_are_the_400_of_a_host_that_is_not_one(leaver, live_server, keys):
	disable(leaver)
	response = requests.get(
		f"{live_server}/api/crm/slots",
		params={"start": day(3), "end": day(3), "host": leaver},
		headers={"Authorization": f"Bearer {keys['manager']}"},
		timeout=30,
	)
	assert response.status_code == 400, response.text
	assert error(response)["param"] == "host"


def test_a_leaving_hosts_form_says_what_becomes_of_their_appointments_ahead(leaver):
	kept = factories.make(status="scheduled", host=leaver, scheduled_time=factories.future(days=4))
	frappe.db.commit()
	disable(leaver)

	host = frappe.get_doc("CRM Appointment Host", leaver)
	host.run_method("onload")
	assert host.get_onload("not_active_because") == "Their user is disabled."
	assert host.get_onload("live_ahead") == 1

	# The appointment stays theirs; moving it warns that it should go to another host.
	frappe.clear_messages()
	kept.reload()
	kept.reschedule(str(factories.future(days=5)))
	assert any("can no longer take appointments" in str(m) for m in frappe.message_log)
	assert frappe.db.get_value("CRM Appointment", kept.name, "host") == leaver


def test_a_guest_booking_goes_to_the_host_who_is_still_there(leaver, live_server):
	factories.host("user", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	disable(leaver)

	response = book(f"{live_server}/api/crm", session=guest(), start=berlin(3, 10))

	assert response.status_code == 200, response.text
	frappe.db.rollback()
	assert frappe.db.get_value("CRM Appointment", response.json()["id"], "host") == factories.USERS["user"]
