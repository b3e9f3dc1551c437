"""Every place the app leans on a private part of Frappe, each behind a function named for what it
does. Checked against Frappe 15.55 (version-15); tests/test_frappe_adapter.py has a test per touch
that fails if an upgrade changes what it relies on. Everything else in the app uses public APIs.
"""

import frappe
import pymysql


def forget_database_connection():
	"""Close the request's database connection and go on without one: what Frappe runs after our
	endpoint (its commit or rollback, the session's bookkeeping) then has no connection to fail on.
	`frappe.local.db` and `flags.read_only` are Frappe's own request state; read-only makes its
	session bookkeeping skip the writes it would make (frappe/sessions.py, frappe/app.py)."""
	db = getattr(frappe.local, "db", None)
	frappe.local.db = None
	frappe.local.flags.read_only = True
	if db:
		try:
			db.close()
		except pymysql.err.Error:
			pass  # pymysql will not close a connection it already found dead


def drop_response_cookies():
	"""A client that authenticates per request gets no session cookies: empty the cookie manager
	(frappe.auth.CookieManager keeps what it will set in `cookies`, what it will clear in `to_delete`)."""
	manager = getattr(frappe.local, "cookie_manager", None)
	if manager is not None:
		manager.cookies = {}
		manager.to_delete = []


def take_authorization_header(request):
	"""Remove the Authorization header from the request, so Frappe's validate_auth (which reads the
	WSGI environ) does not look a credential up a second time."""
	request.environ.pop("HTTP_AUTHORIZATION", None)


# Not a private part, but an order relied on: Frappe's save takes the document's row lock in the public
# `Document.check_if_latest` (load_doc_before_save, for update), before any hook; CRM Appointment
# overrides it to lock its hosts' rows first (host_calendars.lock_hosts). Tested in test_frappe_adapter.


class ChecksBeforeLinks:
	"""A controller mixin: `before_link_validation` runs before Frappe checks the Link fields.

	Frappe's insert and save call the private `Document._validate_links` before any public hook
	(before_insert, before_validate), so a controller that wants its own, field-naming errors for a
	bad link (and its input normalised first) must run there."""

	def before_link_validation(self):
		pass

	def _validate_links(self):
		self.before_link_validation()
		super()._validate_links()


def rate_limit_seconds_left(key: str) -> int | None:
	"""Seconds until the counter `frappe.rate_limiter.rate_limit(key=key, ip_based=False)` keeps for
	this request runs out (None when there is none). The decorator keeps it in Redis under
	make_key(f"rl:{form_dict.cmd}:{form_dict[key]}"), and lets it expire `seconds` after the window's
	first request (frappe/rate_limiter.py)."""
	identity = str(frappe.form_dict.get(key, ""))
	ttl = frappe.cache.ttl(frappe.cache.make_key(f"rl:{frappe.form_dict.cmd}:{identity}"))
	return ttl if ttl and ttl > 0 else None


def add_api_rule(rule):
	"""Add a werkzeug Rule to the map `frappe.api.handle` matches /api/ paths against
	(`frappe.api.API_URL_MAP`): Frappe v15 has no hook for an app's own /api/ routes."""
	import frappe.api

	frappe.api.API_URL_MAP.add(rule)


def new_database_connection(conf):
	"""A connection of its own to the site's database, from the site config `conf` (Frappe's
	`frappe.database.get_db`, which frappe.connect uses; not a public API)."""
	from frappe.database import get_db

	return get_db(
		socket=conf.db_socket,
		host=conf.db_host,
		port=conf.db_port,
		user=conf.db_name,
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)


def requested_path() -> str:
	"""The address the website request asked for, without its slashes: `frappe.local.path`, which
	Frappe's path resolver sets (frappe/website/path_resolver.resolve_path) before it maps the address
	to a route and picks a page renderer."""
	return (getattr(frappe.local, "path", None) or "").strip("/")


def keep_page_in_cache(keep: bool) -> None:
	"""Whether Frappe's website page cache keeps the page being rendered: `frappe.local.no_cache`,
	which a route with arguments sets (frappe/website/router.evaluate_dynamic_routes) and which
	frappe.website.utils.cache_html reads before it serves or stores the page under its path."""
	frappe.local.no_cache = 0 if keep else 1
