"""Raising events where an appointment changes (doc_events in hooks.py), so the desk, the REST API,
the ORM, Data Import and customers' bookings all raise them alike.

Which events a save raises, from the document as it was (`get_doc_before_save`):
- a new appointment: `appointment.created`, and `booking.created` too when a customer booked it
  (`flags.self_service`, set by the booking code);
- a status move to confirmed, cancelled, completed or no_show: `appointment.<status>`;
- a new scheduled_time or duration: `appointment.rescheduled` (beside a status move in the same save,
  if any: a confirmed appointment that is rescheduled goes back to scheduled);
- any other change: `appointment.updated`. A save that changes no API field raises nothing;
- a deletion: `appointment.deleted`, with the object as it was.
`reminder_sent` raises `reminder.sent` for whoever sends a reminder.

Each event carries the appointment as the API shows it (rest/schema.py's `from_doc`, the one
serializer) and `previous_attributes`, the changed API fields' old values in API form. For each
enabled endpoint that takes the event, one row is written (the event's first try, queued) in the
transaction of the change, so a rollback takes it back with the change. Only once the transaction
commits is delivery queued (delivery.nudge_after_commit): a rolled-back write sends nothing.

Events of a save are raised in `on_update`, after the controller's own (which gives a live appointment
its calendar Event), so the object is the appointment as committed.
"""

import json
import time

import frappe
from frappe.utils import now_datetime

from crm_appointments.core.names import APPOINTMENT, WEBHOOK, WEBHOOK_EVENT
from crm_appointments.core.random_ids import random_part
from crm_appointments.crm_appointments.doctype.crm_appointment_webhook_delivery.crm_appointment_webhook_delivery import (
	EVENT,
)
from crm_appointments.rest import schema
from crm_appointments.webhooks import delivery

STATUS_EVENTS = {
	"confirmed": "appointment.confirmed",
	"cancelled": "appointment.cancelled",
	"completed": "appointment.completed",
	"no_show": "appointment.no_show",
}
TIMING_FIELDS = ("scheduled_time", "duration")
# Not "fields" of the object: every save moves updated_at.
NOT_ATTRIBUTES = ("id", "created_at", "updated_at")
EVENT_ID_PREFIX = "evt_"
EVENT_ID_RANDOM_LENGTH = 24


# -- the hooks ------------------------------------------------------------------------------------


def on_update(doc, method=None):
	"""CRM Appointment on_update (an insert runs it too, after after_insert)."""
	webhooks = subscribed_webhooks()
	if not webhooks:  # the usual case: one small query
		return
	if doc.flags.in_insert:
		types = ["appointment.created"]
		if doc.flags.self_service:
			types.append("booking.created")
		raise_events(doc.name, types, schema.from_doc(doc), {}, webhooks)
		return
	before = doc.get_doc_before_save()
	if before is None:
		return
	new, old = schema.from_doc(doc), schema.from_doc(before)
	previous = {k: old[k] for k in new if k not in NOT_ATTRIBUTES and old.get(k) != new[k]}
	if previous:
		raise_events(doc.name, event_types(new, previous), new, previous, webhooks)


def after_delete(doc, method=None):
	"""CRM Appointment after_delete: Frappe's delete holds the row's lock by now, as a save does, so the
	deletion's event is written after every earlier change's."""
	raise_events(doc.name, ["appointment.deleted"], schema.from_doc(doc), {})


def reminder_sent(appointment) -> list[str]:
	"""Raise `reminder.sent` for an appointment (a document or its id), in the caller's transaction;
	the ids of the events raised (none when no endpoint takes it)."""
	doc = frappe.get_doc(APPOINTMENT, appointment) if isinstance(appointment, str) else appointment
	return raise_events(doc.name, ["reminder.sent"], schema.from_doc(doc), {})


def event_types(new: dict, previous: dict) -> list[str]:
	"""The events of a save that changed the fields in `previous` (old values) to `new` (the object)."""
	types = []
	if "status" in previous and new["status"] in STATUS_EVENTS:
		types.append(STATUS_EVENTS[new["status"]])
	if any(field in previous for field in TIMING_FIELDS):
		types.append("appointment.rescheduled")
	return types or ["appointment.updated"]


# -- recording them -------------------------------------------------------------------------------


def raise_events(appointment: str, types: list[str], obj: dict, previous: dict, webhooks=None) -> list[str]:
	"""One event per type, each queued for every enabled endpoint that takes it (`webhooks`, when the
	caller has read them), in the current transaction; delivery is queued after the commit. The ids of
	the events that went to anyone."""
	webhooks = subscribed_webhooks() if webhooks is None else webhooks
	if not webhooks:
		return []
	now, created = now_datetime(), int(time.time())
	raised, reached = [], set()
	for event_type in types:
		targets = [name for name, events in webhooks if not events or event_type in events]
		if not targets:
			continue
		event_id = EVENT_ID_PREFIX + random_part(EVENT_ID_RANDOM_LENGTH)
		body = payload(event_id, event_type, created, obj, previous)
		for webhook in targets:
			delivery.insert_try(webhook, event_id, event_type, appointment, body, EVENT, 1, now)
			# For one endpoint and appointment, names follow the order of the events: each change
			# holds the appointment's row lock while it takes them.
			reached.add(webhook)
		raised.append(event_id)
	if reached:
		delivery.nudge_after_commit(reached)
	return raised


def payload(event_id: str, event_type: str, created: int, obj: dict, previous: dict) -> str:
	"""The body every try of the event sends, byte for byte (it is stored as sent)."""
	return json.dumps(
		{
			"id": event_id,
			"type": event_type,
			"created": created,
			"data": {"object": obj, "previous_attributes": previous},
		},
		ensure_ascii=False,
		separators=(",", ":"),
	)


def subscribed_webhooks() -> list[tuple[str, frozenset]]:
	"""(endpoint, the events it takes; empty: all) for every enabled endpoint, as this transaction
	sees them (none while the app installs). One small query."""
	if frappe.flags.in_install:
		return []
	try:
		rows = frappe.db.sql(
			f"""select w.name, e.event from `tab{WEBHOOK}` w
			left join `tab{WEBHOOK_EVENT}` e on e.parent = w.name and e.parenttype = %s
			where w.enabled = 1""",
			(WEBHOOK,),
		)
	except Exception as exc:
		if frappe.db.is_table_missing(exc):  # a site migrating to this version: no endpoints yet
			return []
		raise
	events: dict[str, set] = {}
	for name, event in rows:
		events.setdefault(name, set())
		if event:
			events[name].add(event)
	return [(name, frozenset(taken)) for name, taken in sorted(events.items())]
