"""The signature on every event, Stripe's scheme: `CRM-Signature: t=<unix seconds>,v1=<hex>` where the
hex is the HMAC-SHA256, keyed with the endpoint's secret, of `"<t>."` followed by the exact body bytes
sent. A receiver recomputes it over the body it received and checks that `t` is recent
(docs/webhooks.md shows the ten lines)."""

import hashlib
import hmac

HEADER = "CRM-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
	return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header_value(secret: str, timestamp: int, body: bytes) -> str:
	return f"t={timestamp},v1={signature(secret, timestamp, body)}"
