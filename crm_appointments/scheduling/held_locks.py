"""Whether this transaction holds host rows (host_calendars.lock_hosts and lock_host_if_free take them).

While it does, nothing may wait on the network (an outside calendar's busy time: caldav_busy.py), or
every other save for those hosts would wait with it. The note lasts until the transaction ends (a
commit or a rollback).
"""

import frappe


def note_host_locks() -> None:
	"""Remember, until this transaction ends, that it holds (or is about to hold) host rows."""
	if getattr(frappe.local, "crm_host_locks", None) is frappe.db:
		return
	frappe.local.crm_host_locks = frappe.db
	frappe.db.after_commit.add(forget_host_locks)
	frappe.db.after_rollback.add(forget_host_locks)


def forget_host_locks() -> None:
	frappe.local.crm_host_locks = None


def holds_host_locks() -> bool:
	return getattr(frappe.local, "crm_host_locks", None) is frappe.db
