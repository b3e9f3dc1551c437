"""GET /api/crm/appointment with a cursor (starting_after / ending_before, an extension): pages by
position in the list order instead of by count, so deep pages cost what the first does and rows
added meanwhile neither repeat nor drop an entry."""

import frappe
import pytest

from tests.factories import commit, make, user_permission
from tests.http import error_of

URL = "/api/crm/appointment"


@pytest.fixture
def seven(api, keys):
	"""Seven committed appointments of one customer domain, newest first, two pairs of them created
	at the very same moment (the tie-break by id must hold across page boundaries)."""
	docs = commit([make(customer_email=f"cursor{i}@example.org") for i in range(7)])
	same = docs[1].creation
	frappe.db.sql(
		"update `tabCRM Appointment` set creation = %s where name in %s",
		(same, (docs[1].name, docs[2].name, docs[3].name)),
	)
	frappe.db.commit()
	body = api.get(URL, key=keys["manager"], query_string={"limit": 100}).get_json()
	return [o["id"] for o in body["data"] if o["customer_email"].startswith("cursor")]


def walk(api, keys, first_query, param, pick):
	"""Every page from first_query on, following the cursor param with pick(page ids)."""
	pages = []
	query = dict(first_query)
	while True:
		body = api.get(URL, key=keys["manager"], query_string=query).get_json()
		ids = [o["id"] for o in body["data"]]
		pages.append(ids)
		if not body["has_more"]:
			return pages
		query = {**first_query, param: pick(ids)}


def test_walking_forward_with_starting_after_gives_every_row_once_in_list_order(api, keys, seven):
	everything = [
		o["id"] for o in api.get(URL, key=keys["manager"], query_string={"limit": 100}).get_json()["data"]
	]
	pages = walk(api, keys, {"limit": 2}, "starting_after", lambda ids: ids[-1])
	walked = [i for page in pages for i in page]
	assert walked == everything
	assert all(len(page) == 2 for page in pages[:-1])
	assert [i for i in walked if i in seven] == seven


def test_walking_back_with_ending_before_gives_the_same_pages(api, keys, seven):
	forward = walk(api, keys, {"limit": 3}, "starting_after", lambda ids: ids[-1])
	# From the last page, back towards the newest: each page is the one just before the cursor.
	backward = [forward[-1]]
	query = {"limit": 3, "ending_before": forward[-1][0]}
	while True:
		body = api.get(URL, key=keys["manager"], query_string=query).get_json()
		ids = [o["id"] for o in body["data"]]
		backward.insert(0, ids)
		if not body["has_more"]:
			break
		query = {"limit": 3, "ending_before": ids[0]}
	# Backward pages are anchored at the end, so they may be cut differently; the rows are the same.
	assert [i for p in backward for i in p] == [i for p in forward for i in p]
	assert body["has_more"] is False and backward[0][0] == forward[0][0]


def test_ties_on_creation_are_broken_by_id_across_page_boundaries(api, keys, seven):
	mine = {"limit": 1}
	walked = []
	query = dict(mine)
	for _ in range(len(seven) + 1):
		body = api.get(URL, key=keys["manager"], query_string=query).get_json()
		walked += [o["id"] for o in body["data"] if o["customer_email"].startswith("cursor")]
		if not body["has_more"] or len(walked) == len(seven):
			break
		query = {**mine, "starting_after": body["data"][-1]["id"]}
	assert walked == seven


def test_a_cursor_page_keeps_its_place_when_rows_are_added_before_it(api, keys, seven):
	first = api.get(URL, key=keys["manager"], query_string={"limit": 2}).get_json()["data"]
	commit([make(customer_email=f"cursor-new{i}@example.org") for i in range(3)])
	after = api.get(
		URL, key=keys["manager"], query_string={"limit": 2, "starting_after": first[-1]["id"]}
	).get_json()["data"]
	# The offset page now repeats a row of the first page (three new rows pushed them down).
	offset_page = api.get(URL, key=keys["manager"], query_string={"limit": 2, "offset": 2}).get_json()["data"]
	assert first[0]["id"] in [o["id"] for o in offset_page]
	assert not {o["id"] for o in after} & {o["id"] for o in first}
	assert after[0]["id"] == seven[2]


def test_a_cursor_combines_with_filters_and_the_total_counts_the_filter(api, keys, seven):
	third = seven[2]
	body = api.get(
		URL,
		key=keys["manager"],
		query_string={"customer_email": "cursor0@example.org", "starting_after": third},
	).get_json()
	assert [o["customer_email"] for o in body["data"]] == ["cursor0@example.org"]
	assert body["total"] == 1 and body["has_more"] is False
	newer = api.get(
		URL,
		key=keys["manager"],
		query_string={"customer_email": "cursor0@example.org", "ending_before": third},
	).get_json()
	assert newer["data"] == [] and newer["has_more"] is False and newer["total"] == 1


def test_ending_before_the_newest_is_an_empty_last_page(api, keys, seven):
	newest = api.get(URL, key=keys["manager"], query_string={"limit": 1}).get_json()["data"][0]["id"]
	body = api.get(URL, key=keys["manager"], query_string={"ending_before": newest}).get_json()
	assert body["data"] == [] and body["has_more"] is False


@pytest.mark.parametrize(
	("query", "param"),
	[
		({"starting_after": "appointment_x", "ending_before": "appointment_y"}, "ending_before"),
		({"starting_after": "appointment_x", "offset": "1"}, "offset"),
		({"ending_before": "appointment_x", "offset": "5"}, "offset"),
		({"starting_after": " "}, "starting_after"),
		({"ending_before": "x" * 141}, "ending_before"),
		({"starting_after": "appointment_nosuchthing"}, "starting_after"),
		({"starting_after": "' or 1=1 -- "}, "starting_after"),
	],
)
def test_a_bad_cursor_is_a_400_naming_it(api, keys, query, param):
	response = api.get(URL, key=keys["manager"], query_string=query)
	assert response.status_code == 400
	error = error_of(response)
	assert error["type"] == "invalid_request_error" and error["param"] == param


def test_a_cursor_the_user_may_not_read_is_refused_like_one_that_does_not_exist(api, keys):
	visible, hidden = commit(
		[make(customer_email="cursor-visible@example.org"), make(customer_email="cursor-hidden@example.org")]
	)
	with user_permission("user", visible.name):
		refused = api.get(URL, key=keys["user"], query_string={"starting_after": hidden.name})
		missing = api.get(URL, key=keys["user"], query_string={"starting_after": "appointment_nosuchthing"})
		assert refused.status_code == missing.status_code == 400
		assert error_of(refused)["message"] == error_of(missing)["message"]
		# The manager, who may read it, pages from it.
		assert (
			api.get(URL, key=keys["manager"], query_string={"ending_before": hidden.name}).status_code == 200
		)


def test_offset_zero_with_a_cursor_is_no_offset(api, keys, seven):
	"""Generated clients send their default offset=0 with every call."""
	first = api.get(URL, key=keys["manager"], query_string={"limit": 2}).get_json()["data"]
	plain = api.get(URL, key=keys["manager"], query_string={"limit": 2, "starting_after": first[-1]["id"]})
	zero = api.get(
		URL, key=keys["manager"], query_string={"limit": 2, "starting_after": first[-1]["id"], "offset": "0"}
	)
	assert zero.status_code == 200
	assert zero.get_json() == plain.get_json()
