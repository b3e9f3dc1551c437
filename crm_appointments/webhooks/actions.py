"""The desk's webhook buttons, for Managers only (CRM Appointment Manager, System Manager): Send Test
Event on an endpoint, Resend on a delivery. Each sends at once, in the request, as a try of its own
(logged, never retried), and answers with its outcome for the form to show."""

import time
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from crm_appointments.core.names import APPOINTMENT, WEBHOOK, WEBHOOK_DELIVERY, WEBHOOK_MANAGERS
from crm_appointments.core.random_ids import random_part
from crm_appointments.crm_appointments.doctype.crm_appointment_webhook_delivery.crm_appointment_webhook_delivery import (
	RESEND,
	TEST,
)
from crm_appointments.rest import schema
from crm_appointments.webhooks import delivery, events

TEST_EVENT_ID_PREFIX = "evt_test_"


@frappe.whitelist(methods=["POST"])
def send_test_event(webhook: str) -> dict:
	"""Send the endpoint a signed test event: its first chosen event type (appointment.created when it
	takes all), with a made-up appointment, so a receiver can be tried without touching real data."""
	hook = endpoint_for_manager(webhook)
	event_type = hook.events[0].event if hook.events else "appointment.created"
	event_id = TEST_EVENT_ID_PREFIX + random_part(events.EVENT_ID_RANDOM_LENGTH)
	sample = sample_appointment()
	body = events.payload(event_id, event_type, int(time.time()), sample, {})
	return delivery.send_now(hook.name, event_id, event_type, sample["id"], body, TEST)


@frappe.whitelist(methods=["POST"])
def resend(delivery_name: str | int) -> dict:
	"""Send a delivery's event again: the same id and the same bytes, a new signature."""
	if not frappe.db.exists(WEBHOOK_DELIVERY, delivery_name):
		frappe.throw(frappe._("No such delivery."), frappe.DoesNotExistError)
	row = frappe.get_doc(WEBHOOK_DELIVERY, delivery_name)
	row.check_permission("read")
	endpoint_for_manager(row.webhook)
	trigger = TEST if row.trigger == TEST else RESEND
	return delivery.send_now(row.webhook, row.event_id, row.event_type, row.appointment, row.payload, trigger)


def endpoint_for_manager(webhook: str):
	frappe.only_for(WEBHOOK_MANAGERS)
	hook = frappe.get_doc(WEBHOOK, webhook)
	hook.check_permission("write")
	return hook


def sample_appointment() -> dict:
	"""A made-up appointment, as the API would show it (it is never saved)."""
	now = now_datetime().replace(microsecond=0)
	doc = frappe.get_doc(
		{
			"doctype": APPOINTMENT,
			"customer_name": "Test Customer",
			"customer_email": "test.customer@example.com",
			"scheduled_time": now + timedelta(days=1),
			"status": "Scheduled",
			"duration": 30,
		}
	)
	doc.name = "appointment_test" + random_part(12)
	doc.creation = doc.modified = now
	return schema.from_doc(doc)
