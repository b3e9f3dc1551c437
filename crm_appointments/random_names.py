"""Random, unguessable parts of names and secrets (appointment ids, Event names, API keys)."""

import secrets
import string

LOWERCASE_ALPHANUMERIC = string.ascii_lowercase + string.digits


def random_part(length: int, alphabet: str = LOWERCASE_ALPHANUMERIC) -> str:
	return "".join(secrets.choice(alphabet) for _ in range(length))
