"""Field rules from contract.md: each bad value is refused with the field named, and nothing is saved."""

import frappe
import pytest

from crm_appointments.core.exceptions import InvalidFieldError
from tests.factories import appointment, future, make, stored


def refused(fieldname, **fields):
	"""Insert with `fields`; assert it fails on `fieldname` and that no row was written."""
	before = frappe.db.count("CRM Appointment")
	with pytest.raises(InvalidFieldError) as error:
		make(**fields)
	assert error.value.fieldname == fieldname
	assert frappe.db.count("CRM Appointment") == before
	return str(error.value)


# -- customer_name ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t"])
def test_customer_name_is_required_and_not_blank(value):
	refused("customer_name", customer_name=value)


def test_customer_name_is_trimmed():
	assert stored(make(customer_name="  Grace Hopper  "), "customer_name") == "Grace Hopper"


def test_customer_name_may_be_140_characters_but_not_141():
	assert len(stored(make(customer_name="x" * 140), "customer_name")) == 140
	message = refused("customer_name", customer_name="x" * 141)
	assert "140" in message


def test_customer_name_is_one_line():
	refused("customer_name", customer_name="Ada\nLovelace")


def test_customer_name_is_stored_as_typed_even_when_it_looks_like_html():
	name = "<b>Ada</b> & <script>alert(1)</script>"
	assert stored(make(customer_name=name), "customer_name") == name


def test_customer_name_is_the_title():
	doc = make(customer_name="Grace Hopper")
	assert frappe.get_meta("CRM Appointment").title_field == "customer_name"
	assert doc.get_title() == "Grace Hopper"


# -- customer_email -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "  "])
def test_customer_email_is_required(value):
	refused("customer_email", customer_email=value)


@pytest.mark.parametrize(
	"value",
	[
		"not-an-email",
		"ada@",
		"@example.com",
		"ada@example",
		"ada lovelace@example.com",
		"Ada <ada@example.com>",
		"ada@example.com, bob@example.com",
		"ada@@example.com",
	],
)
def test_customer_email_must_be_one_valid_address(value):
	refused("customer_email", customer_email=value)


def test_customer_email_is_stored_trimmed_and_lower_case():
	assert (
		stored(make(customer_email="  Ada.Lovelace@Example.COM "), "customer_email")
		== "ada.lovelace@example.com"
	)


# -- customer_phone_number ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["+1 (555) 010-0199", "020 7946 0000", "+44.20.7946.0000", "5550100"])
def test_phone_numbers_with_digits_spaces_and_punctuation_are_accepted(value):
	assert stored(make(customer_phone_number=value), "customer_phone_number") == value


@pytest.mark.parametrize(
	"value", ["555-CALL-NOW", "+1 555 0100 ext 4", "555#100", "555_0100", "()-+", "<script>"]
)
def test_phone_numbers_with_other_characters_are_refused(value):
	refused("customer_phone_number", customer_phone_number=value)


def test_phone_numbers_are_at_most_20_characters_and_a_longer_one_is_refused_by_our_rule():
	# Frappe's own Phone check stops at 20 characters too, but with an error that names no field.
	assert stored(make(customer_phone_number="+44 20 7946 0000 123"), "customer_phone_number")
	refused("customer_phone_number", customer_phone_number="0" * 21)


def test_phone_number_is_optional_and_blank_means_unset():
	assert stored(make(customer_phone_number="   "), "customer_phone_number") is None


# -- the other optional fields ------------------------------------------------------------------


def test_optional_fields_left_out_are_null():
	doc = make()
	for fieldname in (
		"customer_phone_number",
		"customer_skype",
		"customer_details",
		"appointment_with",
		"party",
	):
		assert stored(doc, fieldname) is None, fieldname


def test_customer_skype_is_trimmed():
	assert stored(make(customer_skype=" live:ada.l "), "customer_skype") == "live:ada.l"


def test_customer_details_are_kept_exactly_as_typed():
	notes = "Line one\n  <img src=x onerror=alert(1)>\n\tLine three "
	assert stored(make(customer_details=notes), "customer_details") == notes


# -- scheduled_time and duration ----------------------------------------------------------------


def test_scheduled_time_is_required():
	refused("scheduled_time", scheduled_time=None)


def test_scheduled_time_must_be_a_date_and_time():
	refused("scheduled_time", scheduled_time="next tuesday-ish")


def test_duration_defaults_to_30_minutes():
	assert stored(make(), "duration") == 30


@pytest.mark.parametrize("value", [5, 45, 1440])
def test_duration_from_5_to_1440_minutes_is_accepted(value):
	assert stored(make(duration=value), "duration") == value


@pytest.mark.parametrize("value", [0, 4, 1441, -30, "half an hour", 12.5])
def test_duration_outside_5_to_1440_whole_minutes_is_refused(value):
	refused("duration", duration=value)


# -- appointment_with and party -----------------------------------------------------------------


@pytest.fixture
def contact():
	return frappe.get_doc({"doctype": "Contact", "first_name": "Ada", "last_name": "Lovelace"}).insert(
		ignore_permissions=True
	)


def test_party_can_be_an_existing_contact(contact):
	doc = make(appointment_with="Contact", party=contact.name)
	assert (stored(doc, "appointment_with"), stored(doc, "party")) == ("Contact", contact.name)


def test_party_must_exist():
	message = refused("party", appointment_with="Contact", party="No Such Contact 123")
	assert "does not exist" in message


def test_party_needs_appointment_with(contact):
	refused("party", party=contact.name)


@pytest.mark.parametrize("doctype", ["User", "ToDo", "DocType", "Not A DocType"])
def test_appointment_with_must_be_a_kind_of_party(doctype):
	message = refused("appointment_with", appointment_with=doctype)
	assert "Contact" in message


def test_appointment_with_alone_is_allowed():
	assert stored(make(appointment_with="Contact"), "appointment_with") == "Contact"


def test_the_party_kinds_offered_are_those_on_the_site():
	from crm_appointments.core.party import party_doctypes

	kinds = party_doctypes()
	assert kinds[0] == "Contact"
	assert all(frappe.db.exists("DocType", kind) for kind in kinds)


# -- a refused save writes nothing ---------------------------------------------------------------


def test_a_refused_update_leaves_every_stored_value_as_it_was():
	doc = make(customer_name="Ada", customer_phone_number="123", scheduled_time=future(days=2))
	row_before = frappe.db.get_value("CRM Appointment", doc.name, "*", as_dict=True)
	doc.customer_name = "Ada Byron"
	doc.customer_phone_number = "not a phone"
	with pytest.raises(InvalidFieldError):
		doc.save()
	assert frappe.db.get_value("CRM Appointment", doc.name, "*", as_dict=True) == row_before


def test_no_version_is_recorded_for_a_refused_save():
	doc = make()
	versions = frappe.db.count("Version", {"ref_doctype": "CRM Appointment", "docname": doc.name})
	doc.customer_email = "broken"
	with pytest.raises(InvalidFieldError):
		doc.save()
	assert frappe.db.count("Version", {"ref_doctype": "CRM Appointment", "docname": doc.name}) == versions


def test_every_change_is_kept_in_the_version_log():
	doc = make(customer_name="Ada")
	doc.customer_name = "Ada Byron"
	doc.save()
	version = frappe.get_last_doc("Version", filters={"ref_doctype": "CRM Appointment", "docname": doc.name})
	assert ["customer_name", "Ada", "Ada Byron"] in frappe.parse_json(version.data)["changed"]


def test_an_unsaved_appointment_validates_without_a_write():
	doc = appointment(customer_email="nope")
	with pytest.raises(InvalidFieldError):
		doc.insert()
	assert doc.is_new()
