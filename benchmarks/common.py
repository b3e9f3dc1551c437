"""What the API benchmarks share: the appointment they create, as our API takes it and as
/api/resource takes it, and the warm-up of both servers before anything is timed."""

import json

import requests

from crm_appointments.core import status_workflow as workflow


def create_bodies(domain: str, status: str):
	"""(ours, Frappe's): functions of a request number giving the JSON body that creates appointment
	number i, with the API's status value and UTC time, and with the DocType's status label and the
	same wall-clock time without a zone (Frappe's own format)."""

	def fields(i):
		return {"customer_name": f"Created {i}", "customer_email": f"created{i}@{domain}"}

	def ours(i):
		return json.dumps({**fields(i), "scheduled_time": "2031-01-01T10:00:00Z", "status": status})

	def frappes(i):
		return json.dumps(
			{**fields(i), "scheduled_time": "2031-01-01 10:00:00", "status": workflow.label_of(status)}
		)

	return ours, frappes


def warm_up(ours_url: str, theirs_url: str, ours: dict, theirs: dict, sample: str, create, frappe_create):
	"""Every kind of request (the list too), on both sides, until both workers have served each: writes too, as a
	worker's first save imports a good part of Frappe (notifications, versions, the calendar), a
	second or more once per process. ours_url and theirs_url are the collections' URLs."""
	for i in range(20):
		requests.get(f"{ours_url}/{sample}", headers=ours)
		requests.get(f"{theirs_url}/{sample}", headers=theirs)
		requests.get(f"{ours_url}?limit=20", headers=ours)
		requests.get(f"{theirs_url}?limit_page_length=20", headers=theirs)
		requests.patch(f"{ours_url}/{sample}", headers=ours, data=json.dumps({"customer_details": "w"}))
		requests.put(f"{theirs_url}/{sample}", headers=theirs, data=json.dumps({"customer_details": "w"}))
		if i < 4:
			requests.post(ours_url, headers=ours, data=create(-1 - i))
			requests.post(theirs_url, headers=theirs, data=frappe_create(-1 - i))
