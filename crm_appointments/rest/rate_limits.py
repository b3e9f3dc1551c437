"""Guests on the public booking routes are rate-limited per client address, with Frappe's rate
limiter (`frappe.rate_limiter.rate_limit`, counters in Redis). Over the limit: 429 rate_limit_error
with Retry-After, the seconds until the client's window ends.

Staff (any signed-in user) are not limited here. The limits, (requests, seconds) per client address
and route family, can be changed in the site config: `"crm_booking_rate_limits": {"bookings": [20, 600]}`.

The client address is Frappe's `request_ip`: the first X-Forwarded-For address, else the peer's. Behind
a proxy that sets X-Forwarded-For (Frappe's nginx does) that is the visitor; a server exposed directly
trusts what the client sends.
"""

import frappe
from frappe.rate_limiter import rate_limit

from crm_appointments import frappe_adapter
from crm_appointments.rest.errors import ApiError

LIMITS = {
	"slots": (120, 60),  # the booking page asks once per day the visitor looks at
	"bookings": (10, 600),
	"manage": (30, 600),  # reading, cancelling, rescheduling with a manage token
}
# The form_dict entry that tells the decorator which family a request belongs to (set here, never
# taken from the client: it is overwritten on each request).
SCOPE_KEY = "crm_rate_scope"


def limits() -> dict[str, tuple[int, int]]:
	configured = frappe.conf.get("crm_booking_rate_limits") or {}
	return {**LIMITS, **{scope: tuple(value) for scope, value in configured.items() if scope in LIMITS}}


def limit_guest(scope: str):
	"""Count this request against the guest's limit for `scope`; a 429 once it is spent."""
	if frappe.session.user != "Guest":
		return
	limit, seconds = limits()[scope]
	frappe.form_dict[SCOPE_KEY] = scope
	try:
		rate_limit(key=SCOPE_KEY, limit=limit, seconds=seconds)(_count)()
	except frappe.RateLimitExceededError:
		frappe.clear_messages()
		retry_after = frappe_adapter.rate_limit_seconds_left(SCOPE_KEY) or seconds
		raise ApiError(429, headers={"Retry-After": str(retry_after)}) from None


def _count():
	"""What the decorator wraps: counting is all it does here."""
