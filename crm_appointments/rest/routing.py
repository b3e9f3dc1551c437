"""How the app's routes get into Frappe.

Frappe v15 has no hook for custom /api/ routes: `frappe.api.handle` matches `frappe.api.API_URL_MAP`
(a werkzeug Map), after the `before_request` hooks run. So `register_routes`, a before_request hook,
adds our rules (crm_appointments/api.py, `routes`) to that map once per process, through the adapter
(core/frappe_adapter.add_api_rule). Hooks run only for
sites with the app installed, and `lifecycle.serve` checks the app is installed too: a site of the
same bench without it answers 404.
"""

import threading

from crm_appointments import api
from crm_appointments.core import frappe_adapter

_lock = threading.Lock()
_registered = False


def register_routes():
	global _registered
	if _registered:
		return
	with _lock:
		if _registered:
			return
		for route in api.routes():
			frappe_adapter.add_api_rule(route.rule())
		_registered = True
