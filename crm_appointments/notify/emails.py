"""The emails the app sends about an appointment: who gets them, what they say, how they are queued.

Mail goes through Frappe's Email Queue with an .ics invitation attached, and a Communication on the
appointment so it shows in the appointment's timeline.
"""

import json
from zoneinfo import ZoneInfo

import frappe
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.utils import format_datetime, get_datetime

from crm_appointments.calendars import ics
from crm_appointments.core import status_workflow as workflow
from crm_appointments.core.settings import (
	get_settings,
)
from crm_appointments.scheduling.host_calendars import host_name
from crm_appointments.scheduling.timezones import site_zone

REMINDER_TEMPLATE = "CRM Appointment Reminder"
CANCELLATION_TEMPLATE = "CRM Appointment Cancelled"
BOOKED_TEMPLATE = "CRM Appointment Booked"
RESCHEDULED_TEMPLATE = "CRM Appointment Rescheduled"

# Installed once; an admin may edit them freely, the app never writes them again.
TEMPLATES = {
	REMINDER_TEMPLATE: {
		"subject": "Reminder: your appointment on {{ start }}",
		"response": (
			"Dear {{ customer_name }},\n\n"
			"This is a reminder of your appointment on {{ start }}, for {{ duration }} minutes"
			" (in {{ reminder_text }}).\n\n"
			"{% if location %}Where: {{ location }}\n\n{% endif %}"
			"The invitation is attached; add it to your calendar.\n"
		),
	},
	CANCELLATION_TEMPLATE: {
		"subject": "Cancelled: your appointment on {{ start }}",
		"response": (
			"Dear {{ customer_name }},\n\n"
			"Your appointment on {{ start }} has been cancelled.\n\n"
			"The attached update removes it from your calendar.\n"
		),
	},
	# Self-service booking (booking.py). {{ manage_link }} is the customer's private link to move or
	# cancel the booking: the only place it is ever shown.
	BOOKED_TEMPLATE: {
		"subject": "Booked: your appointment on {{ start }}",
		"response": (
			"Dear {{ customer_name }},\n\n"
			"Your appointment on {{ start }} ({{ duration }} minutes, with {{ host_name }}) is booked.\n\n"
			"{% if location %}Where: {{ location }}\n\n{% endif %}"
			"The invitation is attached; add it to your calendar.\n\n"
			"To reschedule or cancel, use this private link (do not share it):\n{{ manage_link }}\n"
		),
	},
	RESCHEDULED_TEMPLATE: {
		"subject": "Moved: your appointment is now on {{ start }}",
		"response": (
			"Dear {{ customer_name }},\n\n"
			"Your appointment has moved to {{ start }} ({{ duration }} minutes, with {{ host_name }}).\n\n"
			"{% if location %}Where: {{ location }}\n\n{% endif %}"
			"The attached update moves it in your calendar.\n\n"
			"To reschedule or cancel again, use your private link:\n{{ manage_link }}\n"
		),
	},
}


def install_templates():
	for name, fields in TEMPLATES.items():
		if not frappe.db.exists("Email Template", name):
			frappe.get_doc({"doctype": "Email Template", "name": name, "use_html": 0, **fields}).insert(
				ignore_permissions=True
			)


def recipients(appointment) -> list[str]:
	"""The customer, the owner and the assignees, as the settings say; each address once. Of the
	users, only enabled desk users who may read the appointment (the mail holds what it does)."""
	settings = get_settings()
	users = []
	if settings.remind_owner and appointment.owner:
		users.append(appointment.owner)
	if settings.remind_assignees:
		users += json.loads(appointment.get("_assign") or "[]")
	emails = [appointment.customer_email] if settings.remind_customer else []
	if users:
		emails += [
			user.email
			for user in frappe.get_all(
				"User",
				filters={"name": ("in", users), "enabled": 1, "user_type": "System User"},
				fields=["name", "email"],
			)
			if frappe.has_permission(appointment.doctype, "read", doc=appointment, user=user.name)
		]
	seen, unique = set(), []
	for email in emails:
		if email and email.lower() not in seen and email.lower() != "guest@example.com":
			seen.add(email.lower())
			unique.append(email)
	return unique


def start_text(appointment, time_zone: str | None = None) -> str:
	"""The start in the site's time zone (or the one given), with the zone named."""
	start = get_datetime(appointment.scheduled_time)
	zone = site_zone()
	if time_zone and time_zone != zone.key:
		zone = ZoneInfo(time_zone)
		start = start.replace(tzinfo=site_zone()).astimezone(zone).replace(tzinfo=None)
	return f"{format_datetime(start, 'EEEE d MMMM yyyy, HH:mm')} ({zone.key})"


def duration_text(minutes: int) -> str:
	if minutes % 1440 == 0:
		days = minutes // 1440
		return frappe._("{0} day").format(days) if days == 1 else frappe._("{0} days").format(days)
	if minutes % 60 == 0:
		hours = minutes // 60
		return frappe._("{0} hour").format(hours) if hours == 1 else frappe._("{0} hours").format(hours)
	return frappe._("{0} minutes").format(minutes)


def render(template_name: str, appointment, **extra) -> tuple[str, str]:
	template = frappe.get_cached_doc("Email Template", template_name)
	context = {
		**appointment.as_dict(),
		"start": start_text(appointment),
		"status_label": workflow.label_of(appointment.status),
		**extra,
	}
	body = template.response_html if template.use_html else template.response
	if template.use_html and context.get("location"):
		context["location"] = frappe.utils.escape_html(context["location"])  # plain text goes in as text
	message = frappe.render_template(body or "", context)
	if not template.use_html:
		message = frappe.utils.escape_html(message).replace("\n", "<br>")
	if appointment.get("location") and "location" not in (body or ""):
		# A template written before appointments had a place (or edited without it) still says where.
		message += "<br><br>" + frappe.utils.escape_html(frappe._("Where: {0}").format(appointment.location))
	return frappe.render_template(template.subject or "", context), message


def why_not_sent(to: list[str]) -> str:
	"""Why `queue` queued nothing for these recipients."""
	if not to:
		return frappe._("No recipients")
	return frappe._("No default outgoing Email Account")


def queue(
	appointment,
	to: list[str],
	subject: str,
	message: str,
	cancel: bool = False,
	recorded: str | None = None,
) -> str | None:
	"""Queue one email (with the .ics) and record it on the appointment (`recorded`: what the timeline
	shows instead of the message, when that holds a secret). Returns the Email Queue name.

	The invitation's ORGANIZER is the address the mail is sent from, with the host's name: never a
	user's login email, which the customer has no business knowing."""
	if not to:
		return None
	account = EmailAccount.find_default_outgoing()
	if not account:
		# Say so on the appointment rather than fail the save or drop the mail without a trace.
		appointment.add_comment(
			"Info",
			frappe._("Not emailed ({0}): this site has no default outgoing Email Account.").format(subject),
		)
		return None
	communication = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Automated Message",
			"communication_medium": "Email",
			"sent_or_received": "Sent",
			"subject": subject,
			"content": message if recorded is None else recorded,
			"recipients": ", ".join(to),
			"reference_doctype": appointment.doctype,
			"reference_name": appointment.name,
		}
	).insert(ignore_permissions=True)
	organizer = account.email_id or f"appointments@{ics.uid_domain()}"
	organizer_name = host_name(appointment.get("host"))
	email = frappe.sendmail(
		recipients=to,
		subject=subject,
		message=message,
		reference_doctype=appointment.doctype,
		reference_name=appointment.name,
		communication=communication.name,
		attachments=[
			{
				"fname": "appointment.ics",
				"fcontent": ics.invitation(appointment, organizer, organizer_name, cancel=cancel),
			}
		],
		now=False,
	)
	return email.name if email else None


def send_reminder(appointment, minutes_before: int) -> tuple[str | None, list[str]]:
	settings = get_settings()
	to = recipients(appointment)
	subject, message = render(
		settings.reminder_template or REMINDER_TEMPLATE,
		appointment,
		reminder_text=duration_text(minutes_before),
	)
	return queue(appointment, to, subject, message), to


def send_cancellation(appointment) -> str | None:
	settings = get_settings()
	if not settings.send_cancellation:
		return None
	subject, message = render(settings.cancellation_template or CANCELLATION_TEMPLATE, appointment)
	return queue(appointment, recipients(appointment), subject, message, cancel=True)


# -- self-service booking -----------------------------------------------------------------------------


def send_booking_confirmation(appointment, manage_link: str, time_zone: str | None = None) -> str | None:
	"""To the customer only (the mail carries their private manage link), with the invitation."""
	return _send_to_customer(BOOKED_TEMPLATE, appointment, manage_link, time_zone)


def send_booking_update(appointment, manage_link: str, time_zone: str | None = None) -> str | None:
	"""The customer moved their booking: the updated invitation (same UID, higher SEQUENCE)."""
	return _send_to_customer(RESCHEDULED_TEMPLATE, appointment, manage_link, time_zone)


def _send_to_customer(template: str, appointment, manage_link: str, time_zone: str | None) -> str | None:
	host = appointment.host
	subject, message = render(
		template,
		appointment,
		start=start_text(appointment, time_zone),
		host_name=host_name(host) or "",
		manage_link=manage_link,
	)
	# Plain-text templates are escaped whole; the link (the app's own URL) is made clickable.
	# The timeline's copy leaves the link out: it is the customer's alone.
	escaped = frappe.utils.escape_html(manage_link)
	recorded = message.replace(escaped, frappe._("[the customer's private manage link]"))
	message = message.replace(escaped, f'<a href="{escaped}">{escaped}</a>')
	return queue(appointment, [appointment.customer_email], subject, message, recorded=recorded)
