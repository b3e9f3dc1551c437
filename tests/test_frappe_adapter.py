"""The app's touches of Frappe's private parts (crm_appointments/core/frappe_adapter.py), one test each:
they fail when a Frappe upgrade changes what the touch relies on."""

import os
import threading

import frappe
import pytest
from frappe.auth import CookieManager
from frappe.model.document import Document
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from crm_appointments.core import frappe_adapter
from crm_appointments.core.exceptions import InvalidFieldError
from crm_appointments.records.insert_once import insert_if_absent
from tests.factories import appointment, frappe_token

URL = "/api/crm/appointment"


def test_forgetting_the_connection_leaves_frappe_without_one_and_read_only():
	outcome = {}

	def a_request():  # its own frappe.local and connection, as a server thread has
		frappe.init(site=os.environ["CRM_TEST_SITE"], sites_path=os.environ["CRM_SITES_PATH"])
		try:
			frappe.connect()
			connection = frappe.local.db
			frappe_adapter.forget_database_connection()
			outcome["db"] = frappe.local.db
			outcome["read_only"] = frappe.local.flags.read_only
			outcome["open"] = bool(connection._conn and connection._conn.open)
		finally:
			frappe.destroy()  # what Frappe runs at the end of every request

	thread = threading.Thread(target=a_request)
	thread.start()
	thread.join(60)
	assert outcome == {"db": None, "read_only": True, "open": False}


def test_frappes_cookie_manager_keeps_what_it_will_set_where_the_adapter_empties_it():
	manager = CookieManager()
	assert isinstance(manager.cookies, dict) and isinstance(manager.to_delete, list)


def test_a_per_request_credential_gets_no_session_cookie(api):
	response = api.get(URL, auth=frappe_token("manager"))
	assert response.status_code == 200
	assert "Set-Cookie" not in response.headers


def test_taking_the_authorization_header_hides_it_from_frappes_header_reads():
	request = Request(EnvironBuilder(path=URL, headers={"Authorization": "Bearer sk_test_x"}).get_environ())
	frappe_adapter.take_authorization_header(request)
	assert request.headers.get("Authorization") is None
	frappe_adapter.take_authorization_header(request)  # twice is harmless


def test_frappe_still_checks_links_in_a_private_method_before_any_public_hook():
	assert callable(getattr(Document, "_validate_links", None))
	# A party that does not exist: were our check not run first, Frappe's own link check would
	# refuse it with a LinkValidationError naming no field.
	with pytest.raises(InvalidFieldError) as refused:
		appointment(appointment_with="Contact", party="Nobody at all").insert()
	assert refused.value.fieldname == "party"


def test_a_claim_knows_whether_its_insert_inserted():
	row = {"name": "adapter-claim", "owner": "Administrator", "modified_by": "Administrator"}
	values = {**row, "request_hash": "x", "state": "in_progress"}
	assert insert_if_absent("CRM API Idempotency Key", values) is True
	assert insert_if_absent("CRM API Idempotency Key", values) is False


def test_frappe_still_locks_a_saved_documents_row_in_check_if_latest_before_any_hook():
	"""CRM Appointment overrides check_if_latest to lock its hosts' rows before Frappe locks the
	appointment's (one lock order for every save: host_calendars.lock_hosts). That holds while Frappe
	takes the row lock there (load_doc_before_save, for update) and before validate."""
	import inspect

	save = inspect.getsource(Document._save)
	assert save.index("self.check_if_latest()") < save.index("self.run_before_save_methods()")
	assert "self.load_doc_before_save(" in inspect.getsource(Document.check_if_latest)
	assert "for_update=True" in inspect.getsource(Document.load_doc_before_save)
	insert = inspect.getsource(Document.insert)
	assert insert.index("self.check_if_latest()") < insert.index("self.run_before_save_methods()")


def test_rate_limit_seconds_left_reads_the_counter_frappes_rate_limit_keeps():
	from frappe.rate_limiter import rate_limit

	request = getattr(frappe.local, "request", None)
	form_dict, request_ip = frappe.local.form_dict, frappe.local.request_ip
	frappe.local.request = Request(EnvironBuilder(method="POST", path="/api/crm/bookings").get_environ())
	frappe.local.form_dict = frappe._dict(scope=frappe.generate_hash(length=12))
	frappe.local.request_ip = "10.250.0.1"
	try:
		assert frappe_adapter.rate_limit_seconds_left("scope") is None  # no counter yet
		rate_limit(key="scope", limit=5, seconds=300, ip_based=False)(lambda: None)()
		left = frappe_adapter.rate_limit_seconds_left("scope")
		assert left is not None and 290 <= left <= 300
	finally:
		frappe.local.request, frappe.local.form_dict, frappe.local.request_ip = request, form_dict, request_ip


def test_a_rule_added_to_frappes_api_map_is_matched_by_frappes_api_handler():
	import frappe.api
	from werkzeug.routing import Rule

	path = f"/api/crm-adapter-test-{frappe.generate_hash(length=8)}"
	frappe_adapter.add_api_rule(Rule(path, endpoint=lambda: "found"))
	endpoint, _arguments = frappe.api.API_URL_MAP.bind("localhost").match(path, method="GET")
	assert endpoint() == "found"


def test_a_new_database_connection_is_one_of_its_own():
	db = frappe_adapter.new_database_connection(frappe.local.conf)
	try:
		own_id = db.sql("select connection_id()")[0][0]
		assert own_id != frappe.db.sql("select connection_id()")[0][0]
		assert db.sql("select database()")[0][0] == frappe.local.conf.db_name
	finally:
		db.close()


def test_the_requested_path_is_the_address_frappes_path_resolver_was_given():
	from frappe.website.path_resolver import resolve_path

	before = getattr(frappe.local, "path", None), getattr(frappe.local, "no_cache", None)
	request, form_dict = getattr(frappe.local, "request", None), frappe.local.form_dict
	try:
		frappe.local.request = Request(EnvironBuilder(path="/book/consult/ada").get_environ())
		frappe.local.form_dict = frappe._dict()
		resolve_path("book/consult/ada")
		assert frappe_adapter.requested_path() == "book/consult/ada"
	finally:
		(frappe.local.path, frappe.local.no_cache), frappe.local.request = before, request
		frappe.local.form_dict = form_dict


def test_frappes_page_cache_keeps_a_page_only_while_the_adapter_says_so():
	from frappe.website.router import evaluate_dynamic_routes
	from frappe.website.utils import can_cache
	from werkzeug.routing import Rule

	before = getattr(frappe.local, "no_cache", None)
	request, form_dict = getattr(frappe.local, "request", None), frappe.local.form_dict
	try:
		frappe.local.form_dict = frappe._dict()
		frappe.local.no_cache = 0
		frappe.local.request = Request(EnvironBuilder(path="/book/consult").get_environ())
		# A route with arguments switches the cache off, as TypePage's render then undoes.
		assert evaluate_dynamic_routes([Rule("/book/<type>", endpoint="book")], "book/consult") == "book"
		assert not can_cache()
		frappe_adapter.keep_page_in_cache(True)
		assert can_cache()
		frappe_adapter.keep_page_in_cache(False)
		assert not can_cache()
	finally:
		frappe.local.no_cache, frappe.local.request, frappe.local.form_dict = before, request, form_dict
