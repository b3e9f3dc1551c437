# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""CRM Appointment Webhook: an endpoint that receives signed appointment events.

Its URL must be one the app may send to (core/outbound.py), checked here on every save and again before
each try. Its secret is a Password field: made when left empty, shown once in the message of the save
that made it, and never again (Frappe keeps it encrypted and hands the form only asterisks). Only
Managers see or change endpoints (the DocType's permissions; crm_appointments/webhooks/actions.py for
the desk's buttons). What raises and sends the events is crm_appointments/webhooks/.
"""

import string

import frappe
from frappe import _
from frappe.model.document import Document

from crm_appointments.core import outbound
from crm_appointments.core.names import WEBHOOK_DELIVERY, WEBHOOK_EVENTS
from crm_appointments.core.random_ids import random_part

SECRET_PREFIX = "whsec_"
SECRET_RANDOM_LENGTH = 32
MIN_SECRET_LENGTH = 16


class CRMAppointmentWebhook(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from crm_appointments.crm_appointments.doctype.crm_appointment_webhook_event.crm_appointment_webhook_event import (
			CRMAppointmentWebhookEvent,
		)

		description: DF.SmallText | None
		disabled_reason: DF.SmallText | None
		enabled: DF.Check
		events: DF.Table[CRMAppointmentWebhookEvent]
		failing_since: DF.Datetime | None
		secret: DF.Password | None
		url: DF.Data
	# end: auto-generated types

	def autoname(self):
		self.name = "webhook_" + random_part(12)

	def validate(self):
		self.validate_url()
		self.validate_events()
		self.make_secret_if_empty()
		self.reset_health_when_enabled()

	def validate_url(self):
		"""Checked while enabled (a disabled endpoint can always be saved, to switch it off); and before
		each try whatever this said."""
		self.url = (self.url or "").strip()
		if not self.enabled:
			return
		try:
			outbound.check_url(self.url)
		except outbound.UnsafeTargetError as exc:
			frappe.throw(str(exc), outbound.UnsafeTargetError, title=_("URL refused"))

	def validate_events(self):
		seen = set()
		for row in self.events:
			if row.event not in WEBHOOK_EVENTS:
				frappe.throw(
					_("{0} is not an event. Use one of: {1}.").format(row.event, ", ".join(WEBHOOK_EVENTS))
				)
			if row.event in seen:
				frappe.throw(_("{0} is listed twice.").format(row.event))
			seen.add(row.event)

	def make_secret_if_empty(self):
		"""A new secret when there is none (a new endpoint, or its secret emptied to roll it); kept in
		the flags for the one message that shows it. A secret typed in must be long enough to sign with."""
		if not self.secret:
			self.secret = SECRET_PREFIX + random_part(
				SECRET_RANDOM_LENGTH, string.ascii_letters + string.digits
			)
			self.flags.plain_secret = self.secret
		elif not self.is_dummy_password(self.secret) and len(self.secret) < MIN_SECRET_LENGTH:
			frappe.throw(_("The secret must be at least {0} characters long.").format(MIN_SECRET_LENGTH))

	def reset_health_when_enabled(self):
		"""Switching an endpoint on again starts its failure count afresh."""
		before = None if self.is_new() else self.get_doc_before_save()
		if self.enabled and (before is None or not before.enabled):
			self.failing_since = None
			self.disabled_reason = None

	def on_update(self):
		if self.flags.plain_secret:
			frappe.msgprint(
				_(
					"Copy the signing secret now; this is the only time it is shown. Receivers check the "
					"CRM-Signature header with it."
				)
				+ f"<pre>{frappe.utils.escape_html(self.flags.plain_secret)}</pre>",
				title=_("Signing secret"),
			)

	def on_trash(self):
		# Its log goes with it (the rows link it, and would hold its deletion up).
		frappe.db.delete(WEBHOOK_DELIVERY, {"webhook": self.name})
