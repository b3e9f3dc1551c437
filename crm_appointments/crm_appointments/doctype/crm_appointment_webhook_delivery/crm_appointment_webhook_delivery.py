# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""CRM Appointment Webhook Delivery: one try to deliver one event to one endpoint.

Every try is a row: the first (trigger Event) is written with the change that raised the event, in its
transaction; each retry, resend and test is a row of its own. A row is Queued until its time comes,
Sending while a worker has it, then Succeeded, Failed or Skipped, with the answer's status code, how
long it took, and (for a failed automatic try that has tries left) when the next one goes. The app
writes these rows; Managers read them, and resend one from the desk (crm_appointments/webhooks/).
"""

import frappe
from frappe.model.document import Document

from crm_appointments.core.names import WEBHOOK_DELIVERY

QUEUED, SENDING, SUCCEEDED, FAILED, SKIPPED = "Queued", "Sending", "Succeeded", "Failed", "Skipped"
EVENT, RETRY, RESEND, TEST = "Event", "Retry", "Resend", "Test"


class CRMAppointmentWebhookDelivery(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		appointment: DF.Data | None
		attempt: DF.Int
		claimed_at: DF.Datetime | None
		duration: DF.Float
		error: DF.SmallText | None
		event_id: DF.Data | None
		event_type: DF.Literal[
			"appointment.created",
			"appointment.updated",
			"appointment.rescheduled",
			"appointment.confirmed",
			"appointment.cancelled",
			"appointment.completed",
			"appointment.no_show",
			"appointment.deleted",
			"booking.created",
			"reminder.sent",
		]
		name: DF.Int | None
		next_try: DF.Datetime | None
		payload: DF.Code | None
		sent_at: DF.Datetime | None
		state: DF.Literal["Queued", "Sending", "Succeeded", "Failed", "Skipped"]
		status_code: DF.Int
		trigger: DF.Literal["Event", "Retry", "Resend", "Test"]
		url: DF.Data | None
		webhook: DF.Link
	# end: auto-generated types

	pass


def on_doctype_update():
	# An endpoint's events of one appointment, in order: the head of that line (webhooks/delivery.py).
	frappe.db.add_index(WEBHOOK_DELIVERY, ["appointment", "webhook"])
	# The retry job: what is queued and due.
	frappe.db.add_index(WEBHOOK_DELIVERY, ["state", "next_try"])
	# Every try of one event (Resend numbers its try after them).
	frappe.db.add_index(WEBHOOK_DELIVERY, ["event_id"])
