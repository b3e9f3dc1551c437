"""The site's own address, for links that leave the site in mail (the manage link).

It is the site config's `host_name` (Frappe's own setting for the site's public address, e.g.
`https://crm.example.com`), never the request's Host: a booking sent with `Host: evil.example` must
not mail the customer a link to evil.example holding their token. Public booking cannot be turned on
while it is unset (CRM Appointment Settings); where it is unset anyway (staff booking through the API
on a site that never set it), links use the site's own name.
"""

from urllib.parse import urlparse

import frappe
from frappe.utils import get_url


def configured() -> str | None:
	"""The configured address (scheme and host, no trailing slash), or None."""
	value = (frappe.local.conf.get("host_name") or frappe.local.conf.get("hostname") or "").strip()
	if not value:
		return None
	if "://" not in value:
		value = f"http://{value}"  # as Frappe's get_url reads a host_name without a scheme
	return value.rstrip("/")


def hostname() -> str:
	"""The configured address's host name, else the site's name."""
	base = configured()
	return urlparse(base).hostname if base else frappe.local.site.lower()


def url(path: str) -> str:
	"""An absolute link to `path` on the site (see the module's docstring). With `host_name` set,
	Frappe's own get_url builds it (it then reads no request, and adds the bench's port as Frappe's
	own links do); without it, the site's name in place of the request's Host."""
	path = "/" + path.lstrip("/")
	if configured():
		return get_url(path)
	conf = frappe.local.conf
	base = ("https://" if conf.get("ssl_certificate") else "http://") + frappe.local.site
	port = conf.get("http_port") or conf.get("webserver_port")
	if port and not (conf.get("restart_supervisor_on_update") or conf.get("restart_systemd_on_update")):
		base += f":{port}"
	return base + path
