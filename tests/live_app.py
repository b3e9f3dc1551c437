"""The WSGI app a live test server (gunicorn) runs: Frappe's own, pinned to the test site,
as `bench serve --site` pins it."""

import os

import frappe.app

frappe.app._site = os.environ["CRM_TEST_SITE"]
frappe.app._sites_path = os.environ["CRM_SITES_PATH"]
application = frappe.app.application
