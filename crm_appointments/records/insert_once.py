"""Atomic claims in the database, for work that must happen once however many processes try.

A claim is a row inserted with `insert ignore`: the primary key lets exactly one inserter win,
and a loser's insert waits for the winner's transaction, then finds the row and inserts nothing.
"""

import frappe


def insert_if_absent(doctype: str, values: dict) -> bool:
	"""Insert the row unless one with its name exists; True when this call inserted it."""
	columns = ", ".join(f"`{column}`" for column in values)
	placeholders = ", ".join(["%s"] * len(values))
	frappe.db.sql(
		f"insert ignore into `tab{doctype}` ({columns}) values ({placeholders})", tuple(values.values())
	)
	return rows_affected() == 1


def rows_affected() -> int:
	"""How many rows the last INSERT, UPDATE or DELETE on this connection changed (MariaDB's
	ROW_COUNT(), asked in SQL rather than read off Frappe's private cursor)."""
	return frappe.db.sql("select row_count()")[0][0]
