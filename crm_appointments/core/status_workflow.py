"""The appointment status workflow, written once, as data.

The controller enforces it, the REST API translates its values, the desk draws its buttons,
indicators, Kanban columns and calendar colours from it (it reaches the desk scripts through boot,
see `as_dict`) and the README's table describes it. Nothing else lists statuses or moves; the one
other copy of the colours is the workspace chart's, in its chart file (a chart file cannot read
this), in the same order.

Each status has an API value (snake_case) and a label (what the database stores and the desk shows).
"""

from typing import NamedTuple


class Status(NamedTuple):
	value: str
	label: str
	indicator: str  # its colour in the desk (a Frappe indicator colour)
	terminal: bool
	live: bool  # reminders are sent and the calendar event exists
	action: str = ""  # the desk's caption for the button that moves an appointment into it


STATUSES = (
	Status("draft", "Draft", "gray", terminal=False, live=False),
	Status("scheduled", "Scheduled", "blue", terminal=False, live=True, action="Schedule"),
	Status("confirmed", "Confirmed", "cyan", terminal=False, live=True, action="Confirm"),
	Status("completed", "Completed", "green", terminal=True, live=False, action="Complete"),
	Status("cancelled", "Cancelled", "red", terminal=True, live=False, action="Cancel Appointment"),
	Status("no_show", "No Show", "orange", terminal=True, live=False, action="Mark No Show"),
)

# Allowed moves, by API value. Setting the same status again is a no-op, not a move.
MOVES = {
	"draft": ("scheduled", "cancelled"),
	"scheduled": ("confirmed", "completed", "cancelled", "no_show"),
	"confirmed": ("scheduled", "completed", "cancelled", "no_show"),
	"completed": (),
	"cancelled": (),
	"no_show": (),
}

# What a new appointment may start as.
INITIAL = ("draft", "scheduled", "confirmed", "completed", "no_show")
# Entering these needs scheduled_time in the future ...
NEEDS_FUTURE_TIME = ("scheduled", "confirmed")
# ... and entering these needs it in the past.
NEEDS_PAST_TIME = ("completed", "no_show")
# A rescheduled confirmed appointment goes back to scheduled.
RESCHEDULE_RESETS = {"confirmed": "scheduled"}
# Terminal appointments keep only their notes editable.
EDITABLE_WHEN_TERMINAL = ("customer_details",)
# Moving into these, the desk asks why; the reason is kept in the appointment's timeline.
ASKS_REASON = ("cancelled",)

DEFAULT = "draft"

_BY_VALUE = {s.value: s for s in STATUSES}
_BY_LABEL = {s.label: s for s in STATUSES}

VALUES = tuple(_BY_VALUE)
LABELS = tuple(_BY_LABEL)
TERMINAL = tuple(s.value for s in STATUSES if s.terminal)
LIVE = tuple(s.value for s in STATUSES if s.live)
# Where scheduled_time may change: wherever the appointment is not final (the controller refuses any
# change but the notes on a final one; the desk shows Reschedule from this).
RESCHEDULABLE = tuple(s.value for s in STATUSES if not s.terminal)


def get(value_or_label: str | None) -> Status | None:
	"""The status named by an API value or a label; None when it names none."""
	if not value_or_label:
		return None
	return _BY_VALUE.get(value_or_label) or _BY_LABEL.get(value_or_label)


def value_of(label: str | None) -> str | None:
	status = get(label)
	return status.value if status else None


def label_of(value: str | None) -> str | None:
	status = get(value)
	return status.label if status else None


def allowed_moves(current: str) -> tuple[str, ...]:
	"""API values the appointment may move to from `current` (a value or a label)."""
	status = get(current)
	return MOVES[status.value] if status else ()


def can_move(current: str, target: str) -> bool:
	return value_of(target) in allowed_moves(current)


def as_dict() -> dict:
	"""The whole table, for the desk (boot.py sends it at login) and the docs."""
	return {
		"statuses": [s._asdict() for s in STATUSES],
		"moves": {k: list(v) for k, v in MOVES.items()},
		"initial": list(INITIAL),
		"reschedulable": list(RESCHEDULABLE),
		"editable_when_terminal": list(EDITABLE_WHEN_TERMINAL),
		"asks_reason": list(ASKS_REASON),
	}
