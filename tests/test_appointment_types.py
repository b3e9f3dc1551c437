"""CRM Appointment Type, the kinds of appointment a site offers (contract.md, "Appointment types"):
its slug, its timing rules and their defaults from the booking settings, its questions; the
`appointment` type an upgraded or new site gets from its settings; hosts' public handles; and who
sees which types at GET /api/crm/appointment_types (a guest, a desk user with no CRM role, a CRM
User narrowed by User Permissions, staff), through Frappe's whole request pipeline."""

import frappe
import pytest

from crm_appointments.core.names import APPOINTMENT_TYPE, DEFAULT_TYPE, HOST
from crm_appointments.patches.v0_5 import appointment_types as upgrade
from crm_appointments.scheduling import timing
from tests import factories
from tests.factories import OUTSIDER, USERS
from tests.http import error_of

URL = "/api/crm/appointment_types"
TYPE_KEYS = ["id", "title", "description", "duration", "location_kind", "host_choice", "questions", "hosts"]


def make_type(**fields):
	return frappe.get_doc({"doctype": APPOINTMENT_TYPE, "title": "Intro call", **fields}).insert()


# -- the type ---------------------------------------------------------------------------------------


def test_a_type_is_named_by_a_slug_made_from_its_title_unique_among_types():
	first = make_type(title="Demo, 45 min!")
	second = make_type(title="Demo 45 min")
	assert (first.name, first.slug) == ("demo-45-min", "demo-45-min")
	assert second.name == "demo-45-min-2"
	assert make_type(title="Café à côté").name == "cafe-a-cote"


@pytest.mark.parametrize(
	"slug", ["intro call", "intro--call", "-intro", "intro/../x", "ïntro", "a@b.example"]
)
def test_a_given_slug_must_be_lowercase_letters_digits_and_single_hyphens(slug):
	with pytest.raises(frappe.ValidationError, match="slug"):
		make_type(slug=slug)


def test_a_given_slug_is_kept_lowercased():
	assert make_type(slug=" Walk-In ").name == "walk-in"


@pytest.mark.parametrize(
	"fields, message",
	[
		({"duration": 3}, "Duration"),
		({"duration": 2000}, "Duration"),
		({"slot_interval": 4}, "Slot Interval"),
		({"buffer_before": -1}, "Buffer Before"),
		({"buffer_after": 1441}, "Buffer After"),
		({"minimum_notice": -5}, "Minimum Notice"),
		({"booking_horizon": 731}, "Booking Horizon"),
		({"max_per_day": -1}, "Most a Day"),
		({"location_kind": "Video", "location": "http://meet.example/room"}, "https://"),
		({"location_kind": "In person"}, "address"),
		({"slug": "manage"}, "cannot be a type's slug"),
	],
)
def test_timing_and_place_are_checked_with_a_message_naming_the_field(fields, message):
	with pytest.raises(frappe.ValidationError, match=message):
		make_type(**fields)


def test_questions_need_a_label_once_each_and_a_select_its_choices():
	with pytest.raises(frappe.ValidationError, match="choices"):
		make_type(questions=[{"label": "Which shop?", "kind": "Select", "options": "\n  \n"}])
	with pytest.raises(frappe.ValidationError, match="asked twice"):
		make_type(questions=[{"label": "Company"}, {"label": "company "}])
	kept = make_type(
		questions=[{"label": "Which shop?", "kind": "Select", "options": "North\nSouth\n", "required": 1}]
	)
	assert kept.questions[0].label == "Which shop?"


def test_empty_timing_fields_take_the_booking_settings_and_set_ones_their_own():
	settings = frappe.get_cached_doc("CRM Appointment Settings")
	defaults = make_type().effective()
	assert defaults.duration == (settings.booking_duration or settings.default_duration or 30)
	assert defaults.slot_interval == defaults.duration
	assert defaults.booking_horizon == (settings.booking_horizon or 30)
	own = make_type(
		title="Fitting", duration=60, slot_interval=15, buffer_before=10, buffer_after=5, max_per_day=3
	)
	assert own.effective() == {
		"duration": 60,
		"slot_interval": 15,
		"buffer_before": 10,
		"buffer_after": 5,
		"minimum_notice": defaults.minimum_notice,
		"booking_horizon": defaults.booking_horizon,
		"max_per_day": 3,
	}


def test_the_cached_timing_follows_each_save_delete_and_rollback_of_a_type(committed):
	"""The types' timing is cached for the site (scheduling/timing.py): what a booking reads is what
	is committed, whichever process changed it and whether or not its transaction kept the change."""
	kind = make_type(title="Cached call", duration=20)
	assert timing.timing_of(kind.name).duration == 20  # read in the saving transaction, then...
	frappe.db.rollback()
	assert kind.name not in timing.type_rows()  # ...not kept past its rollback
	kind = make_type(title="Cached call", duration=20)
	frappe.db.commit()
	assert timing.timing_of(kind.name).duration == 20
	kind.duration = 35
	kind.save()
	frappe.db.commit()
	assert timing.timing_of(kind.name).duration == 35
	# Another process (a server, a worker) fills the cache with what is committed now; a save here
	# that commits after that read does not leave the old value behind.
	kind.duration = 50
	kind.save()
	forgotten_at_save = timing.type_rows()[kind.name].duration
	frappe.cache.set_value(
		timing.TYPES_KEY,
		[frappe._dict(row, duration=35) if row.name == kind.name else row for row in timing.type_table()],
	)
	frappe.db.commit()
	assert forgotten_at_save == 50 and timing.timing_of(kind.name).duration == 50
	frappe.delete_doc(APPOINTMENT_TYPE, kind.name)
	frappe.db.commit()
	assert kind.name not in timing.type_rows()


# -- an upgraded site ------------------------------------------------------------------------------


def a_site_before_types() -> str:
	"""No type, and booking settings of its own (in this test's transaction): the settings' name."""
	frappe.db.delete(APPOINTMENT_TYPE)
	timing.forget_types()  # a raw delete: no hook forgets the cached types
	settings = "CRM Appointment Settings"
	for field, value in {
		"booking_duration": 45,
		"slot_interval": 15,
		"buffer_minutes": 10,
		"minimum_notice": 90,
		"booking_horizon": 14,
	}.items():
		frappe.db.set_single_value(settings, field, value)
	frappe.clear_document_cache(settings, settings)
	return settings


def test_a_site_with_no_type_gets_the_appointment_type_made_from_its_settings_once():
	a_site_before_types()

	upgrade.execute()
	upgrade.execute()  # a second migration adds nothing

	assert frappe.get_all(APPOINTMENT_TYPE, pluck="name") == [DEFAULT_TYPE]
	made = frappe.get_doc(APPOINTMENT_TYPE, DEFAULT_TYPE)
	assert (made.enabled, made.public, made.host_choice) == (1, 1, "Any free host")
	assert made.effective() == {
		"duration": 45,
		"slot_interval": 15,
		"buffer_before": 0,
		"buffer_after": 10,
		"minimum_notice": 90,
		"booking_horizon": 14,
		"max_per_day": 0,
	}


def test_an_upgraded_site_offers_the_same_slots_and_keeps_its_appointments_as_they_were():
	"""The site as it was before types (settings, a host, live appointments with no type), then the
	upgrade: the type it gets offers exactly the slots the settings offered, and follows them."""
	from datetime import date, timedelta

	from crm_appointments.scheduling import slots, timing

	settings = a_site_before_types()
	factories.host("user")
	day = date.today() + timedelta(days=3)
	kept = [
		factories.make(
			status="scheduled", host=USERS["user"], scheduled_time=factories.future(days=3, hours=h)
		)
		for h in (2, 5)
	]
	before = slots.free_slots(day, day + timedelta(days=1), "Asia/Kolkata")
	assert before

	upgrade.execute()

	assert timing.default_type() == DEFAULT_TYPE
	assert (
		slots.free_slots(day, day + timedelta(days=1), "Asia/Kolkata", appointment_type=DEFAULT_TYPE)
		== before
	)
	for doc in kept:
		doc.reload()
		assert doc.appointment_type is None and doc.location is None
	# The type follows the settings as booking did: a longer buffer after is kept after each one.
	frappe.db.set_single_value(settings, "buffer_minutes", 60)
	frappe.clear_document_cache(settings, settings)
	later = slots.free_slots(day, day + timedelta(days=1), "Asia/Kolkata", appointment_type=DEFAULT_TYPE)
	assert later == slots.free_slots(day, day + timedelta(days=1), "Asia/Kolkata") and len(later) < len(
		before
	)


def test_the_forms_type_defaults_are_for_users_who_may_read_the_type(as_user):
	from crm_appointments.crm_appointments.doctype.crm_appointment_type.crm_appointment_type import (
		desk_defaults,
	)

	make_type(title="Fitting", duration=60, location_kind="In person", location="The shop")
	as_user("user")
	assert desk_defaults("fitting") == {"duration": 60, "location_kind": "In person", "location": "The shop"}
	frappe.set_user(OUTSIDER)
	with pytest.raises(frappe.PermissionError):
		desk_defaults("fitting")


def test_every_site_has_the_appointment_type_after_installing_or_migrating():
	assert frappe.db.exists(APPOINTMENT_TYPE, DEFAULT_TYPE)


# -- hosts' public handles ----------------------------------------------------------------------------


def test_a_host_gets_a_public_handle_from_their_name_never_their_email():
	host = factories.host("user")
	assert host.slug == "crm-test-user"
	assert "@" not in host.slug and host.slug != USERS["user"]
	other = factories.host("manager")
	other.slug = host.slug
	with pytest.raises(frappe.ValidationError, match="already has the public handle"):
		other.save()
	other.reload()
	other.slug = "not a handle"
	with pytest.raises(frappe.ValidationError, match="lowercase"):
		other.save()


def test_the_upgrade_gives_hosts_without_a_handle_one(committed):
	host = factories.host("user")
	frappe.db.set_value(HOST, host.name, "slug", None)
	upgrade.execute()
	assert frappe.db.get_value(HOST, host.name, "slug") == "crm-test-user"


# -- who sees which types -----------------------------------------------------------------------------


@pytest.fixture
def offered(committed):
	"""Three types besides the site's own: public, staff only, disabled; hosts user and manager, the
	first with customers picking the host."""
	factories.host("user")
	factories.host("manager")
	made = [
		make_type(
			title="Demo",
			duration=45,
			host_choice="Customer picks",
			location_kind="Video",
			hosts=[{"host": USERS["user"]}, {"host": USERS["manager"]}],
			questions=[
				{"label": "Company", "required": 1},
				{"label": "Size", "kind": "Select", "options": "1-10\n11+"},
			],
		),
		make_type(title="Internal review", public=0),
		make_type(title="Old offer", enabled=0),
	]
	frappe.db.commit()
	return made


def test_a_guest_sees_no_types_while_public_booking_is_off(offered, api):
	with factories.booking_settings(enable_public_booking=0):
		response = api.get(URL)
	assert response.status_code == 404
	assert error_of(response)["type"] == "not_found_error"


def test_a_guest_sees_the_enabled_public_types_and_only_the_hosts_public_facts(offered, api):
	with factories.booking_settings(enable_public_booking=1):
		response = api.get(URL)

	assert response.status_code == 200, response.get_data(as_text=True)
	data = response.get_json()["data"]
	assert [t["id"] for t in data] == [DEFAULT_TYPE, "demo"]
	assert all(list(t) == TYPE_KEYS for t in data)
	default, demo = data
	assert default["hosts"] == []  # any free host: the guest is not told who
	assert (
		demo["duration"] == 45
		and demo["location_kind"] == "Video"
		and demo["host_choice"] == "Customer picks"
	)
	assert demo["questions"] == [
		{"label": "Company", "kind": "Data", "options": [], "required": True},
		{"label": "Size", "kind": "Select", "options": ["1-10", "11+"], "required": False},
	]
	assert sorted(h["id"] for h in demo["hosts"]) == ["crm-test-manager", "crm-test-user"]
	body = response.get_data(as_text=True)
	assert not any(user in body for user in USERS.values())


@pytest.mark.parametrize("kind", ["outsider", "nobody"])
def test_a_signed_in_user_without_a_crm_role_is_refused(offered, api, kind):
	token = factories.frappe_token(OUTSIDER if kind == "outsider" else "nobody")
	with factories.booking_settings(enable_public_booking=1):
		response = api.get(URL, auth=token)
		listed = api.get(f"/api/resource/{APPOINTMENT_TYPE}", auth=token)
	assert response.status_code == 403
	assert error_of(response)["type"] == "permission_error"
	assert listed.status_code == 403


def test_staff_see_every_enabled_type_with_its_hosts_and_users_may_not_change_them(offered, api, keys):
	response = api.get(URL, key=keys["user"])
	assert [t["id"] for t in response.get_json()["data"]] == [DEFAULT_TYPE, "demo", "internal-review"]
	assert all(t["hosts"] for t in response.get_json()["data"])  # every type's hosts, for staff

	token = factories.frappe_token("user")
	created = api.post(f"/api/resource/{APPOINTMENT_TYPE}", auth=token, json={"title": "Sneaky"})
	assert created.status_code == 403
	assert not frappe.db.exists(APPOINTMENT_TYPE, "sneaky")
	manager = api.post(
		f"/api/resource/{APPOINTMENT_TYPE}", auth=factories.frappe_token("manager"), json={"title": "Walk-in"}
	)
	assert manager.status_code == 200, manager.get_data(as_text=True)[:300]


def test_a_user_narrowed_by_user_permissions_sees_only_the_types_they_may_read(offered, api, keys):
	permission = frappe.get_doc(
		{"doctype": "User Permission", "user": USERS["user"], "allow": APPOINTMENT_TYPE, "for_value": "demo"}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		response = api.get(URL, key=keys["user"])
	finally:
		frappe.delete_doc("User Permission", permission.name, force=True, ignore_permissions=True)
		frappe.db.commit()
	assert [t["id"] for t in response.get_json()["data"]] == ["demo"]
