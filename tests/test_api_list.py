"""GET /api/crm/appointment: pages, order, totals, filters and the validation of every parameter."""

import frappe
import pytest

from tests.factories import commit, make, past
from tests.http import error_of

URL = "/api/crm/appointment"


@pytest.fixture
def five(api):
	"""Five committed appointments of one customer domain, oldest first."""
	docs = [make(customer_email=f"list{i}@example.org", customer_name=f"List {i}") for i in range(5)]
	return commit(docs)


def ours(response):
	return [obj for obj in response.get_json()["data"] if obj["customer_email"].endswith("@example.org")]


def test_the_list_is_newest_first_with_the_envelope(api, keys, five):
	body = api.get(URL, key=keys["manager"], query_string={"limit": 100}).get_json()
	assert set(body) == {"data", "has_more", "total"}
	ids = [obj["id"] for obj in body["data"] if obj["customer_email"].endswith("@example.org")]
	assert ids == [doc.name for doc in reversed(five)]
	created = [obj["created_at"] for obj in body["data"]]
	assert created == sorted(created, reverse=True)


def test_limit_offset_has_more_and_total(api, keys, five):
	query = {"customer_email": "list2@example.org"}
	assert api.get(URL, key=keys["manager"], query_string=query).get_json()["total"] == 1
	total = frappe.db.count("CRM Appointment")
	page = api.get(URL, key=keys["manager"], query_string={"limit": 2, "offset": 1}).get_json()
	assert len(page["data"]) == 2
	assert page["total"] == total
	assert page["has_more"] == (1 + 2 < total)
	last = api.get(URL, key=keys["manager"], query_string={"limit": 2, "offset": total - 1}).get_json()
	assert len(last["data"]) == 1 and last["has_more"] is False


def test_the_default_page_is_20(api, keys):
	commit([make(customer_email=f"page{i}@example.org") for i in range(21)])
	body = api.get(URL, key=keys["manager"]).get_json()
	assert len(body["data"]) == 20
	assert body["has_more"] is True


def test_pages_do_not_overlap(api, keys, five):
	total = api.get(URL, key=keys["manager"]).get_json()["total"]
	seen = []
	for offset in range(0, total, 2):
		seen += [
			o["id"]
			for o in api.get(
				URL, key=keys["manager"], query_string={"limit": 2, "offset": offset}
			).get_json()["data"]
		]
	assert len(seen) == len(set(seen)) == total


def test_filter_by_status_one_or_several(api, keys):
	commit(
		[
			make(status="draft", customer_email="f1@example.org"),
			make(status="scheduled", customer_email="f2@example.org"),
			make(status="completed", scheduled_time=past(), customer_email="f3@example.org"),
		]
	)
	one = ours(api.get(URL, key=keys["manager"], query_string={"status": "scheduled", "limit": 100}))
	assert [o["customer_email"] for o in one] == ["f2@example.org"]
	several = ours(
		api.get(URL, key=keys["manager"], query_string={"status": "draft,completed", "limit": 100})
	)
	assert sorted(o["customer_email"] for o in several) == ["f1@example.org", "f3@example.org"]


def test_filter_by_customer_email_ignores_case(api, keys, five):
	body = api.get(URL, key=keys["manager"], query_string={"customer_email": "LIST3@Example.org"}).get_json()
	assert [o["customer_name"] for o in body["data"]] == ["List 3"]


def test_filter_by_scheduled_time_window(api, keys):
	commit(
		[
			make(customer_email="w1@example.org", scheduled_time="2031-05-01 10:00:00"),
			make(customer_email="w2@example.org", scheduled_time="2031-05-02 10:00:00"),
		]
	)
	# The test site is on UTC+05:30: 2031-05-01 10:00 there is 04:30 UTC.
	body = api.get(
		URL,
		key=keys["manager"],
		query_string={"scheduled_from": "2031-05-01T04:30:00Z", "scheduled_to": "2031-05-02T04:30:00Z"},
	).get_json()
	assert [o["customer_email"] for o in body["data"]] == ["w1@example.org"]


def test_filter_by_party_kind_and_party(api, keys):
	contact = commit(frappe.get_doc({"doctype": "Contact", "first_name": "Filter"}).insert())
	try:
		commit(make(customer_email="p1@example.org", appointment_with="Contact", party=contact.name))
		body = api.get(
			URL, key=keys["manager"], query_string={"appointment_with": "Contact", "party": contact.name}
		).get_json()
		assert [o["customer_email"] for o in body["data"]] == ["p1@example.org"]
	finally:
		frappe.db.delete("CRM Appointment", {"party": contact.name})
		frappe.delete_doc("Contact", contact.name, force=True)
		frappe.db.commit()


@pytest.mark.parametrize(
	("query", "param"),
	[
		({"limit": "0"}, "limit"),
		({"limit": "101"}, "limit"),
		({"limit": "ten"}, "limit"),
		({"limit": "-1"}, "limit"),
		({"limit": "2.5"}, "limit"),
		({"offset": "-1"}, "offset"),
		({"offset": "x"}, "offset"),
		({"status": "postponed"}, "status"),
		({"status": "draft,"}, "status"),
		({"scheduled_from": "yesterday"}, "scheduled_from"),
		({"scheduled_to": "2031-13-01T00:00:00Z"}, "scheduled_to"),
		({"customer_email": " "}, "customer_email"),
		({"sort": "name"}, "sort"),
		({"fields": '["name"]'}, "fields"),
	],
)
def test_an_unknown_or_malformed_parameter_is_a_400_naming_it(api, keys, query, param):
	response = api.get(URL, key=keys["manager"], query_string=query)
	assert response.status_code == 400
	assert error_of(response)["param"] == param


def test_a_repeated_parameter_is_a_400(api, keys):
	response = api.get(f"{URL}?limit=1&limit=2", key=keys["manager"])
	assert response.status_code == 400
	assert error_of(response)["param"] == "limit"
