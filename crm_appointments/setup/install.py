"""What installing and uninstalling the app does beyond syncing its DocTypes."""

import frappe

from crm_appointments.core.names import ROLES, SETTINGS
from crm_appointments.desk import saved_views as desk_views


def after_install():
	from crm_appointments.notify.sms import install_templates as install_text_templates

	make_roles()
	make_default_settings()  # installs the templates it names
	install_text_templates()
	make_booking_defaults()
	make_default_type()
	desk_views.install()


def after_migrate():
	from crm_appointments.notify.emails import install_templates

	make_roles()
	install_templates()
	make_booking_defaults()


def make_default_settings():
	"""Reminders a day and an hour before, from the app's own templates (once: an admin's later
	changes, emptying the offsets included, are theirs to keep)."""
	from crm_appointments.core.settings import (
		DEFAULT_OFFSETS,
	)
	from crm_appointments.notify.emails import CANCELLATION_TEMPLATE, REMINDER_TEMPLATE, install_templates

	install_templates()
	settings = frappe.get_single(SETTINGS)
	if settings.reminder_offsets:
		return
	settings.reminder_template = settings.reminder_template or REMINDER_TEMPLATE
	settings.cancellation_template = settings.cancellation_template or CANCELLATION_TEMPLATE
	for minutes in DEFAULT_OFFSETS:
		settings.append("reminder_offsets", {"minutes_before": minutes})
	settings.flags.ignore_permissions = True
	settings.save()


def make_booking_defaults():
	"""A site that had the app before booking settings existed gets their defaults once (Frappe fills
	a single DocType's new fields only for a new document)."""
	from crm_appointments.core.settings import (
		DEFAULT_HORIZON_DAYS,
		DEFAULT_NOTICE,
	)

	for fieldname, value in (
		("minimum_notice", DEFAULT_NOTICE),
		("booking_horizon", DEFAULT_HORIZON_DAYS),
		("buffer_minutes", 0),
		("enable_public_booking", 0),
	):
		stored = frappe.db.sql(
			"select value from `tabSingles` where doctype = %s and field = %s", (SETTINGS, fieldname)
		)
		if not stored or stored[0][0] in (None, ""):
			frappe.db.set_single_value(SETTINGS, fieldname, value)


def make_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def before_uninstall():
	"""Take away what points at the app's DocTypes (see uninstall.py), its saved views, its email
	templates, and its roles from every user who had them."""
	from crm_appointments.notify.emails import TEMPLATES
	from crm_appointments.setup import uninstall

	desk_views.uninstall()
	uninstall.before_uninstall()

	for name in TEMPLATES:
		if frappe.db.exists("Email Template", name):
			frappe.delete_doc("Email Template", name, ignore_permissions=True, force=True)
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.db.delete("Custom DocPerm", {"role": role})
		if frappe.db.exists("Role", role):
			frappe.delete_doc("Role", role, ignore_permissions=True, force=True)


def make_default_type():
	"""The `appointment` type, made from the booking settings, on a site that has no type: /book and
	API clients that name no type book it, as they booked before types existed."""
	from crm_appointments.core.names import APPOINTMENT_TYPE, DEFAULT_TYPE

	if frappe.db.count(APPOINTMENT_TYPE):
		return
	frappe.get_doc(
		{
			"doctype": APPOINTMENT_TYPE,
			"title": "Appointment",
			"slug": DEFAULT_TYPE,
			"enabled": 1,
			"public": 1,
			# Every timing field at 0: the settings' values (scheduling/timing.py), now and after an
			# admin changes the settings, as booking behaved before types.
			"duration": 0,
			"slot_interval": 0,
			"buffer_before": 0,
			"buffer_after": 0,
			"minimum_notice": 0,
			"booking_horizon": 0,
			"max_per_day": 0,
			"host_choice": "Any free host",
		}
	).insert(ignore_permissions=True)


def make_host_slugs():
	"""Each host without a public handle gets one made from their name."""
	from crm_appointments.core import slugs
	from crm_appointments.core.names import HOST

	for host in frappe.get_all(
		HOST, filters={"slug": ["is", "not set"]}, fields=["name", "full_name"], order_by="creation"
	):
		slug = slugs.settle(None, HOST, host.full_name or "", "host", exclude=host.name)
		frappe.db.set_value(HOST, host.name, "slug", slug, update_modified=False)
