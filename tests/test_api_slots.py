"""GET /api/crm/slots over Frappe's request pipeline: who may ask, what the answer looks like, and
that a slot offered can be booked."""

from datetime import date, datetime, timedelta

import frappe
import pytest

from tests import factories
from tests.factories import USERS
from tests.http import error_of

URL = "/api/crm/slots"


@pytest.fixture
def host(committed):
	doc = factories.host("user", hours=[(d, "09:00", "12:00") for d in range(7)], time_zone="Europe/Berlin")
	frappe.db.commit()
	return doc


def days_ahead(n):
	return (date.today() + timedelta(days=n)).isoformat()


def test_staff_get_free_slots_in_the_zone_asked(api, keys, host):
	day = days_ahead(3)
	response = api.get(f"{URL}?start={day}&end={day}&time_zone=Europe/Berlin&duration=60", key=keys["user"])
	assert response.status_code == 200, response.get_data(as_text=True)
	body = response.get_json()
	assert body["time_zone"] == "Europe/Berlin"
	starts = [datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in body["data"]]
	from zoneinfo import ZoneInfo

	local = [s.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for s in starts]
	assert local == ["09:00", "10:00", "11:00"]
	assert all(s["end"] > s["start"] for s in body["data"])


def test_a_booked_slot_is_no_longer_offered_and_every_offered_slot_can_be_booked(api, keys, host):
	day = days_ahead(4)
	ask = f"{URL}?start={day}&end={day}&duration=60&time_zone=UTC"
	slots = api.get(ask, key=keys["user"]).get_json()["data"]
	for slot in slots:
		response = api.post(
			"/api/crm/appointment",
			key=keys["manager"],
			json=factories.api_body(
				scheduled_time=slot["start"], status="scheduled", duration=60, host=USERS["user"]
			),
		)
		assert response.status_code == 200, response.get_data(as_text=True)
	assert api.get(ask, key=keys["user"]).get_json()["data"] == []
	again = api.post(
		"/api/crm/appointment",
		key=keys["manager"],
		json=factories.api_body(
			scheduled_time=slots[0]["start"], status="scheduled", duration=60, host=USERS["user"]
		),
	)
	assert again.status_code == 409
	error = error_of(again)
	assert (error["type"], error["param"]) == ("conflict_error", "scheduled_time")


def test_guests_get_404_while_booking_is_off_and_nobody_gets_403(api, keys, host):
	day = days_ahead(3)
	response = api.get(f"{URL}?start={day}&end={day}")
	assert response.status_code == 404
	assert api.get(f"{URL}?start={day}&end={day}", key=keys["nobody"]).status_code == 403


@pytest.mark.parametrize(
	("query", "param"),
	[
		("end=2030-01-01", "start"),
		("start=2030-01-01", "end"),
		("start=2030-01-10&end=2030-01-01", "end"),
		("start=2030-01-01&end=2030-03-05", "end"),
		("start=2030-1-1&end=2030-01-02", "start"),
		("start=2030-01-01&end=2030-01-02&time_zone=Mars/Olympus", "time_zone"),
		("start=2030-01-01&end=2030-01-02&duration=4", "duration"),
		("start=2030-01-01&end=2030-01-02&host=nobody@example.com", "host"),
		("start=2030-01-01&end=2030-01-02&colour=red", "colour"),
	],
)
def test_bad_parameters_are_a_400_naming_them(api, keys, host, query, param):
	response = api.get(f"{URL}?{query}", key=keys["user"])
	assert response.status_code == 400, response.get_data(as_text=True)
	assert error_of(response)["param"] == param
