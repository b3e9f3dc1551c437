"""Frappe wrote the timeline entry of each Event the app made before on the appointment's party's page
(a Contact's), where every reader of the Contact saw the appointment: take those entries off (see
calendar_sync.py). The party stays a participant."""

import frappe

from crm_appointments.calendars.event import drop_timeline_entry
from crm_appointments.core.names import APPOINTMENT


def execute():
	for row in frappe.get_all(
		APPOINTMENT,
		filters={"calendar_event": ("is", "set"), "party": ("is", "set")},
		fields=["calendar_event", "appointment_with", "party"],
	):
		drop_timeline_entry(row.calendar_event, row.appointment_with, row.party)
