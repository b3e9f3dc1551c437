"""Where the app may send requests: the rule for every address a user gives it (a webhook's URL; a
CalDAV server's may use it too), and an HTTP session that keeps to it.

A target must be `http` or `https`, and every address its host name resolves to (socket.getaddrinfo)
must be a public one: no private, loopback, link-local, shared, reserved, multicast or unspecified
address, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as its IPv4 address). The site config
`crm_allow_private_hosts` lifts the rule (tests, and sites whose receivers live on their own network).

The rule is checked when the address is saved and again before each request (`check_url`). Between the
check and the connection a name can resolve anew (DNS rebinding), so `guarded_session` also checks the
address each connection actually reached before anything is sent on it. Redirects are never followed:
the session's callers pass allow_redirects=False, and a 3xx is an answer like any other.

The connection check overrides urllib3's HTTPConnection._new_conn (urllib3 2.x; checked on 2.8), the one
place that returns the connected socket; tests/test_webhooks.py trips if it stops being called.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import frappe
import requests
from frappe import _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ALLOW_PRIVATE_CONFIG = "crm_allow_private_hosts"
SCHEMES = ("http", "https")


class UnsafeTargetError(frappe.ValidationError):
	"""An address the app will not send to."""


def private_hosts_allowed() -> bool:
	return bool(frappe.conf.get(ALLOW_PRIVATE_CONFIG))


def is_public(address: str) -> bool:
	"""Whether an IP address (as getaddrinfo or getpeername give it) is one the rule allows."""
	ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) names no host
	if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
		ip = ip.ipv4_mapped
	return ip.is_global and not ip.is_multicast


def check_url(url: str) -> list[str]:
	"""The addresses `url`'s host resolves to, if the rule allows it; else UnsafeTargetError, saying why."""
	parts = urlsplit((url or "").strip())
	if parts.scheme not in SCHEMES or not parts.hostname:
		raise UnsafeTargetError(_("The URL must start with https:// or http:// and name a host."))
	try:
		port = parts.port or (443 if parts.scheme == "https" else 80)
	except ValueError:
		raise UnsafeTargetError(_("The URL's port is not a number from 1 to 65535.")) from None
	try:
		found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
	except (socket.gaierror, UnicodeError) as exc:
		raise UnsafeTargetError(
			_("The host {0} cannot be found ({1}).").format(parts.hostname, exc)
		) from None
	addresses = sorted({info[4][0] for info in found})
	if not private_hosts_allowed():
		refused = [address for address in addresses if not is_public(address)]
		if refused:
			raise UnsafeTargetError(
				_(
					"{0} resolves to {1}: a private, loopback or link-local address, which the app does not "
					"send to (the site config {2} allows it)."
				).format(parts.hostname, ", ".join(refused), ALLOW_PRIVATE_CONFIG)
			)
	return addresses


class RefusedConnection(OSError):
	"""A connection reached an address the rule refuses (requests reports it as a ConnectionError)."""


class _CheckedPeer:
	def _new_conn(self):
		sock = super()._new_conn()
		peer = sock.getpeername()[0]
		if not private_hosts_allowed() and not is_public(peer):
			sock.close()
			raise RefusedConnection(f"refused to send to {peer}: not a public address")
		return sock


class _HTTPConnection(_CheckedPeer, HTTPConnection):
	pass


class _HTTPSConnection(_CheckedPeer, HTTPSConnection):
	pass


class _HTTPConnectionPool(HTTPConnectionPool):
	ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
	ConnectionCls = _HTTPSConnection


class _GuardedAdapter(HTTPAdapter):
	def init_poolmanager(self, *args, **kwargs):
		super().init_poolmanager(*args, **kwargs)
		self.poolmanager.pool_classes_by_scheme = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


def guarded_session() -> requests.Session:
	"""A requests session whose every connection is checked against the rule, with no proxies or
	.netrc from the environment (a proxy's address would be the one checked)."""
	session = requests.Session()
	session.trust_env = False
	adapter = _GuardedAdapter()
	session.mount("http://", adapter)
	session.mount("https://", adapter)
	return session
