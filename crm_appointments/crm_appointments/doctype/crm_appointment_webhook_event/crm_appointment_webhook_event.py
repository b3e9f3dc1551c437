# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

from frappe.model.document import Document


class CRMAppointmentWebhookEvent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		event: DF.Literal[
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
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
	# end: auto-generated types

	pass
