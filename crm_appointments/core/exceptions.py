"""Errors the app raises. Each says which HTTP answer it becomes, so the REST layer needs no rules."""

import frappe


class AppointmentError(frappe.ValidationError):
	"""Base: carries the field at fault (or None) for the REST error's `param`."""

	http_status_code = 400
	fieldname: str | None = None


class InvalidFieldError(AppointmentError):
	"""A field value breaks a field rule."""

	http_status_code = 400


class StatusTransitionError(AppointmentError):
	"""A status move the workflow table refuses."""

	http_status_code = 409


class TerminalAppointmentError(AppointmentError):
	"""An edit of a completed, cancelled or no-show appointment beyond its notes."""

	http_status_code = 409


class DoubleBookingError(AppointmentError):
	"""The host already holds (part of) that time with another live appointment."""

	http_status_code = 409


class SlotNotFreeError(AppointmentError):
	"""Self-service booking: the start asked for is not a free slot (taken, outside hours, too soon, too
	far ahead)."""

	http_status_code = 409


class BookingClosedError(AppointmentError):
	"""Self-service: the booking can no longer be changed (it is final, or its start has passed)."""

	http_status_code = 409


def throw(exc_class: type[AppointmentError], message: str, fieldname: str | None = None, title=None):
	"""frappe.throw (so the desk shows the message) with the field at fault attached."""
	try:
		frappe.throw(message, exc_class, title=title)
	except exc_class as exc:
		exc.fieldname = fieldname
		raise
