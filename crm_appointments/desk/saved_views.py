"""The desk views the app installs for CRM Appointment: saved list filters and the Kanban board.

The workspace, its number cards and its chart are module files Frappe syncs itself; these two are
site records (List Filter, Kanban Board), so they are made here, once (on install, or by a patch),
and then left to the site's users to change.
"""

import json

import frappe
from frappe import _

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT as DOCTYPE

KANBAN_BOARD = "CRM Appointments by Status"


def saved_filters() -> dict[str, list]:
	"""The shared saved filters: name -> the list filters, as the desk stores them."""
	live = [workflow.label_of(v) for v in workflow.LIVE]
	return {
		_("Today"): [[DOCTYPE, "scheduled_time", "Timespan", "today", False]],
		_("Upcoming"): [
			[DOCTYPE, "status", "in", live, False],
			[DOCTYPE, "scheduled_time", "Timespan", "next 30 days", False],
		],
	}


def mine_filter(user: str) -> list:
	return [[DOCTYPE, "owner", "=", user, False]]


def install():
	make_saved_filters()
	make_kanban_board()


def make_saved_filters():
	for name, filters in saved_filters().items():
		make_list_filter(name, filters, for_user="")


def make_list_filter(name: str, filters: list, for_user: str) -> bool:
	"""A saved filter in the list sidebar, unless one of that name is there; True when made."""
	same_name = {"reference_doctype": DOCTYPE, "filter_name": name}
	# A shared filter's for_user is empty: stored as "" or NULL, which only "not set" matches both.
	same_name["for_user"] = for_user or ("is", "not set")
	if frappe.get_all("List Filter", filters=same_name, limit=1):
		return False
	frappe.get_doc(
		{
			"doctype": "List Filter",
			"reference_doctype": DOCTYPE,
			"filter_name": name,
			"for_user": for_user,
			"filters": json.dumps(filters),
		}
	).insert(ignore_permissions=True)
	return True


@frappe.whitelist(methods=["POST"])
def ensure_mine_filter() -> bool:
	"""The list's "Mine" saved filter is per user (it names the user); made on first use."""
	frappe.has_permission(DOCTYPE, "read", throw=True)
	user = frappe.session.user
	return make_list_filter(_("Mine"), mine_filter(user), for_user=user)


def make_kanban_board():
	"""One column per status, coloured as the list indicators; moves go through the controller."""
	if frappe.db.exists("Kanban Board", KANBAN_BOARD):
		return
	board = frappe.get_doc(
		{
			"doctype": "Kanban Board",
			"kanban_board_name": KANBAN_BOARD,
			"reference_doctype": DOCTYPE,
			"field_name": "status",
			"private": 0,
			"show_labels": 1,
			"fields": json.dumps(["scheduled_time", "customer_email"]),
		}
	)
	for status in workflow.STATUSES:
		board.append(
			"columns",
			{"column_name": status.label, "status": "Active", "indicator": status.indicator.title()},
		)
	board.insert(ignore_permissions=True)


def uninstall():
	frappe.db.delete("List Filter", {"reference_doctype": DOCTYPE})
	for name in frappe.get_all("Kanban Board", filters={"reference_doctype": DOCTYPE}, pluck="name"):
		frappe.delete_doc("Kanban Board", name, ignore_permissions=True, force=True)
