"""A live server for tests and benchmarks: gunicorn running Frappe's own WSGI app, pinned to the
test site as `bench serve --site` pins it, serving the desk's assets as `bench serve` does."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import frappe.app
from werkzeug.middleware.shared_data import SharedDataMiddleware


def free_port() -> int:
	"""A loopback port nothing listens on now."""
	with socket.socket() as probe:
		probe.bind(("127.0.0.1", 0))
		return probe.getsockname()[1]


def start_live_server(site: str, sites_path: str, workers: int = 2):
	"""Start gunicorn on a free loopback port; returns (process, base URL) once it answers."""
	port = free_port()
	log = open(os.path.join(sites_path, "..", "logs", "crm-live-test-server.log"), "a")
	server = subprocess.Popen(
		[
			os.path.join(os.path.dirname(sys.executable), "gunicorn"),
			"-b",
			f"127.0.0.1:{port}",
			"-w",
			str(workers),
			"-t",
			"120",
			"harness.live_server:application",
		],
		cwd=sites_path,
		env={**os.environ, "CRM_TEST_SITE": site, "CRM_SITES_PATH": sites_path},
		stdout=subprocess.DEVNULL,
		stderr=log,
	)
	base = f"http://127.0.0.1:{port}"
	deadline = time.monotonic() + 60
	while True:
		try:
			urllib.request.urlopen(f"{base}/api/method/ping", timeout=2)
			return server, base
		except Exception as exc:
			if time.monotonic() > deadline or server.poll() is not None:
				server.kill()
				raise RuntimeError(
					"the live server did not start; see logs/crm-live-test-server.log"
				) from exc
			time.sleep(0.3)


def stop_live_server(server):
	"""Stop a server start_live_server started (None does nothing); killed when it will not stop."""
	if server:
		server.terminate()
		try:
			server.wait(timeout=20)
		except subprocess.TimeoutExpired:
			server.kill()
			server.wait()


if "CRM_TEST_SITE" in os.environ and "gunicorn" in sys.argv[0]:
	frappe.app._site = os.environ["CRM_TEST_SITE"]
	frappe.app._sites_path = os.environ["CRM_SITES_PATH"]
	# The desk's built JavaScript and CSS under /assets, as `bench serve` serves them, for the
	# browser tests; every other path goes straight to Frappe's own application.
	application = frappe.app.application_with_statics()
	# This app's own static files from the checkout under test, whatever the bench's assets link to
	# (as the code under test is this checkout's, not what apps/crm_appointments points at).
	import crm_appointments

	application = SharedDataMiddleware(
		application,
		{"/assets/crm_appointments": os.path.join(os.path.dirname(crm_appointments.__file__), "public")},
	)
else:
	application = frappe.app.application
