"""Who may see an appointment's calendar Event: exactly those who may read the appointment.

Frappe lets every desk user read every Public Event. An appointment's Event carries the customer's
name and email, so for an Event that belongs to an appointment (the appointment's `calendar_event`
names it, a link only the app sets) Frappe's rule is narrowed to the appointment's own: its owner,
its assignees and anyone else whose roles, User Permissions or shares let them read it. Other Events
keep Frappe's rule.

hooks.py registers `has_permission` and `query_conditions` for Event, and the same condition for its
participant rows (Event Participants: the appointment, its host, its party and the party's email),
which Frappe lists as a child table past the Event's hooks. Frappe ANDs them with its own, so they
can only take access away, never give it. Frappe's Event calendar (and the desk's
"Today's Events") reads Events with its own SQL, which no permission hook reaches; `get_events`
takes its place (override_whitelisted_methods) and drops what the query conditions hide.

The cost does not grow with the number of users: no shares are written. The condition looks up the
Event in the appointments' `calendar_event` index and checks that one appointment against the
user's read conditions, which is what reading the appointment itself costs.
"""

import frappe
from frappe.desk.doctype.event import event as frappe_event
from frappe.model.db_query import DatabaseQuery

from crm_appointments.core.names import APPOINTMENT as DOCTYPE


def has_permission(doc, ptype=None, user=None):
	"""False when the Event is an appointment's and the user may not read that appointment;
	otherwise None, leaving the decision to Frappe's own rules."""
	user = user or frappe.session.user
	if user == "Administrator" or doc.is_new():
		return None
	for name in frappe.get_all(DOCTYPE, filters={"calendar_event": doc.name}, pluck="name"):
		if not frappe.has_permission(DOCTYPE, "read", doc=name, user=user):
			return False
	return None


def query_conditions(user=None):
	"""SQL for lists, reports, searches and counts of Events: no Event of an appointment the user may
	not read."""
	return hidden_events_condition(user, "`tabEvent`.name")


def participant_query_conditions(user=None):
	"""The same for Events' participant rows (Event Participants), which Frappe lists as a child table
	(`frappe.client.get_list` with parent Event) past the Event's own hooks: they name the appointment,
	its host and its party, with the party's email."""
	return hidden_events_condition(user, "`tabEvent Participants`.parent")


def hidden_events_condition(user, event_column: str) -> str:
	"""SQL true where `event_column` is no appointment's Event, or the Event of one the user may read."""
	user = user or frappe.session.user
	if user == "Administrator":
		return ""
	owned = f"select 1 from `tab{DOCTYPE}` appointment where appointment.calendar_event = {event_column}"
	readable = readable_appointments(user)
	if readable is None:
		return f"not exists ({owned})"
	return f"not exists ({owned} and appointment.name not in ({readable}))"


def readable_appointments(user) -> str | None:
	"""The SQL that lists the names of the appointments `user` may read (Frappe's own query, with
	roles, User Permissions, if-owner rules and shares), or None when they may read none."""
	if not frappe.has_permission(DOCTYPE, "read", user=user):
		return None
	# DatabaseQuery with the user from the start: frappe.get_list(user=...) checks the session user's
	# read permission before it takes `user` (Frappe 15), and a calendar feed's session is Guest's.
	return DatabaseQuery(DOCTYPE, user=user).execute(
		fields=["name"], user=user, limit_page_length=0, order_by="", run=False
	)


@frappe.whitelist()
def get_events(
	start: str,
	end: str,
	user: str | None = None,
	for_reminder: bool = False,
	filters: str | dict | list | None = None,
):
	"""Frappe's Event calendar feed, less the Events the session user may not read."""
	events = frappe_event.get_events(start, end, user=user, for_reminder=for_reminder, filters=filters)
	names = list({event.name for event in events})
	if not names:
		return events
	visible = set(frappe.get_list("Event", filters={"name": ("in", names)}, pluck="name", limit=0))
	return [event for event in events if event.name in visible]
