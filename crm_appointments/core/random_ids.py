"""Random, unguessable parts of names and secrets (appointment ids, Event names, API keys), and the one
way a secret is stored: its SHA-256 (API keys, manage tokens, calendar feed addresses)."""

import hashlib
import secrets
import string

LOWERCASE_ALPHANUMERIC = string.ascii_lowercase + string.digits


def random_part(length: int, alphabet: str = LOWERCASE_ALPHANUMERIC) -> str:
	return "".join(secrets.choice(alphabet) for _ in range(length))


def hash_secret(secret: str) -> str:
	"""What is stored of a secret: its SHA-256, in hex. Secrets are long and random, so no salt or
	slow hash is needed; a lookup compares hashes."""
	return hashlib.sha256(secret.encode()).hexdigest()
