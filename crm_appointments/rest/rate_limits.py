"""Limits on the public booking routes, with Frappe's rate limiter (`frappe.rate_limiter.rate_limit`,
counters in Redis). Over a limit: 429 rate_limit_error with Retry-After, the seconds until that
counter's window ends.

Who is limited: guests, and signed-in users who may not create appointments (a website user, a desk
user without a CRM role); staff who may create appointments are not. What is counted, each in its own
counter (defaults in LIMITS, as (requests, seconds)):
- per client address and route family: the slots, the bookings, the manage routes;
- per customer email address: bookings made for it, and emails the public routes make the site send
  to it (booking confirmations, moves, cancellations), so nobody can have the site mail an address
  without end from many addresses;
- per manage token: moves (reschedules).
A site changes any of them in its config: `"crm_booking_rate_limits": {"bookings": [20, 600]}`.

The client address is the connection's peer (`REMOTE_ADDR`), never a header the client writes. Behind
proxies, the site config `crm_trusted_proxies` lists them (addresses or networks, e.g. `["127.0.0.1",
"10.0.0.0/8"]`): when the peer is one of them, the client is the right-most X-Forwarded-For address
that is not (each proxy appends the address it saw; anything left of that the client may have
written). Frappe's own `request_ip` is the first X-Forwarded-For value, which any client sets, so it
is not used here.
"""

import ipaddress

import frappe
from frappe.rate_limiter import rate_limit

from crm_appointments.core import frappe_adapter
from crm_appointments.core.names import APPOINTMENT
from crm_appointments.core.random_ids import hash_secret
from crm_appointments.rest.errors import ApiError

LIMITS = {
	"slots": (120, 60),  # per address: the booking page asks once per day the visitor looks at
	"bookings": (10, 600),  # per address
	"manage": (30, 600),  # per address: reading, cancelling, rescheduling with a manage token
	"bookings_per_email": (5, 3600),  # bookings for one customer email address
	"emails_per_address": (10, 3600),  # emails the public routes send to one address
	"moves_per_token": (5, 3600),  # reschedules of one booking
}
# The form_dict entry that tells the decorator which counter a request counts against (set here, never
# taken from the client: it is overwritten on each count).
SCOPE_KEY = "crm_rate_scope"


def limits() -> dict[str, tuple[int, int]]:
	configured = frappe.conf.get("crm_booking_rate_limits") or {}
	return {**LIMITS, **{scope: tuple(value) for scope, value in configured.items() if scope in LIMITS}}


def is_limited() -> bool:
	"""Guests and signed-in users who may not create appointments."""
	return frappe.session.user == "Guest" or not frappe.has_permission(APPOINTMENT, "create")


def limit_guest(scope: str):
	"""Count this request against the client address's limit for `scope`; a 429 once it is spent."""
	count(scope, client_address())


def limit_email(address: str, booking: bool = False):
	"""Count an email the public routes are about to send to `address` (and, for a booking, the booking
	for it); a 429 once either is spent."""
	subject = hash_secret((address or "").strip().lower())
	if booking:
		count("bookings_per_email", subject)
	count("emails_per_address", subject)


def limit_moves(token: str):
	count("moves_per_token", hash_secret(token))


def count(scope: str, subject: str):
	if not is_limited():
		return
	limit, seconds = limits()[scope]
	frappe.form_dict[SCOPE_KEY] = f"{scope}:{subject}"
	try:
		rate_limit(key=SCOPE_KEY, limit=limit, seconds=seconds, ip_based=False)(_count)()
	except frappe.RateLimitExceededError:
		frappe.clear_messages()
		retry_after = frappe_adapter.rate_limit_seconds_left(SCOPE_KEY) or seconds
		raise ApiError(429, headers={"Retry-After": str(retry_after)}) from None


def _count():
	"""What the decorator wraps: counting is all it does here."""


def client_address() -> str:
	"""The client's address: the peer's, or behind trusted proxies the right-most X-Forwarded-For
	address that is not one of them (see the module's docstring)."""
	peer = frappe.request.remote_addr or ""
	trusted = trusted_proxies()
	if not trusted or not _is_among(peer, trusted):
		return peer
	forwarded = frappe.request.headers.get("X-Forwarded-For") or ""
	for address in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
		if not _is_among(address, trusted):
			return address
	return peer


def trusted_proxies() -> list:
	networks = []
	for entry in frappe.conf.get("crm_trusted_proxies") or []:
		try:
			networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
		except ValueError:
			continue  # not an address: trusts nothing
	return networks


def _is_among(address: str, networks: list) -> bool:
	try:
		ip = ipaddress.ip_address(address)
	except ValueError:
		return False
	return any(ip in network for network in networks)
