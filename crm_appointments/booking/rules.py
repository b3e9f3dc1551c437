"""Self-service booking: a customer books a free slot, and later moves or cancels it through a
private link (contract.md, "Bookings" and "Managing a booking").

The rules are here and in the CRM Appointment controller (the field rules, the workflow and the overlap
rule, which every save obeys); the REST layer (api.py) and the pages (www/book/) only translate. Whether
public booking is open is decided once, by `is_open`.

- A booking's start must be a slot the slot arithmetic offers at that moment (scheduling/slots.py): inside a
  host's hours, outside their time off, past the minimum notice, within the horizon, on a step of the
  slot interval. Staff may book outside hours; self-service may not.
- The host is one free at that start: the fewest live appointments that day (the site's day), ties to
  the one booked least recently. A booking takes the row of just the host it books (`take_a_host`): the
  first free host in that order whose row no other transaction holds, so bookings that could go to
  different hosts never wait for each other; only when every free host's row is held does it wait, for
  the first. The appointment is inserted through the ORM as the app (the guest has no permissions), so
  the controller's overlap rule, under the host's lock, decides races. A host lost to a booking that
  committed meanwhile is a DoubleBookingError: the whole transaction is rolled back (a row lock is
  only let go at its end, and the booking must not keep a host it does not take), and the next free
  host is tried. A booking therefore starts its own transaction (the routes commit before it).
- Each booking gets a manage token (manage_links.py). Cancel and reschedule need the appointment live
  and its start ahead.
- The customer hears of a booking, a move and a cancel by email (notify/emails.py) and, while the
  settings say so, by text message (notify/sms.py: decided here, sent by a job after the commit).
"""

import dataclasses
from datetime import datetime, timedelta

import frappe
from frappe import _
from frappe.utils import now_datetime

from crm_appointments.booking import types
from crm_appointments.booking.manage_links import manage_url, new_token, token_hash
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.exceptions import BookingClosedError, DoubleBookingError, SlotNotFreeError, throw
from crm_appointments.core.names import APPOINTMENT, APPOINTMENT_TYPE
from crm_appointments.core.settings import get_settings
from crm_appointments.crm_appointments.doctype.crm_appointment import crm_appointment as controller
from crm_appointments.notify import emails as appointment_mail
from crm_appointments.notify import sms as text_messages
from crm_appointments.scheduling import availability, host_calendars, slots, timing

CUSTOMER_FIELDS = ("customer_name", "customer_email", "customer_phone_number", "customer_details")
ONE_SECOND = timedelta(seconds=1)
MAX_DEADLOCK_RETRIES = 3


def is_open() -> bool:
	"""Whether public booking is on: the one place that decides it (the routes, rescheduling, the
	booking page and the manage page ask here)."""
	return bool(get_settings().enable_public_booking)


# -- booking ------------------------------------------------------------------------------------------


def book(
	start: datetime,
	customer_name: str,
	customer_email: str,
	customer_phone_number: str | None = None,
	customer_details: str | None = None,
	time_zone: str | None = None,
	type: str | None = None,
	host: str | None = None,
	answers: dict | None = None,
):
	"""Book `start` (aware) of the type (`type`, a slug; default the oldest enabled public one) with a
	free host of the type's, or the one picked (`host`, their public handle, where the customer may
	pick); `answers` the booking questions' (label -> text). Returns (appointment, manage token). A
	start that is not a free slot, or lost to a racing booking on every free host, is a
	SlotNotFreeError; a type, host or answers the caller may not give a 400 naming them."""
	for_guest = not frappe.has_permission(APPOINTMENT, "create")
	kind = types.resolve(type, for_guest)
	hosts = types.candidate_hosts(kind, host, for_guest)
	kind_name = kind.name if kind is not None else None
	duration = timing.timing_of(kind_name).duration
	token = new_token()
	values = {
		"doctype": APPOINTMENT,
		"appointment_type": kind_name,
		"customer_name": customer_name,
		"customer_email": customer_email,
		"customer_phone_number": customer_phone_number,
		"customer_details": customer_details,
		"scheduled_time": host_calendars.to_site(start),
		"status": workflow.label_of("scheduled"),
		"duration": duration,
	}
	# The customer's fields (and what the type asks of them) are checked once, first, so bad input is a
	# 400 whatever the time asked for; each insert below takes the checked values and does not check
	# them again. The location (a new video room, say) is settled here too, once for every try.
	customer = frappe.get_doc(values)
	customer.normalise_fields()
	customer.validate_customer_fields()
	values["answers"] = types.answers_for(kind, answers)
	customer.validate_type()
	values.update({field: customer.get(field) for field in CUSTOMER_FIELDS})
	values["location"] = customer.location

	def insert(host):
		doc = frappe.get_doc({**values, "host": host})
		doc.flags.manage_token_hash = token_hash(token)  # the controller keeps it (keep_manage_token)
		doc.flags.customer_fields_checked = True
		doc.flags.self_service = True  # the type's most a day is a refusal, not a warning
		return doc.insert(ignore_permissions=True)

	doc = take_a_host(
		lambda: by_preference(hosts_free_at(start, duration, appointment_type=kind_name, hosts=hosts), start),
		insert,
		read_again=lambda host: read_outside_again([host], start, kind_name),
	)
	appointment_mail.send_booking_confirmation(doc, manage_url(token), time_zone)
	text_messages.queue_booking_text(doc, text_messages.BOOKED, manage_url(token), time_zone)
	return doc, token


def take_a_host(free_hosts, write, skip_held: bool = True, read_again=None):
	"""`write(host)` for the first of `free_hosts()` (free now, in preference order) that takes it,
	holding the row of that host only; its result. None taking it is a SlotNotFreeError.

	With `skip_held`, a host whose row another transaction holds is passed over for the next; only
	when every free host's row is held does it wait, for the first (holding no host row meanwhile, so
	never in a circle). Without it, `write` takes its rows itself. A host refused because a write
	committed meanwhile took its time (DoubleBookingError, raised under the host's lock) ends the
	transaction with a rollback, the only way to let go of a row lock, and the hosts free then are
	tried, without that one.

	`read_again(host)` reads a host's outside calendar again (CalDAV: a meeting added there a minute
	ago), just before its row is tried, while this transaction holds no row: just the hosts tried,
	and so, mostly, just the one the booking takes. The checks under the lock count that read."""
	read_again = read_again or (lambda host: None)

	def read_then_lock(host) -> bool:
		read_again(host)
		return host_calendars.lock_host_if_free(host)

	refused, deadlocks = set(), 0
	while True:
		hosts = [h for h in free_hosts() if h not in refused]
		if not hosts:
			not_free()
		host = hosts[0]
		if skip_held:
			host = next((h for h in hosts if read_then_lock(h)), None)
			if host is None:
				host = hosts[0]
				host_calendars.lock_hosts([host])  # every one is held: wait for the first
		else:
			read_again(host)  # `write` takes the rows
		try:
			return write(host)
		except DoubleBookingError:
			frappe.db.rollback()
			frappe.clear_messages()
			refused.add(host)
		except Exception as error:
			# Writes of different hosts run side by side, and Frappe's own rows they both touch (an
			# Event's participants, a timeline) can still meet in a deadlock, which InnoDB ends by
			# rolling one back: that one starts again, as MariaDB's manual advises.
			if not is_deadlock(error) or deadlocks >= MAX_DEADLOCK_RETRIES:
				raise
			frappe.db.rollback()
			frappe.clear_messages()
			deadlocks += 1


def is_deadlock(error: Exception) -> bool:
	"""Whether InnoDB ended this transaction as a deadlock's victim. frappe.db.sql raises that as a
	QueryDeadlockError wrapping the driver's error (so `frappe.db.is_deadlocked`, which reads the
	driver error's code, is False for it); a driver error from elsewhere carries the code itself."""
	return isinstance(error, frappe.QueryDeadlockError) or frappe.db.is_deadlocked(error)


def read_outside_again(hosts: list[str], start: datetime, appointment_type: str | None, duration=None):
	"""The hosts' CalDAV calendars read again around `start` (host_calendars.read_outside_again), into
	the cache the overlap rule reads. Made while no row lock is held (take_a_host)."""
	query = slots.query_for(start, start + ONE_SECOND, duration, appointment_type)
	host_calendars.read_outside_again(hosts, start, start + ONE_SECOND, query.buffer, query.buffer_before)


def hosts_free_at(
	start: datetime, duration: int, ignore=None, appointment_type: str | None = None, hosts=None
) -> list[str]:
	"""The hosts who can take appointments (of `hosts`; None: all) free for `duration` minutes from
	`start` for the type, at a start the type's slots offer now. `ignore`: an appointment whose own
	time does not count (the one being rescheduled)."""
	query = slots.query_for(start, start + ONE_SECOND, duration, appointment_type)
	if not query.earliest <= start <= query.latest:
		return []
	calendars = host_calendars.calendars(
		hosts,
		start,
		start + ONE_SECOND,
		query.buffer,
		query.buffer_before,
		slots.per_day_of(appointment_type),
	)
	if ignore is not None and ignore.host and ignore.is_live():
		own = ignore.held_interval()
		calendars = [without_busy(c, own) if c.host == ignore.host else c for c in calendars]
	return availability.free_hosts(calendars, start, query)


def without_busy(calendar: availability.HostCalendar, held) -> availability.HostCalendar:
	busy = list(calendar.busy)
	if held in busy:
		busy.remove(held)
	return dataclasses.replace(calendar, busy=busy)


def by_preference(hosts: list[str], start: datetime) -> list[str]:
	"""Fewest live appointments on the start's day (the site's calendar day) first; then the one
	whose latest booking is oldest (never booked: first); then by id, so the order is stable."""
	if not hosts:
		return []
	day = host_calendars.to_site(start).date()
	counts = dict(
		frappe.db.sql(
			f"""select host, count(*) from `tab{APPOINTMENT}`
			where host in %(hosts)s and status in %(live)s
			and scheduled_time >= %(day)s and scheduled_time < %(next)s group by host""",
			{
				"hosts": hosts,
				"live": host_calendars.LIVE_LABELS,
				"day": day,
				"next": day + timedelta(days=1),
			},
		)
	)
	latest = dict(
		frappe.db.sql(
			f"select host, max(creation) from `tab{APPOINTMENT}` where host in %(hosts)s group by host",
			{"hosts": hosts},
		)
	)
	return sorted(hosts, key=lambda h: (counts.get(h, 0), latest.get(h) or datetime.min, h))


def not_free():
	throw(
		SlotNotFreeError,
		_("This time is no longer free. Please choose another."),
		fieldname="start",
		title=_("Not free"),
	)


# -- managing a booking ----------------------------------------------------------------------------


def is_changeable(doc) -> bool:
	return doc.is_live() and frappe.utils.get_datetime(doc.scheduled_time) > now_datetime()


def ensure_changeable(doc):
	if not doc.is_live():
		message = _("This appointment is {0}, so it can no longer be changed here.").format(
			_(doc.status).lower()
		)
	elif not is_changeable(doc):
		message = _("This appointment has already started, so it can no longer be changed here.")
	else:
		return
	throw(BookingClosedError, message, title=_("Cannot change"))


def cancel(doc, reason: str | None = None):
	"""Cancel a live, future booking; the reason goes to the timeline (the controller's move_to), the
	cancellation email goes out as for any cancellation."""
	ensure_changeable(doc)
	doc.flags.ignore_permissions = True
	doc.move_to(workflow.label_of("cancelled"), reason)
	text_messages.queue_booking_text(doc, text_messages.CANCELLED)
	return doc


def reschedule(doc, token: str, start: datetime, time_zone: str | None = None):
	"""Move a live, future booking to another free slot (its own length). Its host keeps it when free
	then; otherwise another free host takes it. A confirmed booking goes back to scheduled."""
	ensure_changeable(doc)
	if not is_open():
		throw(
			SlotNotFreeError,
			_("Online booking is closed, so the appointment cannot be moved here. Please contact us."),
			fieldname="start",
			title=_("Booking closed"),
		)
	name = doc.name

	def free_hosts():
		# Read again after a rollback: the appointment as committed now, and the hosts free then.
		current = frappe.get_doc(APPOINTMENT, name)
		kind = current.appointment_type
		hosts = types.hosts_of(frappe.get_cached_doc(APPOINTMENT_TYPE, kind)) if type_exists(kind) else None
		free = hosts_free_at(start, current.duration, ignore=current, appointment_type=kind, hosts=hosts)
		own = [current.host] if current.host in free else []
		return own + by_preference([h for h in free if h != current.host], start)

	def move(host):
		# Its own host and the one it moves to, in name order, before the appointment (see `book`).
		doc = controller.get_for_update(name, [host])
		ensure_changeable(doc)  # as it is now, locked
		doc.flags.ignore_permissions = True
		doc.flags.self_service = True
		doc.host = host
		doc.scheduled_time = host_calendars.to_site(start)  # the rules of any save apply
		doc.save()
		return doc

	doc = take_a_host(
		free_hosts,
		move,
		skip_held=False,
		read_again=lambda host: read_outside_again([host], start, doc.appointment_type, doc.duration),
	)
	appointment_mail.send_booking_update(doc, manage_url(token), time_zone)
	text_messages.queue_booking_text(doc, text_messages.MOVED, manage_url(token), time_zone)
	return doc


def type_exists(name: str | None) -> bool:
	return bool(name) and bool(frappe.db.exists(APPOINTMENT_TYPE, name))
