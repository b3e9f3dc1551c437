"""The timing an appointment books with, from its type (contract.md, "Appointment types"): the one
place that says what a type's duration, slot interval, buffers, notice, horizon and most a day are.

A type's timing field left at 0 takes the booking settings' value (so the `appointment` type a site
gets from its settings keeps booking exactly as before types, and follows the settings); its slot
interval then falls back to the duration. An appointment with no type (staff may make one) keeps the
settings' rule: no buffer before, the settings' buffer after.

The overlap rule pads each live appointment by its own type's buffers: it holds
[start - buffer_before, end + buffer_after) of its host's time (`held`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import frappe
from frappe.utils import cint

from crm_appointments.core.names import APPOINTMENT_TYPE
from crm_appointments.core.settings import (
	DEFAULT_HORIZON_DAYS,
	DEFAULT_NOTICE,
	booking_duration,
	buffer_minutes,
	get_settings,
)

TIMING_FIELDS = (
	"duration",
	"slot_interval",
	"buffer_before",
	"buffer_after",
	"minimum_notice",
	"booking_horizon",
	"max_per_day",
)


@dataclass(frozen=True)
class Timing:
	duration: int  # minutes
	interval: int  # minutes between slot starts (0: the slot's duration)
	buffer_before: int  # minutes kept free before each appointment
	buffer_after: int  # and after it
	minimum_notice: int  # minutes from now
	booking_horizon: int  # days from now
	max_per_day: int  # live appointments of the type per host and day (0: no limit)


def settings_timing() -> Timing:
	"""The booking settings' timing: that of an appointment with no type."""
	settings = get_settings()
	duration = booking_duration()
	return Timing(
		duration=duration,
		interval=cint(settings.slot_interval),
		buffer_before=0,
		buffer_after=buffer_minutes(),
		minimum_notice=cint(
			settings.minimum_notice if settings.minimum_notice is not None else DEFAULT_NOTICE
		),
		booking_horizon=cint(settings.booking_horizon) or DEFAULT_HORIZON_DAYS,
		max_per_day=0,
	)


def timing_from(values) -> Timing:
	"""The timing of a type's values (a document or a row with TIMING_FIELDS)."""
	base = settings_timing()
	own_duration = cint(values.get("duration"))
	return Timing(
		duration=own_duration or base.duration,
		# A type of its own length steps by it; one of the settings' length, as the settings do.
		interval=cint(values.get("slot_interval")) or (0 if own_duration else base.interval),
		buffer_before=cint(values.get("buffer_before")),
		buffer_after=cint(values.get("buffer_after")) or base.buffer_after,
		minimum_notice=cint(values.get("minimum_notice")) or base.minimum_notice,
		booking_horizon=cint(values.get("booking_horizon")) or base.booking_horizon,
		max_per_day=cint(values.get("max_per_day")),
	)


def timing_of(appointment_type: str | None) -> Timing:
	"""The timing of the named type; the settings' for None or a type that no longer exists."""
	if appointment_type and (row := type_rows().get(appointment_type)):
		return timing_from(row)
	return settings_timing()


# The types' rows, cached for the site: a booking reads a type's timing a few times (the slots, the
# overlap rule, the day's limit) and a slots request once per type. Saving, deleting or renaming a type
# forgets them (hooks.py), again when its transaction ends (a request that read them meanwhile may
# have cached what was then committed, or what is then rolled back), and so does every migrate.
TYPES_KEY = "crm_appointments:type_timing"


def type_table() -> list:
	"""Every type's name, whether it is enabled and public, when it was made, and its timing values."""
	rows = frappe.cache.get_value(TYPES_KEY)
	if rows is None:
		rows = frappe.get_all(
			APPOINTMENT_TYPE,
			fields=["name", "enabled", "public", "creation", *TIMING_FIELDS],
			order_by="creation asc, name asc",
		)
		frappe.cache.set_value(TYPES_KEY, rows)
	return rows


def forget_types(doc=None, method=None):
	"""Forget the cached types, now and when this transaction ends: a type's hooks, and any code that
	writes types around the document API (raw SQL, `frappe.db.set_value`)."""
	forget_types_now()
	if getattr(frappe.local, "db", None):
		frappe.db.after_commit.add(forget_types_now)
		frappe.db.after_rollback.add(forget_types_now)


def forget_types_now():
	frappe.cache.delete_value(TYPES_KEY)


def type_rows() -> dict:
	"""Every type's timing values by name (types are few)."""
	return {row.name: row for row in type_table()}


def buffers_by_type() -> dict[str | None, tuple[int, int]]:
	"""(before, after) by type name, and for None (no type): what the overlap rule pads by."""
	found = {}
	for name, row in type_rows().items():
		timing = timing_from(row)
		found[name] = (timing.buffer_before, timing.buffer_after)
	found[None] = (0, buffer_minutes())
	return found


def widest(buffers: dict) -> tuple[int, int]:
	"""The longest buffer before and after of `buffers` (buffers_by_type): how far past a range the
	appointments around it can reach into it."""
	return max(b for b, _ in buffers.values()), max(a for _, a in buffers.values())


def held(start: datetime, duration: int, buffers: tuple[int, int]) -> tuple[datetime, datetime]:
	"""What a live appointment holds of its host's time: its length, padded by its buffers."""
	before, after = buffers
	return (start - timedelta(minutes=before), start + timedelta(minutes=cint(duration) + after))


def default_type() -> str | None:
	"""The type a booking that names none books: the oldest enabled public type (the `appointment`
	type a site gets from its settings, unless an admin changed that)."""
	return next((row.name for row in type_table() if row.enabled and row.public), None)
