"""The desk's Calendar view of appointments: what it shows and what a drag does.

An appointment has a start and a duration, not an end field, so Frappe's generic calendar methods
(which read and write an end field) cannot serve it. These two translate between the calendar's
start/end and the appointment's scheduled_time/duration; every rule stays in the controller.
"""

from datetime import timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import cint, escape_html, get_datetime

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT as DOCTYPE
from crm_appointments.core.names import HOST
from crm_appointments.core.settings import MAX_DURATION

# The calendar's names for the appointment's fields (see crm_appointment_calendar.js).
START, END = "scheduled_time", "end_time"


@frappe.whitelist()
def get_events(start: str, end: str, filters: str | dict | list | None = None, **kwargs: Any):
	"""Appointments that overlap [start, end], each with its end time, as the calendar draws them.
	The list view's filters (`host` among them) and the user's permissions apply. An appointment with
	a host is titled "customer · host" (the desk colours it by `host`)."""
	start, end = get_datetime(start), get_datetime(end)
	filters = frappe.parse_json(filters) or []
	# An appointment starting up to the longest duration before the window may still overlap it.
	earliest = start - timedelta(minutes=MAX_DURATION)
	rows = frappe.get_list(
		DOCTYPE,
		fields=["name", "customer_name", "status", START, "duration", "host"],
		filters=[*filters, [DOCTYPE, START, ">=", earliest], [DOCTYPE, START, "<", end]],
		order_by=f"{START} asc",
		limit_page_length=0,
	)
	names = host_names({row.host for row in rows if row.host})
	events = []
	for row in rows:
		row[END] = row[START] + timedelta(minutes=cint(row.duration))
		if row[END] <= start:
			continue
		row.status_value = workflow.value_of(row.status)
		label = " \u00b7 ".join(filter(None, [row.customer_name, names.get(row.host)]))
		# Frappe's calendar reads titles as HTML (it strips tags); names are stored as typed. The
		# tooltip is set as an attribute (text), so it goes as it is.
		row.title = escape_html(label)
		row.tooltip = f"{label} ({_(row.status)})"
		events.append(row)
	return events


def host_names(hosts: set[str]) -> dict[str, str]:
	"""Each host's full name (their id when they have none). The appointment shows its host to whoever
	may read it, so the names are read without the Host DocType's own permission."""
	if not hosts:
		return {}
	full_names = dict(
		frappe.get_all(
			HOST, filters={"name": ("in", list(hosts))}, fields=["name", "full_name"], as_list=True
		)
	)
	return {host: full_names.get(host) or host for host in hosts}


@frappe.whitelist(methods=["POST"])
def update_event(args: str | dict, field_map: str | dict | None = None):
	"""A drag or a resize: the new start, and the new length as the duration."""
	args = frappe._dict(frappe.parse_json(args))
	doc = frappe.get_doc(DOCTYPE, args.name)
	duration = None
	if args.get(END):
		minutes = (get_datetime(args[END]) - get_datetime(args[START])).total_seconds() / 60
		duration = round(minutes)
	doc.reschedule(args[START], duration)
	return {"name": doc.name, "status": workflow.value_of(doc.status)}
