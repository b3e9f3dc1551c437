"""What the desk learns at login."""

from crm_appointments.core import status_workflow
from crm_appointments.core.party import party_doctypes


def boot_session(bootinfo):
	# The workflow table, so list indicators and form buttons never restate it in JavaScript.
	bootinfo.crm_appointment_workflow = status_workflow.as_dict()
	# What "Appointment With" offers (its link filter reads this), in the form and in quick entry.
	bootinfo.crm_appointment_party_doctypes = party_doctypes()
