"""What the desk learns at login."""

from crm_appointments.crm_appointments import status_workflow


def boot_session(bootinfo):
	# The workflow table, so list indicators and form buttons never restate it in JavaScript.
	bootinfo.crm_appointment_workflow = status_workflow.as_dict()
