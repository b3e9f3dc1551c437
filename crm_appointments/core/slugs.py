"""Public handles in addresses (an appointment type's `/book/<slug>`, a host's handle): lowercase
letters, digits and `-`, made from a title or a name when none is given, unique in their DocType."""

import re
import unicodedata

import frappe

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_LENGTH = 60


def slugify(text: str, fallback: str) -> str:
	"""`Demo, 45 min!` -> `demo-45-min`; accents are dropped (`Café` -> `cafe`)."""
	ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
	slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_LENGTH].strip("-")
	return slug or fallback


def unique_slug(doctype: str, fieldname: str, base: str, exclude: str | None = None) -> str:
	"""`base`, or `base-2`, `base-3`, ... : the first that no other document of `doctype` has."""
	candidate, number = base, 1
	while frappe.db.exists(doctype, {fieldname: candidate, "name": ["!=", exclude or ""]}):
		number += 1
		candidate = f"{base[: MAX_LENGTH - len(str(number)) - 1]}-{number}"
	return candidate


def settle(given: str | None, doctype: str, made_from: str, fallback: str, exclude: str | None = None):
	"""A document's `slug` as it is stored: the one given, trimmed and lowercased, or (none given) one
	made from `made_from`, unique in `doctype`. None when the given one is not a slug: the caller says
	so, in its own words."""
	given = (given or "").strip().lower()
	if not given:
		return unique_slug(doctype, "slug", slugify(made_from, fallback), exclude=exclude)
	return given if is_slug(given) else None


def is_slug(value: str) -> bool:
	return bool(value) and len(value) <= MAX_LENGTH and bool(SLUG_PATTERN.match(value))
