"""Who may read and change hosts, and what the host's ToDo and Event rows show to whom.

Called as the desk and REST clients call Frappe (its own routes, over HTTP, Frappe's token
authentication): a guest, a desk user with no CRM role, a CRM Appointment User, a Manager, and a
user narrowed by User Permissions.
"""

import json
from urllib.parse import quote

import frappe
import pytest

from tests import factories
from tests.factories import USERS, commit, future, make, user_permission
from tests.test_event_visibility import Desk

HOST_DOCTYPE = "CRM Appointment Host"
RESOURCE = f"/api/resource/{quote(HOST_DOCTYPE)}"
HOST, OTHER = USERS["user"], USERS["manager"]


@pytest.fixture(scope="module")
def tokens(site):
	issued = {kind: factories.frappe_token(kind) for kind in USERS}
	return issued


@pytest.fixture
def hosts(committed):
	"""Both CRM test users are hosts (committed: requests see only committed data)."""
	made = {kind: factories.host(kind, hours=[(0, "09:00", "12:00")]) for kind in ("user", "manager")}
	frappe.db.commit()
	return made


def as_(api, tokens, kind):
	return Desk(api, tokens[kind]) if kind != "guest" else Desk(api, None)


def stored_host(name):
	frappe.db.rollback()
	doc = frappe.get_doc(HOST_DOCTYPE, name)
	return doc.enabled, [(r.day_of_week, str(r.from_time), str(r.to_time)) for r in doc.working_hours]


def write_attempts(api, auth):
	"""Every way Frappe offers to create, change or delete a host, as `auth`; the status codes."""
	headers = {"Authorization": auth} if auth else {}
	new = {
		"user": USERS["manager"],
		"working_hours": [{"day_of_week": "Friday", "from_time": "08:00", "to_time": "09:00"}],
	}
	change = {"enabled": 0, "working_hours": []}
	doc = dict(frappe.get_doc(HOST_DOCTYPE, HOST).as_dict(convert_dates_to_str=True), **change)
	return {
		"REST create": api.post(RESOURCE, json=new, headers=headers).status_code,
		"REST update": api.request(
			"PUT", f"{RESOURCE}/{quote(HOST)}", json=change, headers=headers
		).status_code,
		"REST delete": api.delete(f"{RESOURCE}/{quote(HOST)}", headers=headers).status_code,
		"desk save": api.post(
			"/api/method/frappe.desk.form.save.savedocs",
			data={"doc": json.dumps(doc), "action": "Save"},
			headers=headers,
		).status_code,
		"desk set_value": api.post(
			"/api/method/frappe.client.set_value",
			data={"doctype": HOST_DOCTYPE, "name": HOST, "fieldname": "enabled", "value": "0"},
			headers=headers,
		).status_code,
	}


def read_attempts(desk):
	"""Every way the desk and REST read hosts; for each, whether the host was given out."""
	listed = desk.get(RESOURCE, fields=["name"], limit_page_length=0)
	one = desk.get(f"{RESOURCE}/{quote(HOST)}")
	opened, _ = desk.opens(HOST_DOCTYPE, HOST)
	status, rows = desk.method(
		"frappe.client.get_list", doctype=HOST_DOCTYPE, fields=["name"], limit_page_length=0
	)
	hours_status, hours = desk.method(
		"frappe.client.get_list",
		doctype="CRM Appointment Host Hours",
		parent=HOST_DOCTYPE,
		fields=["parent"],
		limit_page_length=0,
	)
	search_status, search = desk.method("frappe.desk.search.search_link", doctype=HOST_DOCTYPE, txt="crm")
	return {
		"REST list": listed.status_code == 200 and HOST in {r["name"] for r in listed.get_json()["data"]},
		"REST get": one.status_code == 200,
		"desk form": opened,
		"desk list": status == 200 and HOST in {r["name"] for r in rows.get("message", [])},
		"hours rows": hours_status == 200 and HOST in {r["parent"] for r in hours.get("message", [])},
		"link search": search_status == 200 and HOST in {r["value"] for r in search.get("message", [])},
	}


NOTHING = dict.fromkeys(
	("REST list", "REST get", "desk form", "desk list", "hours rows", "link search"), False
)
EVERYTHING = dict.fromkeys(NOTHING, True)


@pytest.mark.parametrize("kind", ["guest", "nobody"])
def test_a_guest_or_a_desk_user_without_a_crm_role_can_neither_read_nor_change_hosts(
	api, tokens, hosts, kind
):
	before = stored_host(HOST)
	assert read_attempts(as_(api, tokens, kind)) == NOTHING
	refused = write_attempts(api, tokens.get(kind))
	assert set(refused.values()) == {403}, refused
	assert stored_host(HOST) == before
	assert not frappe.db.exists(HOST_DOCTYPE, {"name": HOST, "enabled": 0})


def test_the_desk_page_of_hosts_sends_a_guest_to_the_login(api, hosts):
	response = api.get(f"/app/crm-appointment-host/{quote(HOST)}")
	assert response.status_code in (301, 302, 303, 307), response.status_code
	assert "/login" in response.headers["Location"]


def test_a_crm_user_reads_hosts_but_cannot_change_them(api, tokens, hosts):
	before = stored_host(HOST)
	assert read_attempts(as_(api, tokens, "user")) == EVERYTHING
	refused = write_attempts(api, tokens["user"])
	assert set(refused.values()) == {403}, refused
	assert stored_host(HOST) == before


def test_a_manager_creates_changes_and_deletes_hosts(api, tokens):
	for user in (HOST, OTHER):
		if frappe.db.exists(HOST_DOCTYPE, user):
			frappe.delete_doc(HOST_DOCTYPE, user, force=True)
	frappe.db.commit()
	headers = {"Authorization": tokens["manager"]}
	created = api.post(
		RESOURCE,
		json={
			"user": HOST,
			"working_hours": [{"day_of_week": "Monday", "from_time": "09:00", "to_time": "12:00"}],
		},
		headers=headers,
	)
	assert created.status_code == 200, created.get_data(as_text=True)[:500]
	assert created.get_json()["data"]["weekly_summary"] == "Mon 09:00\u201312:00"
	changed = api.request("PUT", f"{RESOURCE}/{quote(HOST)}", json={"enabled": 0}, headers=headers)
	assert changed.status_code == 200
	assert stored_host(HOST)[0] == 0
	assert api.delete(f"{RESOURCE}/{quote(HOST)}", headers=headers).status_code == 202
	frappe.db.rollback()
	assert not frappe.db.exists(HOST_DOCTYPE, HOST)


def booked(host, **fields):
	return commit(make(**{"status": "scheduled", "scheduled_time": future(days=2), "host": host, **fields}))


def test_a_user_narrowed_to_one_appointment_still_reads_hosts_and_its_host(api, tokens, hosts):
	"""User Permissions on appointments do not reach hosts (a host names no appointment): the user
	still reads the hosts and changes none; they see only their appointment, with its host."""
	mine, other = booked(OTHER), booked(HOST, scheduled_time=future(days=3))
	with user_permission("user", mine.name):
		staff = as_(api, tokens, "user")
		assert read_attempts(staff) == EVERYTHING
		assert set(write_attempts(api, tokens["user"]).values()) == {403}
		assert staff.fetches("CRM Appointment", mine.name)
		assert not staff.fetches("CRM Appointment", other.name)
		day = mine.scheduled_time.date()
		status, body = staff.method(
			"crm_appointments.desk.calendar.get_events", start=f"{day} 00:00:00", end=f"{day} 23:59:59"
		)
		assert status == 200, body
		assert [(e["name"], e["host"]) for e in body["message"]] == [(mine.name, OTHER)]
		slots = staff.get("/api/crm/slots", start=str(day), end=str(day), host=OTHER)
		assert slots.status_code == 200


def test_a_user_narrowed_to_one_host_gets_a_clear_refusal_for_the_others(api, tokens, hosts):
	"""A User Permission on a host narrows the hosts and, through the Host field, the appointments
	(those without a host stay readable: Frappe's rule unless strict user permissions are on)."""
	theirs, others, unhosted = booked(HOST), booked(OTHER), booked(None, scheduled_time=future(days=4))
	permission = frappe.get_doc(
		{"doctype": "User Permission", "user": USERS["user"], "allow": HOST_DOCTYPE, "for_value": HOST}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		staff = as_(api, tokens, "user")
		listed = staff.get(RESOURCE, fields=["name"], limit_page_length=0).get_json()["data"]
		assert {r["name"] for r in listed} == {HOST}
		refused = staff.get(f"{RESOURCE}/{quote(OTHER)}")
		assert refused.status_code == 403
		# Frappe's own words: "Not allowed for CRM Appointment Host: ... does not have access to this document".
		said = [json.loads(m)["message"] for m in json.loads(refused.get_json()["_server_messages"])]
		assert any(f"Not allowed for {HOST_DOCTYPE}: {OTHER}" in m for m in said), said
		assert staff.fetches("CRM Appointment", theirs.name)
		assert staff.fetches("CRM Appointment", unhosted.name)
		assert not staff.fetches("CRM Appointment", others.name)
	finally:
		frappe.db.rollback()
		frappe.delete_doc("User Permission", permission.name, force=True, ignore_permissions=True)
		frappe.db.commit()


# -- the host's ToDo ---------------------------------------------------------------------------


def todo_of(appointment, host=HOST):
	return frappe.db.get_value(
		"ToDo",
		{"reference_type": "CRM Appointment", "reference_name": appointment.name, "allocated_to": host},
		["name", "description", "assigned_by", "status"],
		as_dict=True,
	)


def listed_todos(desk):
	response = desk.get("/api/resource/ToDo", fields=["name"], limit_page_length=0)
	return {r["name"] for r in response.get_json()["data"]} if response.status_code == 200 else set()


def test_the_hosts_todo_says_only_appointment_with_the_customer(hosts):
	doc = booked(HOST, customer_name="Ada Lovelace", customer_email="ada@example.org")
	todo = todo_of(doc)
	assert frappe.utils.strip_html(todo.description) == "Appointment with Ada Lovelace"
	assert "ada@example.org" not in todo.description and "appointment_" not in todo.description


def test_only_those_frappe_lets_read_todos_read_the_hosts_todo(api, tokens, hosts):
	"""Frappe's ToDo rule: its assignee, whoever assigned it, and System Managers. Here that is the
	host and Administrator (who saved the appointment); a manager who reads the appointment does not
	get the ToDo, nor does anyone who cannot read the appointment."""
	doc = booked(HOST)
	todo = todo_of(doc)
	assert (todo.assigned_by, todo.status) == ("Administrator", "Open")
	host = as_(api, tokens, "user")
	assert host.fetches("ToDo", todo.name) and todo.name in listed_todos(host)
	for kind in ("guest", "nobody", "manager"):
		other = as_(api, tokens, kind)
		assert not other.fetches("ToDo", todo.name), kind
		assert not other.opens("ToDo", todo.name)[0], kind
		assert todo.name not in listed_todos(other), kind
	assert as_(api, tokens, "manager").fetches("CRM Appointment", doc.name)


def test_a_host_narrowed_before_the_assignment_is_shared_the_appointment_they_hold(api, tokens, hosts):
	"""Frappe's assignment shares the document with an assignee who cannot read it."""
	elsewhere = booked(OTHER)
	with user_permission("user", elsewhere.name):
		theirs = booked(HOST, scheduled_time=future(days=5))
		host = as_(api, tokens, "user")
		assert host.fetches("CRM Appointment", theirs.name)
		assert host.fetches("ToDo", todo_of(theirs).name)


def test_frappe_still_shows_a_host_their_todo_once_narrowed_away_from_the_appointment(api, tokens, hosts):
	"""What Frappe does, not what the app adds: the assignee always reads their ToDo, so a host
	narrowed by User Permissions after being assigned reads "Appointment with <customer>" there,
	though not the appointment. (Their assignment notification said as much already.)"""
	theirs = booked(HOST)
	elsewhere = booked(OTHER, scheduled_time=future(days=5))
	with user_permission("user", elsewhere.name):
		host = as_(api, tokens, "user")
		assert not host.fetches("CRM Appointment", theirs.name)
		assert host.fetches("ToDo", todo_of(theirs).name)


def test_frappe_shows_every_todo_to_a_system_manager_without_a_crm_role(api, tokens, hosts):
	"""Frappe's rule again: System Managers read every ToDo (and may give themselves any role)."""
	doc = booked(HOST)
	frappe.get_doc("User", USERS["nobody"]).add_roles("System Manager")
	frappe.db.commit()
	try:
		admin = as_(api, tokens, "nobody")
		assert admin.fetches("ToDo", todo_of(doc).name)
		assert not admin.fetches("CRM Appointment", doc.name)
	finally:
		frappe.db.rollback()
		frappe.get_doc("User", USERS["nobody"]).remove_roles("System Manager")
		frappe.db.commit()


# -- the Event's participant row naming the host -----------------------------------------------


def participant_rows(desk, event):
	"""The Event Participants rows of the Event, as Frappe's child-table list gives them out."""
	status, body = desk.method(
		"frappe.client.get_list",
		doctype="Event Participants",
		parent="Event",
		filters={"parent": event},
		fields=["reference_doctype", "reference_docname"],
		limit_page_length=0,
	)
	return status, [(r["reference_doctype"], r["reference_docname"]) for r in body.get("message") or []]


def test_the_events_participant_rows_go_only_to_those_who_read_the_appointment(api, tokens, hosts):
	"""The rows name the appointment, its host and its party, with the party's email. Frappe lists an
	Event's rows as a child table (frappe.client.get_list, parent Event) past the Event's own
	permission hooks: event_permissions narrows them the same way."""
	contact = factories.make_contact("Ada", "Lovelace", "ada.party@example.org")
	doc = booked(HOST, appointment_with="Contact", party=contact)
	event = frappe.db.get_value("CRM Appointment", doc.name, "calendar_event")
	rows = {
		(r.reference_doctype, r.reference_docname): r
		for r in frappe.get_doc("Event", event).event_participants
	}
	assert rows[("Contact", contact)].email == "ada.party@example.org"
	staff = as_(api, tokens, "manager")
	opened, body = staff.opens("Event", event)
	assert opened
	given = [(p["reference_doctype"], p["reference_docname"]) for p in body["docs"][0]["event_participants"]]
	assert (HOST_DOCTYPE, HOST) in given
	assert set(participant_rows(staff, event)[1]) == set(rows)
	elsewhere = booked(OTHER, scheduled_time=future(days=5))
	with user_permission("user", elsewhere.name):
		for kind in ("guest", "nobody", "user"):
			outsider = as_(api, tokens, kind)
			assert not outsider.opens("Event", event)[0], kind
			assert not outsider.fetches("Event", event), kind
			assert participant_rows(outsider, event)[1] == [], kind
			# (A row fetched alone by its name, /api/resource/Event Participants/<row>, Frappe 15.55
			# checks against Event's role permissions only, not the Event: its hooks cannot narrow that.
			# Row names are random and now listed to no outsider.)
		# Their own appointment's rows they do get.
		mine = frappe.db.get_value("CRM Appointment", elsewhere.name, "calendar_event")
		assert (HOST_DOCTYPE, OTHER) in participant_rows(as_(api, tokens, "user"), mine)[1]


def test_the_hosts_page_shows_no_timeline_of_the_appointments_events(api, tokens, hosts):
	"""Frappe writes an Event's timeline entry on each participant's page only for DocTypes that
	allow events in their timeline; a host's page (read by every CRM user) does not."""
	booked(HOST)
	opened, body = as_(api, tokens, "user").opens(HOST_DOCTYPE, HOST)
	assert opened
	assert body["docinfo"]["communications"] == []
	assert not frappe.get_all("Communication Link", filters={"link_doctype": HOST_DOCTYPE, "link_name": HOST})
