"""Workspace chart: appointments per week, one stacked bar segment per status.

Eight weeks back and four ahead of this one, weeks starting on the site's first day of the week,
counted from the appointments the user may read.
"""

from datetime import timedelta
from typing import Any

import frappe
from frappe import _
from frappe.utils import get_first_day_of_week, getdate, nowdate

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT as DOCTYPE

WEEKS_BEFORE, WEEKS_AFTER = 8, 4


@frappe.whitelist()
def get(
	chart_name: str | None = None,
	chart: str | dict | None = None,
	no_cache: str | int | bool | None = None,
	filters: str | dict | list | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	**kwargs: Any,
):
	first_week = get_first_day_of_week(getdate(nowdate())) - timedelta(weeks=WEEKS_BEFORE)
	weeks = [first_week + timedelta(weeks=i) for i in range(WEEKS_BEFORE + WEEKS_AFTER + 1)]
	end = weeks[-1] + timedelta(weeks=1)
	rows = frappe.get_list(
		DOCTYPE,
		fields=["status", "date(scheduled_time) as day", "count(*) as count"],
		filters=[["scheduled_time", ">=", first_week], ["scheduled_time", "<", end]],
		group_by="status, day",
		order_by="day asc",
	)
	counts = {(status.label, week): 0 for status in workflow.STATUSES for week in weeks}
	for row in rows:
		week = get_first_day_of_week(getdate(row.day))
		counts[(row.status, week)] = counts.get((row.status, week), 0) + row.count
	return {
		"labels": [f"{week.day} {_(week.strftime('%b'))}" for week in weeks],
		"datasets": [
			{"name": _(status.label), "values": [counts[(status.label, week)] for week in weeks]}
			for status in workflow.STATUSES
		],
	}
