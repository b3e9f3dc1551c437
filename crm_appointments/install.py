"""What installing and uninstalling the app does beyond syncing its DocTypes."""

import frappe

ROLES = ("CRM Appointment Manager", "CRM Appointment User")


def after_install():
	make_roles()


def after_migrate():
	make_roles()


def make_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def before_uninstall():
	"""Take the roles away with the app, from every user who had them."""
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.db.delete("Custom DocPerm", {"role": role})
		if frappe.db.exists("Role", role):
			frappe.delete_doc("Role", role, ignore_permissions=True, force=True)
