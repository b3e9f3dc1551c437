"""Exact counts of appointments by status, kept in the same transaction as each write.

Every REST list carries an exact `total`, and counting a million rows takes hundreds of
milliseconds. So each write of an appointment through Frappe's document API (the REST API, the
desk, Data Import, a restore from Deleted Document, the app's jobs) adjusts a count by status in
its own transaction (doc_events in hooks.py): a rollback takes the adjustment back with the write,
and in any snapshot the counts say what COUNT(*) would.

One row per status would make writers queue: each holds its row's lock until it commits. Each
status has SHARDS rows instead ("CRM Appointment Count", named "<status>-<shard>"), and a write
adjusts the first of them that no other open transaction holds (SKIP LOCKED), so writers do not
wait for each other. A status's count is the sum of its rows.

What goes around the document API (raw SQL, `frappe.db.set_value` of a status, a patch) is not
counted: `reconcile` recounts every status, hourly, after each migrate, and on
`bench --site SITE reconcile-appointment-counts`; code that writes around the API calls it.
"""

import random

import frappe
from frappe.utils import now_datetime

from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.names import APPOINTMENT
from crm_appointments.core.names import COUNT as DOCTYPE

SHARDS = 8


# -- the writes (doc_events in hooks.py) --------------------------------------------------------


def after_insert(doc, method=None):
	add(doc.status, 1)
	doc.flags.counted_status = doc.status


def on_change(doc, method=None):
	"""A save or a db_set: if the status moved, move its count. Frappe runs on_change more than once
	in a save (a db_set in on_update runs it too), so the status counted since the stored row was
	read is kept beside that row's copy (an insert's on the document)."""
	counted_on = doc if doc.flags.in_insert else doc.get_doc_before_save()
	if counted_on is None:
		return
	counted = counted_on.flags.counted_status if "counted_status" in counted_on.flags else counted_on.status
	if counted != doc.status:
		add(counted, -1)
		add(doc.status, 1)
	counted_on.flags.counted_status = doc.status


def after_delete(doc, method=None):
	# Frappe's delete_doc loads the document locked, so this is the status the row had.
	add(doc.status, -1)


def add(status: str | None, delta: int):
	"""Adjust `status`'s count by `delta` in the current transaction, on a row nobody else holds."""
	names = shard_names(status)
	free = frappe.db.sql(
		f"select name from `tab{DOCTYPE}` where name in %(names)s limit 1 for update skip locked",
		{"names": names},
	)
	# All held (more writers of one status than SHARDS), or not made yet: wait on one of them.
	name = free[0][0] if free else random.choice(names)
	now = now_datetime()
	frappe.db.sql(
		f"""insert into `tab{DOCTYPE}` (name, status, shard, `count`, creation, modified, owner, modified_by)
		values (%(name)s, %(status)s, %(shard)s, %(delta)s, %(now)s, %(now)s, 'Administrator', 'Administrator')
		on duplicate key update `count` = `count` + %(delta)s""",
		{"name": name, "status": status or "", "shard": names.index(name), "delta": delta, "now": now},
	)


def shard_names(status: str | None) -> list[str]:
	return [f"{status or ''}-{shard}" for shard in range(SHARDS)]


# -- reading ------------------------------------------------------------------------------------


def total(statuses: list[str] | None = None) -> int | None:
	"""How many appointments there are (with one of `statuses`), in the current snapshot; None if
	the counts were never made (the app's install and every migrate make them)."""
	rows = frappe.db.sql(f"select status, sum(`count`) from `tab{DOCTYPE}` group by status")
	if not rows:
		return None
	wanted = None if statuses is None else {same(s) for s in statuses}
	return int(sum(n for status, n in rows if wanted is None or same(status) in wanted))


def same(status: str | None) -> str:
	"""A status as the database compares it (the column's collation ignores case and trailing spaces)."""
	return (status or "").rstrip(" ").casefold()


# -- repair -------------------------------------------------------------------------------------


def reconcile() -> dict[str, tuple[int, int]]:
	"""Recount every status and set its kept count to it; returns {status: (kept, counted)} for the
	counts that were wrong. Commits: one transaction per status.

	Each status's rows are locked first (its missing ones made), then counted in a snapshot taken after the locks: a write
	that adjusted them has committed by then (and is in the count), and one that has not yet adjusted
	them waits for the locks (and is not in the count), so no write is lost or counted twice. Writers
	of that status wait for its count only (at 1,000,000 rows a few tens of milliseconds)."""
	frappe.db.commit()
	statuses = {}  # one spelling per status as the database tells them apart, the workflow's first
	for status in [
		*workflow.LABELS,
		*frappe.db.sql_list(f"select distinct status from `tab{APPOINTMENT}`"),
		*frappe.db.sql_list(f"select distinct status from `tab{DOCTYPE}`"),
	]:
		statuses.setdefault(same(status), (status or "").rstrip(" "))
	frappe.db.commit()  # the snapshot of those reads must not be the one the counts are read in
	wrong = {}
	for status in sorted(statuses.values()):
		names = shard_names(status)
		now = now_datetime()
		held = frappe.db.sql(
			f"select name, `count` from `tab{DOCTYPE}` where name in %(names)s for update", {"names": names}
		)
		kept = sum(n for _name, n in held)
		if missing := [name for name in names if name not in {name for name, _n in held}]:
			frappe.db.sql(
				f"""insert into `tab{DOCTYPE}` (name, status, shard, `count`, creation, modified, owner,
				modified_by) values """
				+ ", ".join(["(%s, %s, %s, 0, %s, %s, 'Administrator', 'Administrator')"] * len(missing)),
				[value for name in missing for value in (name, status, names.index(name), now, now)],
			)
		if status:
			counted = frappe.db.sql(f"select count(*) from `tab{APPOINTMENT}` where status = %s", status)
		else:
			counted = frappe.db.sql(
				f"select count(*) from `tab{APPOINTMENT}` where status is null or status = ''"
			)
		counted = counted[0][0]
		if int(kept) != counted:
			wrong[status] = (int(kept), counted)
			frappe.db.sql(
				f"update `tab{DOCTYPE}` set `count` = if(shard = 0, %(counted)s, 0), modified = %(now)s "
				"where name in %(names)s",
				{"counted": counted, "now": now, "names": names},
			)
		frappe.db.commit()
	return wrong
