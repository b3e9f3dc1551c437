"""Which appointment types a caller is offered, and which of a type's hosts (contract.md,
"Appointment types"): guests, while public booking is open, the enabled public types and, where the
customer picks, the hosts' public handles, names and photos (never an email or a user id); staff every
enabled type they may read.
"""

import frappe

from crm_appointments.core.names import APPOINTMENT_TYPE, HOST
from crm_appointments.scheduling import host_calendars


def offered(for_guest: bool) -> list:
	"""The enabled types the caller may see, oldest first (their documents)."""
	filters = {"enabled": 1, **({"public": 1} if for_guest else {})}
	read = frappe.get_all if for_guest else frappe.get_list  # staff: what their permissions allow
	names = read(APPOINTMENT_TYPE, filters=filters, pluck="name", order_by="creation asc, name asc")
	return [frappe.get_cached_doc(APPOINTMENT_TYPE, name) for name in names]


def hosts_of(appointment_type) -> list[str]:
	"""The type's hosts who can take appointments (every such host when the type names none)."""
	named = [row.host for row in appointment_type.hosts]
	return host_calendars.active_hosts(named or None)


def public_hosts(hosts: list[str]) -> list[dict]:
	"""What a guest may know of these hosts: the handle, the name, the photo."""
	if not hosts:
		return []
	rows = frappe.get_all(
		HOST, filters={"name": ["in", hosts]}, fields=["name", "slug", "full_name", "photo"]
	)
	by_name = {row.name: row for row in rows}
	return [
		{"id": by_name[h].slug, "name": by_name[h].full_name or "", "photo": by_name[h].photo or None}
		for h in hosts
		if h in by_name and by_name[h].slug
	]
