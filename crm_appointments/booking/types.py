"""Which appointment types a caller is offered, and which of a type's hosts (contract.md,
"Appointment types"): guests, while public booking is open, the enabled public types and, where the
customer picks, the hosts' public handles, names and photos (never an email or a user id); staff every
enabled type they may read.
"""

import frappe
from frappe import _

from crm_appointments.core.exceptions import InvalidFieldError, throw
from crm_appointments.core.names import APPOINTMENT_TYPE, HOST
from crm_appointments.crm_appointments.doctype.crm_appointment_type.crm_appointment_type import choices
from crm_appointments.scheduling import host_calendars, slots, timing


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


# -- a booking's type, host and answers ----------------------------------------------------------------


def resolve(slug: str | None, for_guest: bool):
	"""The type a slot search or a booking is for: the one named (enabled; for a guest also public),
	or the default (timing.default_type: the oldest enabled public type). None when the site has no
	such type at all: then the settings' timing and every host, as before types. A type the caller
	may not book is a 400 naming `type`, the same whether it exists or not."""
	if slug is None:
		name = timing.default_type()
		return frappe.get_cached_doc(APPOINTMENT_TYPE, name) if name else None
	if for_guest:
		known = frappe.db.exists(APPOINTMENT_TYPE, {"name": slug, "enabled": 1, "public": 1})
	else:
		known = frappe.db.exists(APPOINTMENT_TYPE, {"name": slug, "enabled": 1}) and frappe.has_permission(
			APPOINTMENT_TYPE, "read", slug
		)
	if not known:
		throw(InvalidFieldError, _("There is no appointment type {0} to book.").format(slug), "type")
	return frappe.get_cached_doc(APPOINTMENT_TYPE, slug)


def candidate_hosts(appointment_type, host_slug: str | None, for_guest: bool) -> list[str] | None:
	"""The hosts a booking of the type may go to: the type's (None: every host, for no type), or just
	the one the customer picked by their public handle, which must be one of them. A guest may pick
	only where the type lets the customer pick."""
	hosts = hosts_of(appointment_type) if appointment_type is not None else None
	if host_slug is None:
		return hosts
	if for_guest and (appointment_type is None or appointment_type.host_choice != "Customer picks"):
		throw(InvalidFieldError, _("Guests cannot choose a host here."), "host")
	host = host_by_slug(host_slug)
	if host is None or (hosts is not None and host not in hosts):
		throw(InvalidFieldError, _("No host {0} takes this kind of appointment.").format(host_slug), "host")
	return [host]


def host_by_slug(slug: str) -> str | None:
	return frappe.db.get_value(HOST, {"slug": slug}, "name") if slug else None


def answers_for(appointment_type, given: dict | None) -> list[dict] | None:
	"""The customer's answers (label -> text) as the appointment keeps them, in the type's order:
	every required question answered, no unknown one, a Select's answer one of its choices, a Check's
	yes or no; else a 400 naming `answers`."""
	given = dict(given or {})
	questions = list(appointment_type.questions) if appointment_type is not None else []
	by_label = {q.label: q for q in questions}
	if unknown := [label for label in given if label not in by_label]:
		throw(InvalidFieldError, _("Unknown question: {0}.").format(unknown[0]), "answers")
	kept = []
	for question in questions:
		answer = given.get(question.label)
		if isinstance(answer, bool):
			answer = "Yes" if answer else "No"
		answer = (answer or "").strip() if isinstance(answer, str) else answer
		if answer is not None and not isinstance(answer, str):
			throw(InvalidFieldError, _("The answer to {0} must be text.").format(question.label), "answers")
		if not answer:
			if question.required:
				throw(InvalidFieldError, _("Please answer: {0}").format(question.label), "answers")
			continue
		if question.kind == "Select" and answer not in choices(question):
			throw(
				InvalidFieldError,
				_("The answer to {0} must be one of: {1}.").format(
					question.label, ", ".join(choices(question))
				),
				"answers",
			)
		if question.kind == "Check":
			if answer.lower() not in ("yes", "no", "true", "false", "1", "0"):
				throw(
					InvalidFieldError,
					_("The answer to {0} must be yes or no.").format(question.label),
					"answers",
				)
			answer = "Yes" if answer.lower() in ("yes", "true", "1") else "No"
			if question.required and answer == "No":
				throw(InvalidFieldError, _("Please answer: {0}").format(question.label), "answers")
		kept.append({"question": question.label, "answer": answer})
	return kept or None


def hosts_for_slots(appointment_type, host: str | None, for_guest: bool) -> list[str] | None:
	"""Whose free times a caller sees for the type: a guest every host of the type's (None: every
	host), or the one picked by handle where the customer picks (candidate_hosts); staff those of the
	type's they may read (slots.hosts_shown_to_caller), or the one named by user id or handle. A named
	host who is not among them is a 400 naming `host`."""
	if for_guest:
		return candidate_hosts(appointment_type, host, for_guest=True)
	named = host
	if host and not frappe.db.exists(HOST, host):
		named = host_by_slug(host) or host
	hosts = slots.hosts_shown_to_caller(named)
	if appointment_type is not None:
		of_type = hosts_of(appointment_type)
		hosts = [h for h in hosts if h in of_type] if hosts is not None else of_type
	if host and not hosts:
		throw(
			InvalidFieldError, _("No enabled host {0} takes this kind of appointment.").format(host), "host"
		)
	return hosts
