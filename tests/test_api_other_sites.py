"""The routes are added to Frappe's URL map per process, but a site without the app must not answer."""

import os
import subprocess
import uuid

import frappe
import pytest

from tests.http import Api

pytestmark = pytest.mark.slow


def bench(*args):
	password = open(os.environ["CRM_DB_ADMIN_PASSWORD_FILE"]).read().strip()
	admin = ["--db-root-username", os.environ["CRM_DB_ADMIN_USER"], "--db-root-password", password]
	return subprocess.run(
		["bench", *args, *(admin if args[0] in ("new-site", "drop-site") else [])],
		cwd=os.environ["FRAPPE_BENCH"],
		capture_output=True,
		text=True,
		timeout=900,
		check=True,
	)


@pytest.fixture
def site_without_the_app():
	name = f"crm-noapp-{uuid.uuid4().hex[:8]}.localhost"
	frappe.db.commit()
	bench("new-site", name, "--admin-password", "admin", "--mariadb-user-host-login-scope=%")
	try:
		yield name
	finally:
		bench("drop-site", name, "--force", "--no-backup")
		subprocess.run(
			["rm", "-rf", os.path.join(os.environ["FRAPPE_BENCH"], "archived_sites", name)], check=False
		)


def test_a_site_without_the_app_answers_404_on_the_routes(api, keys, site_without_the_app):
	# Serve our site first, so this process has the routes in its URL map.
	assert api.get("/api/crm/appointment", key=keys["manager"]).status_code == 200
	other = Api(site_without_the_app)
	for path in ("/api/crm/appointment", "/api/crm/appointment/appointment_x", "/api/crm/openapi.json"):
		response = other.get(path)
		assert response.status_code == 404, (
			path,
			response.status_code,
			response.get_data(as_text=True)[:200],
		)
