"""The list's `total` is counted once and then served from Redis until the data changes: every
committed change through the document API shows at once, and each caller's permissions get
their own count."""

import frappe
import pytest
from frappe.utils import now_datetime

from crm_appointments.rest import listing
from tests.factories import api_body, commit, make, user_permission

URL = "/api/crm/appointment"


@pytest.fixture
def mine(api, keys):
	"""Three committed appointments of one address; returns a function giving their total."""
	commit([make(customer_email="totals@example.org") for _ in range(3)])

	def total(key="manager", **query):
		body = api.get(URL, key=keys[key], query_string={"customer_email": "totals@example.org", **query})
		assert body.status_code == 200, body.get_data(as_text=True)
		return body.get_json()["total"]

	return total


def test_a_repeated_count_is_served_from_the_cache_until_the_generation_changes(mine):
	assert mine() == 3
	# A row written around the document API (raw SQL) is not seen by the cached count ...
	frappe.db.sql(
		"""insert into `tabCRM Appointment` (name, creation, modified, owner, modified_by, customer_name,
		customer_email, scheduled_time, status, duration)
		values ('appointment_rawtotalrow1', %(now)s, %(now)s, 'Administrator', 'Administrator', 'Raw',
		'totals@example.org', '2031-01-01 10:00:00', 'Draft', 30)""",
		{"now": now_datetime()},
	)
	frappe.db.commit()
	assert mine() == 3
	# ... until the generation is replaced (a document write does it; `bench clear-cache` empties
	# the cache altogether).
	listing.replace_generation()
	assert mine() == 4


def test_every_committed_change_shows_in_the_next_total(api, keys, mine):
	assert mine() == 3
	created = api.post(
		URL, key=keys["manager"], json=api_body(customer_email="totals@example.org", status="scheduled")
	)
	assert created.status_code == 200
	assert mine() == 4
	assert mine(status="scheduled") == 1
	moved = api.patch(f"{URL}/{created.get_json()['id']}", key=keys["manager"], json={"status": "confirmed"})
	assert moved.status_code == 200
	assert mine(status="scheduled") == 0
	assert mine(status="confirmed") == 1
	assert api.delete(f"{URL}/{created.get_json()['id']}", key=keys["manager"]).status_code == 200
	assert mine() == 3
	# A change in the desk goes through the same document API.
	doc = frappe.get_last_doc("CRM Appointment", filters={"customer_email": "totals@example.org"})
	doc.customer_email = "moved-away@example.org"
	commit(doc.save())
	assert mine() == 2


def test_each_callers_permissions_get_their_own_count(api, keys, mine):
	assert mine("user") == mine("manager") == 3
	one = frappe.get_last_doc("CRM Appointment", filters={"customer_email": "totals@example.org"})
	with user_permission("user", one.name):
		# No appointment changed, so the generation is the same: the restricted user's count differs
		# because the SQL Frappe builds for them does.
		assert mine("user") == 1
		assert mine("manager") == 3
	assert mine("user") == 3
