# Copyright (c) 2026, crm_appointments developers
# For license information, please see license.txt

"""CRM Appointment Host: someone appointments are held by, their weekly hours and their time off,
and their private calendar feed (see calendar_feed.py).

The feed's address is issued, replaced and revoked only by `issue_calendar_feed` and
`revoke_calendar_feed`, by the host themself or a CRM Appointment Manager (or System Manager): a host
who is a CRM Appointment User may read, not write, their host record, and the feed is theirs. The
secret is returned once and only its hash is kept; a save never changes the feed's fields.

The outside calendar (CalDAV: scheduling/caldav_busy.py reads it, calendars/caldav_copies.py writes to
it) is at permission level 1: only CRM Appointment Managers (and System Managers) read or write its
fields on the form and through /api/resource; the host themself changes it through `set_connection`
(the desk's Connect calendar) and reads it through `connection_of`. The password is a Password field:
Frappe keeps it encrypted apart from the record, and every read of the record (the form, frappe.client,
/api/resource) shows asterisks. Its URL is checked against the app's outbound rule (core/outbound.py,
after DNS) when the connection is turned on or its URL changes; a change of connection drops what was
cached of the old calendar and puts the host's appointments into the new one (a job).
"""

import zoneinfo

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime, now_datetime

from crm_appointments.calendars import caldav_copies
from crm_appointments.calendars import feed as calendar_feed
from crm_appointments.core import outbound, slugs
from crm_appointments.core.names import APPOINTMENT, HOST, ROLES
from crm_appointments.scheduling import caldav_busy, host_calendars
from crm_appointments.scheduling.availability import WEEKDAYS
from crm_appointments.scheduling.host_calendars import as_time

MINUTES_A_DAY, MINUTES_A_WEEK = 1440, 10080
FEED_FIELDS = ("calendar_feed_enabled", "calendar_feed_issued_on", "calendar_feed_hash")
HOST_MANAGERS = ("CRM Appointment Manager", "System Manager")  # beside the host themself
CONNECTION_STATE_FIELDS = ("caldav_last_read", "caldav_last_error", "caldav_error_since")


class CRMAppointmentHost(Document):
	def onload(self):
		"""For the form: whether the host can take appointments and, when not, why, and how many live
		appointments ahead they still hold (they stay theirs until given another host)."""
		if self.is_new():
			return
		why = host_calendars.why_not_active(self.name)
		self.set_onload("not_active_because", why)
		if why:
			self.set_onload(
				"live_ahead",
				frappe.db.count(
					APPOINTMENT,
					{
						"host": self.name,
						"status": ["in", host_calendars.LIVE_LABELS],
						"scheduled_time": [">", now_datetime()],
					},
				),
			)

	def validate(self):
		self.validate_user()
		self.validate_time_zone()
		self.validate_hours()
		self.validate_time_off()
		self.keep_calendar_feed()
		self.validate_calendar_connection()
		self.set_slug()
		self.weekly_summary = weekly_summary(self.working_hours)

	def set_slug(self):
		"""The public handle guests know the host by (never their email or user id): as given, or
		made from their full name, unique among hosts."""
		made_from = "" if (self.slug or "").strip() else self.host_full_name()
		slug = slugs.settle(self.slug, HOST, made_from, "host", exclude=self.name)
		if slug is None:
			frappe.throw(
				_(
					"The public handle may hold only lowercase letters, digits and single hyphens (like ana-lopez)."
				),
				title=_("Invalid handle"),
			)
		self.slug = slug
		if frappe.db.exists(HOST, {"slug": self.slug, "name": ["!=", self.name or ""]}):
			frappe.throw(
				_("Another host already has the public handle {0}.").format(frappe.bold(self.slug)),
				title=_("Handle taken"),
			)

	def host_full_name(self) -> str:
		return self.full_name or frappe.db.get_value("User", self.user, "full_name") or ""

	def validate_user(self):
		user = frappe.db.get_value("User", self.user, ["enabled", "user_type"], as_dict=True)
		if not user or not user.enabled or user.user_type != "System User":
			frappe.throw(_("A host must be an enabled desk user (System User)."), title=_("Not a host"))
		if not set(frappe.get_roles(self.user)) & set(ROLES):
			frappe.throw(
				_(
					"Give {0} the CRM Appointment User role first: a host works in the appointments they hold."
				).format(frappe.bold(self.user)),
				title=_("Not a host"),
			)

	def validate_time_zone(self):
		self.time_zone = (self.time_zone or "").strip() or None
		if self.time_zone and self.time_zone not in zoneinfo.available_timezones():
			frappe.throw(
				_("{0} is not a time zone. Use an IANA name such as Europe/Berlin.").format(
					frappe.bold(frappe.utils.escape_html(self.time_zone))
				)
			)

	def validate_hours(self):
		spans = []
		for row in self.working_hours:
			if row.day_of_week not in WEEKDAYS:
				frappe.throw(_("Row {0}: choose a day of the week.").format(row.idx))
			start, end = as_time(row.from_time), as_time(row.to_time)
			row.from_time, row.to_time = start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S")
			begin = WEEKDAYS.index(row.day_of_week) * MINUTES_A_DAY + start.hour * 60 + start.minute
			length = (end.hour * 60 + end.minute - start.hour * 60 - start.minute) % MINUTES_A_DAY
			spans.append((begin, begin + (length or MINUTES_A_DAY), row))
		for i, (begin, end, row) in enumerate(spans):
			for other_begin, other_end, other in spans[i + 1 :]:
				# Blocks repeat every week: compare each with the other shifted a week either way.
				if any(
					begin < other_end + shift and other_begin + shift < end
					for shift in (-MINUTES_A_WEEK, 0, MINUTES_A_WEEK)
				):
					frappe.throw(
						_("Rows {0} and {1} overlap: give each stretch of time once.").format(
							other.idx if other.idx < row.idx else row.idx, max(other.idx, row.idx)
						),
						title=_("Hours overlap"),
					)

	def validate_time_off(self):
		for row in self.time_off:
			if get_datetime(row.to_datetime) <= get_datetime(row.from_datetime):
				frappe.throw(_("Time off row {0}: To must be after From.").format(row.idx))

	def validate_calendar_connection(self):
		"""The CalDAV URL follows the app's outbound rule (checked after DNS) when the connection is on and
		its address or the switch changed; its state fields are the app's (the read jobs set them)."""
		self.caldav_url = (self.caldav_url or "").strip() or None
		self.caldav_username = (self.caldav_username or "").strip() or None
		before = None if self.is_new() else self.get_doc_before_save()
		# Known here, while a typed password is still in the document (Frappe stores it after validate).
		changed = self.flags.connection_changed = self.connection_changed()
		for fieldname in CONNECTION_STATE_FIELDS:
			self.set(fieldname, before.get(fieldname) if before and not changed else None)
		if not self.caldav_enabled:
			return
		if not self.caldav_url:
			frappe.throw(_("Give the CalDAV URL to connect the calendar."), title=_("No calendar address"))
		if self.flags.checked_url == self.caldav_url:
			return  # set_connection checked it before the save took the host's row
		if before is None or before.caldav_url != self.caldav_url or not before.caldav_enabled:
			check_calendar_url(self.caldav_url)

	def connection_changed(self) -> bool:
		before = self.get_doc_before_save()
		if before is None:
			return bool(self.caldav_enabled)
		password_typed = bool(self.caldav_password) and set(self.caldav_password) != {"*"}
		return password_typed or any(
			before.get(f) != self.get(f) for f in ("caldav_enabled", "caldav_url", "caldav_username")
		)

	def on_update(self):
		if self.flags.connection_changed:
			caldav_busy.forget(self.name)
			if self.caldav_enabled:
				caldav_copies.queue_reconcile(self.name)

	def keep_calendar_feed(self):
		"""A save (the form, /api/resource, Data Import) leaves the feed as it was: its address changes
		only through issue_calendar_feed and revoke_calendar_feed."""
		before = None if self.is_new() else self.get_doc_before_save()
		for fieldname in FEED_FIELDS:
			self.set(fieldname, before.get(fieldname) if before else None)
		if not self.calendar_feed_enabled:
			self.calendar_feed_enabled = 0

	@frappe.whitelist(methods=["POST"])
	def issue_calendar_feed(self) -> dict:
		"""Turn the feed on with a new secret address, or replace the address (the old one stops working
		at once). Returns the address: the only time it is shown."""
		stored = self.stored_for_calendar_feed()
		secret = calendar_feed.new_secret()
		self.db_set(
			{
				"calendar_feed_enabled": 1,
				"calendar_feed_hash": calendar_feed.hash_secret(secret),
				"calendar_feed_issued_on": now_datetime(),
			}
		)
		# Shown after the name of who did it (the comment's owner).
		self.add_comment(
			"Info",
			_("replaced the calendar feed's address; the old address no longer works.")
			if stored.calendar_feed_enabled
			else _("turned the calendar feed on."),
		)
		return {"url": calendar_feed.url(secret)}

	@frappe.whitelist(methods=["POST"])
	def revoke_calendar_feed(self):
		"""Turn the feed off: its address answers 404 from now on."""
		self.stored_for_calendar_feed()
		self.db_set({"calendar_feed_enabled": 0, "calendar_feed_hash": None, "calendar_feed_issued_on": None})
		self.add_comment("Info", _("turned the calendar feed off."))

	def stored_for_calendar_feed(self):
		"""The host as stored (locked), once the session user may manage its feed. Not this object's
		values: a desk call sends the document from the browser, and the user in it could be anyone."""
		stored = frappe.db.get_value(
			HOST, self.name, ["user", "full_name", "calendar_feed_enabled"], as_dict=True, for_update=True
		)
		if not stored:
			raise frappe.DoesNotExistError(_("{0} is not a host.").format(self.name))
		if not is_host_or_manager(stored.user):
			frappe.throw(
				_("Only {0} or a CRM Appointment Manager can turn this calendar feed on or off.").format(
					frappe.bold(frappe.utils.escape_html(stored.full_name or stored.user))
				),
				frappe.PermissionError,
				title=_("Not permitted"),
			)
		return stored


def check_calendar_url(url: str):
	"""The outbound rule for a CalDAV address (core/outbound.py, after DNS), as a clear refusal."""
	try:
		outbound.check_url(url)
	except outbound.UnsafeTargetError as error:
		frappe.throw(str(error), outbound.UnsafeTargetError, title=_("Calendar address refused"))


def is_host_or_manager(host_user: str | None, by: str | None = None) -> bool:
	"""Whether `by` (the session user) is the host whose user is `host_user`, or a manager: who may turn
	the host's calendar feed on or off, and see and change their calendar connection
	(ensure_may_manage_connection also asks that they may read the host: User Permissions narrow
	managers too)."""
	by = by or frappe.session.user
	if not host_user or by == "Guest":
		return False
	return by == host_user or bool(set(frappe.get_roles(by)) & set(HOST_MANAGERS))


def ensure_may_manage_connection(host: str):
	"""Refuse (403) whoever may not see and change the host's calendar connection; a host that does not
	exist is a 404. The one check of the rule (is_host_or_manager, and read permission on the
	host) for the controller's functions and the desk's (desk/calendar_connection.py)."""
	stored = frappe.db.get_value(HOST, host, ["user", "full_name"], as_dict=True) if host else None
	if not stored:
		raise frappe.DoesNotExistError(_("{0} is not a host.").format(frappe.utils.escape_html(host or "")))
	if not is_host_or_manager(stored.user) or not frappe.has_permission(HOST, "read", doc=host):
		frappe.throw(
			_("Only {0} or a CRM Appointment Manager can see or change this calendar connection.").format(
				frappe.bold(frappe.utils.escape_html(stored.full_name or stored.user))
			),
			frappe.PermissionError,
			title=_("Not permitted"),
		)


def connection_of(host: str) -> dict:
	"""The host's calendar connection as the desk shows it (never the password: only whether one is
	set), for the host themself or a manager; else a PermissionError."""
	ensure_may_manage_connection(host)
	values = frappe.db.get_value(
		HOST,
		host,
		["caldav_enabled", "caldav_url", "caldav_username", *CONNECTION_STATE_FIELDS],
		as_dict=True,
	)
	values["has_password"] = bool(caldav_busy.password_of(host))
	trouble = caldav_busy.unreadable([host]).get(host)
	if trouble:
		values["caldav_last_error"] = trouble["error"]
		values["caldav_error_since"] = caldav_busy.site_time(trouble["since"].timestamp())
	return values


def set_connection(host: str, url: str | None, username: str | None, password: str | None, enabled) -> None:
	"""Connect (or change, or with `enabled` false switch off) the host's CalDAV calendar, as the host
	themself or a manager (else a PermissionError). `password` None or empty keeps the one stored.
	The URL rule is the save's (validate_calendar_connection): a refused URL changes nothing."""
	ensure_may_manage_connection(host)
	url = (url or "").strip() or None
	if url and frappe.utils.cint(enabled):
		# The name is resolved before the save locks the host's row (bookings take that row): no DNS
		# wait while it is held. A save by other means (the form, /api/resource) checks in validate.
		check_calendar_url(url)
	doc = frappe.get_doc(HOST, host, for_update=True)
	doc.flags.checked_url = url
	doc.caldav_url = url
	doc.caldav_username = username
	if password:
		doc.caldav_password = password
	doc.caldav_enabled = 1 if frappe.utils.cint(enabled) else 0
	doc.flags.ignore_permissions = True  # a host who is a CRM Appointment User cannot write the record
	doc.save()


def weekly_summary(rows) -> str:
	"""The week's hours in one line a day, e.g. 'Mon 09:00-12:00, 13:00-17:00'."""
	by_day = {day: [] for day in WEEKDAYS}
	for row in rows:
		if row.day_of_week in by_day:
			by_day[row.day_of_week].append((as_time(row.from_time), as_time(row.to_time)))
	lines = []
	for day, blocks in by_day.items():
		if blocks:
			spans = ", ".join(
				f"{a:%H:%M}\u2013{b:%H:%M}" + (" " + _("(next day)") if b <= a else "")
				for a, b in sorted(blocks)
			)
			lines.append(f"{_(day)[:3]} {spans}")
	return "\n".join(lines) or _("No hours: not bookable.")
