"""How a list request becomes a page: the page's ids under the caller's permissions and filters, by
offset or by cursor, then just those rows; and the total, counted once per change of the data.

Order is newest created first, ties by id, so (creation, name) is a key no two rows share. An offset
page skips that many entries of the creation index (cheap per entry, but a deep offset walks them
all); a cursor page starts at the cursor's key and walks only the page, however deep it is.

The total is exact. When the caller may read every appointment (no User Permission, no if-owner
rule, no permission query condition) and filters by status at most, it is the app's kept count
(appointment_counts.py), which every write adjusts in its own transaction: one small read, in the
same snapshot as the page. Otherwise it is Frappe's own permission-aware count. Counting is the
dearest part of a list request, so that count is kept in Redis under two things: the exact SQL
Frappe built for this caller and these filters (which holds everything permissions add: the owner
condition, User Permissions, the documents shared with the caller), and a generation token that
every committed write to an appointment replaces (hooks.py, `bump_generation`). A cached count is
therefore never older than the last committed write made through Frappe's document API. Writes made
around that API (raw SQL, or a permission hook whose SQL reads other tables) show in `total` after
`bench clear-cache`, which empties the site's cache, or after TOTAL_TTL at most.
"""

import hashlib

import frappe
from frappe.model.db_query import DatabaseQuery
from redis.exceptions import RedisError

from crm_appointments.core.names import APPOINTMENT as DOCTYPE
from crm_appointments.records import status_counts as appointment_counts
from crm_appointments.rest.errors import ApiError

GENERATION_KEY = "crm_appointments:list_generation"
TOTAL_TTL = 300  # seconds


def page(query, columns) -> tuple[list[dict], bool | None]:
	"""(rows of the page in list order, has_more); has_more is None for offset pages, whose
	has_more follows from the total."""
	cursor_param = (
		"starting_after" if query.starting_after else "ending_before" if query.ending_before else None
	)
	if not cursor_param:
		names = frappe.get_list(
			DOCTYPE,
			pluck="name",
			filters=query.filters,
			order_by="creation desc, name desc",
			limit_start=query.offset,
			limit_page_length=query.limit,
		)
		return rows_named(names, columns), None

	creation, name = cursor_key(getattr(query, cursor_param), cursor_param)
	newer = cursor_param == "ending_before"
	# (creation, name) beyond the cursor's key in the walking direction, as Frappe's filters can say it:
	# creation beyond or equal, and (creation strictly beyond, or name beyond). The first part lets the
	# database walk the creation index from the cursor on.
	beyond = ">" if newer else "<"
	names = frappe.get_list(
		DOCTYPE,
		pluck="name",
		filters=[*query.filters, ["creation", f"{beyond}=", creation]],
		or_filters=[["creation", beyond, creation], ["name", beyond, name]],
		order_by="creation asc, name asc" if newer else "creation desc, name desc",
		limit_page_length=query.limit + 1,
	)
	has_more = len(names) > query.limit
	names = names[: query.limit]
	if newer:
		names.reverse()
	return rows_named(names, columns), has_more


def cursor_key(id: str, param: str):
	"""The cursor's (creation, name); a 400 when the caller cannot read such an appointment."""
	found = frappe.get_list(DOCTYPE, fields=["name", "creation"], filters=[["name", "=", id]], limit=1)
	if not found:
		raise ApiError(400, f"{param} must be the id of an appointment you can read.", param)
	return found[0].creation, found[0].name


def rows_named(names: list[str], columns) -> list[dict]:
	"""The rows for `names`, in that order. The ids came from a permission-checked query."""
	if not names:
		return []
	found = frappe.db.sql(
		f"select {', '.join(f'`{column}`' for column in columns)} from `tab{DOCTYPE}` where name in %(names)s",
		{"names": tuple(names)},
		as_dict=True,
	)
	by_name = {row.name: row for row in found}
	return [by_name[name] for name in names if name in by_name]


def total(filters: list) -> int:
	"""How many appointments the caller may read under `filters`."""
	if (kept := kept_total(filters)) is not None:
		return kept
	return counted_total(filters)


def kept_total(filters: list) -> int | None:
	"""The kept count, when it is exactly what the caller may read under `filters` (no filter but
	status, and permissions that hide no appointment from them); else None."""
	statuses = None
	if filters:
		if len(filters) > 1 or list(filters[0][:2]) != ["status", "in"]:
			return None
		statuses = filters[0][2]
	if not reads_every_appointment():
		return None
	return appointment_counts.total(statuses)


def reads_every_appointment() -> bool:
	"""Whether Frappe's list shows this user every appointment: read permission by role, and no
	condition on what they see (if-owner rules, User Permissions, permission_query_conditions hooks
	and server scripts all show up as one; shared documents only ever add to a condition)."""
	if not frappe.permissions.get_role_permissions(frappe.get_meta(DOCTYPE)).get("read"):
		return False
	return not DatabaseQuery(DOCTYPE).build_match_conditions()


def counted_total(filters: list) -> int:
	sql = frappe.get_list(DOCTYPE, fields=["count(*) as total"], filters=filters, run=False)
	generation = current_generation()
	if generation is None:
		return count(sql)
	key = frappe.cache.make_key(
		f"crm_appointments:list_total:{generation}:{hashlib.sha1(sql.encode()).hexdigest()}"
	)
	try:
		if (cached := frappe.cache.get(key)) is not None:
			return int(cached)
	except RedisError:
		return count(sql)
	# A fresh snapshot, taken after the generation was read: a write committed before it is counted,
	# and a write committed after it replaces the generation, so this count is never served for it.
	# Ending the read's transaction takes one; a GET has nothing to commit (a key's last use commits
	# itself), so it is a rollback, not a commit.
	frappe.db.rollback()
	value = count(sql)
	try:
		frappe.cache.set(key, value, ex=TOTAL_TTL)
	except RedisError:
		pass
	return value


def count(sql: str) -> int:
	return frappe.db.sql(sql)[0][0]


def current_generation() -> str | None:
	key = frappe.cache.make_key(GENERATION_KEY)
	try:
		if (generation := frappe.cache.get(key)) is None:
			frappe.cache.set(key, frappe.generate_hash(length=16), nx=True)
			generation = frappe.cache.get(key)
	except RedisError:
		return None
	return generation.decode() if generation is not None else None


def bump_generation(*args, **kwargs):
	"""Hooked to every change of an appointment: once the change commits, cached totals are stale."""
	frappe.db.after_commit.add(replace_generation)


def replace_generation():
	try:
		frappe.cache.set(frappe.cache.make_key(GENERATION_KEY), frappe.generate_hash(length=16))
	except RedisError:
		# Unreachable: while it is, no total is read from it either. Should it come back with its data
		# (a network fault, not a restart), totals cached before this write expire within TOTAL_TTL.
		pass
