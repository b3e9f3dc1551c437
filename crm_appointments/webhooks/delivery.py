"""Delivering events: background jobs on Frappe's queue, after the commit, with retries.

- **After the commit.** events.py writes each event's first try (a Queued row) in the transaction of
  the change and calls `nudge_after_commit`; once that transaction commits, a job (`deliver`) is
  queued for each endpoint the events went to, unless one is already queued and not yet started (a
  flag in Redis; that job reads the rows when it starts). A rollback drops the rows and the nudge
  together. Should the queue be unreachable then, the rows stay Queued and the retry job picks them
  up a minute later: an event is never lost to a Redis outage.
- **In order.** For one endpoint and one appointment, first tries go out in the order the events
  happened (the rows' names): `deliver` takes the oldest Queued first try of a lane (an endpoint and an
  appointment) only when no first try of that lane is being sent, and drains the lane. Another job
  finding the lane busy leaves it to the one sending. A failed try does not hold the lane up: its
  retry goes later, on its own, so after a retry a receiver may get an older event after a newer one,
  and tells by the object's `updated_at`.
- **Each once.** A worker takes a row by moving it from Queued to Sending under the row's lock and
  committing; whoever finds it moved leaves it.
- **Retries.** A non-2xx answer (a redirect too: redirects are not followed), no answer within the
  timeout (10 s; site config `crm_webhook_timeout`), a refused address or a connection error is a
  failed try. A failed automatic try queues the next one after RETRY_WAITS (1 min, 5 min, 30 min, 2 h,
  6 h, 16 h: seven tries over about a day), which the scheduler's `send_due_retries` (every minute)
  hands to a job per endpoint. An endpoint whose every try has failed for a day (`failing_since`) is
  switched off, its queued tries skipped, and its owner told (a desk notification and an email).
- **Safe.** Before each try: the endpoint is enabled (Resend and Send Test Event work on a disabled
  one), its owner may read the appointment (frappe.has_permission; else the try is skipped and says
  why), and its URL passes core/outbound.py's rule, which the connection is held to as well.

Every try is a CRM Appointment Webhook Delivery row: its answer's status code, how long it took, the
error, and the next try's time.
"""

import json
import time
from datetime import timedelta

import frappe
import requests
from frappe import _
from frappe.utils import add_to_date, format_datetime, get_datetime, now_datetime
from frappe.utils.password import get_decrypted_password

from crm_appointments.core import outbound
from crm_appointments.core.names import APPOINTMENT, WEBHOOK, WEBHOOK_DELIVERY
from crm_appointments.crm_appointments.doctype.crm_appointment_webhook_delivery.crm_appointment_webhook_delivery import (
	EVENT,
	FAILED,
	QUEUED,
	RETRY,
	SENDING,
	SKIPPED,
	SUCCEEDED,
	TEST,
)
from crm_appointments.webhooks import signing

TIMEOUT = 10  # seconds without an answer that make a try fail; the site config's key wins
TIMEOUT_CONFIG = "crm_webhook_timeout"
# The wait after each failed automatic try: the 7th and last try goes about 24.6 hours after the first.
RETRY_WAITS = (60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 16 * 3600)
DISABLE_AFTER = timedelta(days=1)
# A first try still Queued this long after its event: its job was lost (Redis down at the commit, a
# worker killed); the retry job sends it.
LOST_AFTER = timedelta(minutes=1)
# A try left Sending this long past the timeout: its worker died; counted as a failed try.
STALLED_AFTER = timedelta(minutes=5)
# How long the flag that a deliver job is queued lives, should its job be lost.
PENDING_SECONDS = 300
KEEP_DAYS = 30  # the log of finished tries
EXCERPT = 300  # characters of a failed answer's body kept in the log
MAX_BODY_READ = 64 * 1024  # an answer's body is read (for the log, and to reuse its connection) up to this
BATCH = 500
QUEUE = "short"
DELIVER_JOB = "crm_appointments.webhooks.delivery.deliver"
RETRY_JOB = "crm_appointments.webhooks.delivery.deliver_retries"
USER_AGENT = "crm_appointments-webhooks/1"
AUTOMATIC = (EVENT, RETRY)


def timeout() -> float:
	return float(frappe.conf.get(TIMEOUT_CONFIG) or TIMEOUT)


# -- queueing -------------------------------------------------------------------------------------


def queue_job(method: str, **kwargs):
	"""Hand a job to Frappe's queue. (The tests put a recorder here and run the jobs themselves.)"""
	frappe.enqueue(method, queue=QUEUE, **kwargs)


def nudge_after_commit(webhooks):
	"""Queue delivery to these endpoints once the current transaction commits."""
	state = getattr(frappe.local, "crm_webhook_pending", None)
	if state is None or state[0] is not frappe.db:
		state = (frappe.db, set())
		frappe.local.crm_webhook_pending = state
		frappe.db.after_commit.add(queue_pending)
		frappe.db.after_rollback.add(forget_pending)
	state[1].update(webhooks)


def queue_pending():
	"""After a commit: a `deliver` job for each endpoint that got events, unless one is queued and not
	yet started (it will read these rows when it starts: they are committed). So a burst of writes
	makes a handful of jobs, not one each."""
	state, frappe.local.crm_webhook_pending = getattr(frappe.local, "crm_webhook_pending", None), None
	for webhook in sorted(state[1] if state else ()):
		try:
			if not frappe.cache.set(pending_key(webhook), 1, nx=True, ex=PENDING_SECONDS):
				continue
		except Exception:  # Redis away: queue anyway (a spare job finds nothing to do)
			pass
		try:
			queue_job(DELIVER_JOB, webhook=webhook)
		except Exception:  # committed already: the retry job sends them (LOST_AFTER)
			frappe.logger("crm_appointments").exception("webhook delivery could not be queued")
			release_pending(webhook)


def forget_pending():
	frappe.local.crm_webhook_pending = None


def pending_key(webhook: str) -> str:
	"""The flag that a deliver job for the endpoint is queued and not yet started (the site's key)."""
	return frappe.cache.make_key(f"crm_webhook_pending:{webhook}")


def release_pending(webhook: str):
	try:
		frappe.cache.delete(pending_key(webhook))
	except Exception:  # Redis away: the flag expires (PENDING_SECONDS)
		pass


def insert_try(
	webhook: str,
	event_id: str,
	event_type: str,
	appointment: str,
	body: str,
	trigger: str,
	attempt: int,
	next_try,
) -> int:
	"""A Queued try, in the current transaction (a plain insert: this runs inside every save that
	raises an event). Named from the DocType's sequence, which Frappe makes without a cache: names
	follow the order of the inserts, across connections too."""
	name = frappe.db.get_next_sequence_val(WEBHOOK_DELIVERY)
	now, user = now_datetime(), frappe.session.user
	frappe.db.sql(
		f"""insert into `tab{WEBHOOK_DELIVERY}` (name, creation, modified, owner, modified_by, docstatus,
			idx, webhook, event_id, event_type, appointment, `trigger`, attempt, state, next_try, payload)
		values (%s, %s, %s, %s, %s, 0, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
		(
			name,
			now,
			now,
			user,
			user,
			webhook,
			event_id,
			event_type,
			appointment,
			trigger,
			attempt,
			QUEUED,
			next_try,
			body,
		),
	)
	return name


# -- the jobs -------------------------------------------------------------------------------------


def deliver(webhook: str):
	"""The job queued after a commit: send the endpoint's queued first tries, each appointment's in
	order, until none is left that no other worker is sending."""
	release_pending(webhook)  # from now on, a commit queues another job: this one may have read already
	sender = Sender()
	while True:
		sent = 0
		for appointment in frappe.db.sql_list(
			f"""select appointment from `tab{WEBHOOK_DELIVERY}`
			where webhook = %s and `trigger` = %s and state = %s
			group by appointment order by min(name) limit {BATCH}""",
			(webhook, EVENT, QUEUED),
		):
			while (row := claim_lane_head(webhook, appointment)) is not None:
				sender.send(row)
				sent += 1
		if not sent:
			return


def send_due_retries(now=None) -> int:
	"""The scheduler's job (every minute): recover tries whose worker died, send first tries whose job
	was lost, and queue a job per endpoint for its due retries. The number of jobs queued."""
	now = get_datetime(now) if now else now_datetime()
	recover_stalled(now)
	queued = 0
	for webhook in frappe.db.sql_list(
		f"""select distinct webhook from `tab{WEBHOOK_DELIVERY}`
		where state = %s and next_try <= %s and `trigger` = %s""",
		(QUEUED, now - LOST_AFTER, EVENT),
	):
		queue_job(DELIVER_JOB, webhook=webhook)
		queued += 1
	for webhook in frappe.db.sql_list(
		f"""select distinct webhook from `tab{WEBHOOK_DELIVERY}`
		where state = %s and next_try <= %s and `trigger` = %s""",
		(QUEUED, now, RETRY),
	):
		queue_job(
			RETRY_JOB,
			webhook=webhook,
			now=str(now),
			job_id=f"crm-webhook-retries-{webhook}",
			deduplicate=True,
		)
		queued += 1
	return queued


def deliver_retries(webhook: str, now=None):
	"""One endpoint's retries that are due (a job per endpoint: a silent one delays only its own)."""
	now = get_datetime(now) if now else now_datetime()
	names = frappe.db.sql_list(
		f"""select name from `tab{WEBHOOK_DELIVERY}`
		where webhook = %s and state = %s and `trigger` = %s and next_try <= %s order by name limit {BATCH}""",
		(webhook, QUEUED, RETRY, now),
	)
	sender = Sender()
	for name in names:
		if row := claim(name):
			sender.send(row)


def recover_stalled(now):
	"""Tries left Sending by a worker that died: a failed try each (it may have arrived; receivers
	know an event by its id), with its retry queued."""
	cutoff = now - STALLED_AFTER - timedelta(seconds=timeout())
	for name in frappe.db.sql_list(
		f"select name from `tab{WEBHOOK_DELIVERY}` where state = %s and claimed_at < %s limit {BATCH}",
		(SENDING, cutoff),
	):
		row = frappe.db.sql(
			f"select name from `tab{WEBHOOK_DELIVERY}` where name = %s and state = %s and claimed_at < %s for update",
			(name, SENDING, cutoff),
		)
		if row:
			row = load_try(name)
			error = _("No outcome was recorded: the worker stopped during the try (it may have arrived).")
			finish(row, Outcome(FAILED, error=error), endpoint(row.webhook))
		else:
			frappe.db.commit()


def delete_old_deliveries():
	"""Daily: the log keeps KEEP_DAYS days of finished tries."""
	cutoff = add_to_date(now_datetime(), days=-KEEP_DAYS)
	while names := frappe.db.sql_list(
		f"""select name from `tab{WEBHOOK_DELIVERY}` where creation < %s and state not in (%s, %s) limit 1000""",
		(cutoff, QUEUED, SENDING),
	):
		frappe.db.delete(WEBHOOK_DELIVERY, {"name": ("in", names)})
		frappe.db.commit()


def send_now(webhook: str, event_id: str, event_type: str, appointment: str, body: str, trigger: str) -> dict:
	"""Send one event to an endpoint now, in this process (the desk's Resend and Send Test Event), as a
	try of its own (numbered after the event's earlier tries; never retried). Commits. Its outcome."""
	attempt = 1 + (
		frappe.db.sql(
			f"select max(attempt) from `tab{WEBHOOK_DELIVERY}` where event_id = %s and webhook = %s",
			(event_id, webhook),
		)[0][0]
		or 0
	)
	name = insert_try(webhook, event_id, event_type, appointment, body, trigger, attempt, now_datetime())
	frappe.db.commit()
	if row := claim(name):
		Sender().send(row)
	return frappe.db.get_value(
		WEBHOOK_DELIVERY, name, ["name", "state", "status_code", "duration", "error"], as_dict=True
	)


# -- taking a try ---------------------------------------------------------------------------------


def claim_lane_head(webhook: str, appointment: str):
	"""The lane's oldest queued first try, now Sending and ours; None when the lane is empty or another
	worker is sending in it (which then sends the rest)."""
	rows = frappe.db.sql(
		f"""select name, state from `tab{WEBHOOK_DELIVERY}`
		where appointment = %s and webhook = %s and `trigger` = %s and state in (%s, %s)
		order by name limit 1""",
		(appointment, webhook, EVENT, QUEUED, SENDING),
	)
	if not rows or rows[0][1] != QUEUED:
		return None
	return claim(rows[0][0])


def claim(name: int):
	"""Move a Queued try to Sending under its row lock, and commit: the try, now ours; None if someone
	moved it first."""
	row = load_try(name, lock=True)
	if not row or row.state != QUEUED:
		frappe.db.commit()
		return None
	now = now_datetime()
	frappe.db.sql(
		f"update `tab{WEBHOOK_DELIVERY}` set state = %s, claimed_at = %s, modified = %s where name = %s",
		(SENDING, now, now, name),
	)
	frappe.db.commit()
	return row


# Plain SQL on the path of every try: Frappe's get_value parses its field list each call.
TRY_FIELDS = "name, webhook, event_id, event_type, appointment, `trigger`, attempt, payload, state"


def load_try(name: int, lock: bool = False):
	rows = frappe.db.sql(
		f"select {TRY_FIELDS} from `tab{WEBHOOK_DELIVERY}` where name = %s{' for update' if lock else ''}",
		(name,),
		as_dict=True,
	)
	return rows[0] if rows else None


class Outcome:
	def __init__(self, state, status_code=None, duration=None, error=None, sent_at=None, url=None):
		self.state, self.status_code, self.duration = state, status_code, duration
		self.error, self.sent_at, self.url = error, sent_at, url


class Sender:
	"""Sends tries one after another (one job's): one HTTP session, each endpoint's secret read once."""

	def __init__(self):
		self.session = outbound.guarded_session()
		self.secrets = {}

	def send(self, row):
		"""Send a try this worker has claimed, and record what happened (committed)."""
		hook = endpoint(row.webhook)
		if hook is None:
			finish(row, Outcome(SKIPPED, error=_("The endpoint was deleted.")))
		elif not hook.enabled and row.trigger in AUTOMATIC:
			finish(row, Outcome(SKIPPED, error=_("The endpoint is switched off."), url=hook.url), hook)
		elif row.trigger != TEST and (why := owner_may_not_read(hook.owner, row.appointment)):
			finish(row, Outcome(SKIPPED, error=why, url=hook.url), hook)
		else:
			finish(row, self.post(hook, row.payload.encode()), hook)

	def post(self, hook, body: bytes) -> Outcome:
		seconds = timeout()
		sent_at = now_datetime()
		started = time.perf_counter()

		def outcome(state, status_code=None, error=None):
			duration = round((time.perf_counter() - started) * 1000, 1)
			return Outcome(state, status_code, duration, error, sent_at, hook.url)

		try:
			outbound.check_url(hook.url)
			stamp = int(time.time())
			response = self.session.post(
				hook.url,
				data=body,
				headers={
					"Content-Type": "application/json; charset=utf-8",
					"User-Agent": USER_AGENT,
					signing.HEADER: signing.header_value(self.secret(hook.name), stamp, body),
				},
				timeout=(seconds, seconds),
				allow_redirects=False,
				stream=True,
			)
		except outbound.UnsafeTargetError as exc:
			return outcome(FAILED, error=str(exc))
		except requests.Timeout:
			return outcome(FAILED, error=_("No answer within {0} seconds.").format(f"{seconds:g}"))
		except requests.RequestException as exc:
			return outcome(FAILED, error=_("Could not connect: {0}").format(exc))
		try:
			text = read_small_body(response)
			if 200 <= response.status_code < 300:
				return outcome(SUCCEEDED, response.status_code)
			return outcome(FAILED, response.status_code, answer_excerpt(response, text))
		finally:
			response.close()

	def secret(self, webhook: str) -> str:
		if webhook not in self.secrets:
			self.secrets[webhook] = get_decrypted_password(WEBHOOK, webhook, "secret")
		return self.secrets[webhook]


def finish(row, outcome: Outcome, hook=None):
	"""Record the try's outcome; after a failed automatic try, queue the next (or, the endpoint
	having failed for a day, switch it off). One commit."""
	values = {
		"state": outcome.state,
		"status_code": outcome.status_code or 0,
		"duration": outcome.duration or 0,
		"error": (outcome.error or "")[:1000] or None,
		"sent_at": outcome.sent_at,
		"url": outcome.url,
		"next_try": None,
	}
	automatic = row.trigger in AUTOMATIC
	switched_off = hook is not None and record_health(hook, outcome.state, automatic)
	if (
		outcome.state == FAILED
		and automatic
		and not switched_off
		and row.attempt <= len(RETRY_WAITS)
		and hook is not None
		and hook.enabled
	):
		values["next_try"] = add_to_date(now_datetime(), seconds=RETRY_WAITS[row.attempt - 1])
		insert_try(
			row.webhook,
			row.event_id,
			row.event_type,
			row.appointment,
			row.payload,
			RETRY,
			row.attempt + 1,
			values["next_try"],
		)
	values["modified"] = now_datetime()
	frappe.db.sql(
		f"update `tab{WEBHOOK_DELIVERY}` set {', '.join(f'`{k}` = %({k})s' for k in values)} where name = %(name)s",
		{**values, "name": row.name},
	)
	frappe.db.commit()


def read_small_body(response) -> str:
	"""The answer's body when it says it is small (read whole, its connection carries the next try);
	else nothing is read (closing the answer drops its connection)."""
	try:
		if 0 <= int(response.headers.get("Content-Length", "")) <= MAX_BODY_READ:
			return response.content.decode("utf-8", "replace")
	except (ValueError, requests.RequestException):  # no length, or a body that did not come in time
		pass
	return ""


def answer_excerpt(response, text: str) -> str:
	status = response.status_code
	if 300 <= status < 400:
		where = response.headers.get("Location", "")
		return _("Answered {0} (redirects are not followed): {1}").format(status, where)[:EXCERPT]
	return _("Answered {0}: {1}").format(status, text[:EXCERPT]).strip()[:EXCERPT]


def endpoint(webhook: str):
	rows = frappe.db.sql(
		f"select name, url, enabled, owner, failing_since from `tab{WEBHOOK}` where name = %s",
		(webhook,),
		as_dict=True,
	)
	return rows[0] if rows else None


# -- who may receive what -------------------------------------------------------------------------


def owner_may_not_read(owner: str, appointment: str) -> str | None:
	"""Why the endpoint's owner may not be sent this appointment (None: they may read it). A deleted
	appointment is checked as its copy in Deleted Document."""
	if not frappe.get_cached_value("User", owner, "enabled"):
		return _("Not sent: the endpoint's owner {0} is disabled.").format(owner)
	doc = appointment_as_kept(appointment)
	if doc is None:
		return _("Not sent: appointment {0} is gone, and no copy is kept to check who may read it.").format(
			appointment
		)
	if not frappe.has_permission(APPOINTMENT, "read", doc=doc, user=owner):
		return _("Not sent: the endpoint's owner {0} may not read appointment {1}.").format(
			owner, appointment
		)
	return None


def appointment_as_kept(name: str):
	try:
		return frappe.get_doc(APPOINTMENT, name)
	except frappe.DoesNotExistError:
		frappe.clear_last_message()
	kept = frappe.get_all(
		"Deleted Document",
		filters={"deleted_doctype": APPOINTMENT, "deleted_name": name},
		fields=["data"],
		order_by="creation desc",
		limit=1,
	)
	return frappe.get_doc(json.loads(kept[0].data)) if kept else None


# -- an endpoint's health -------------------------------------------------------------------------


def record_health(hook, state: str, automatic: bool) -> bool:
	"""A success clears the endpoint's failing_since; an automatic try that fails sets it, or, when
	every try has failed for DISABLE_AFTER, switches the endpoint off. True if it was switched off."""
	if state == SUCCEEDED and hook.failing_since:
		frappe.db.set_value(WEBHOOK, hook.name, "failing_since", None, update_modified=False)
		hook.failing_since = None
	elif state == FAILED and automatic and hook.enabled:
		now = now_datetime()
		if not hook.failing_since:
			frappe.db.set_value(WEBHOOK, hook.name, "failing_since", now, update_modified=False)
			hook.failing_since = now
		elif get_datetime(hook.failing_since) <= now - DISABLE_AFTER:
			switch_off(hook, now)
			return True
	return False


def switch_off(hook, now):
	"""Switch a failing endpoint off, skip what it still had queued, and tell its owner."""
	reason = _("Switched off on {0}: every try since {1} failed.").format(
		format_datetime(now), format_datetime(hook.failing_since)
	)
	frappe.db.set_value(WEBHOOK, hook.name, {"enabled": 0, "disabled_reason": reason})
	hook.enabled = 0
	frappe.db.sql(
		f"update `tab{WEBHOOK_DELIVERY}` set state = %s, error = %s, modified = %s where webhook = %s and state = %s",
		(SKIPPED, _("Not sent: the endpoint was switched off."), now, hook.name, QUEUED),
	)
	tell_owner(hook, reason)


def tell_owner(hook, reason: str):
	subject = _("Webhook switched off: {0}").format(hook.url)
	message = (
		frappe.utils.escape_html(reason)
		+ "<br>"
		+ _("Fix the receiver, then switch the webhook on again; resend what it missed from its deliveries.")
	)
	frappe.get_doc(
		{
			"doctype": "Notification Log",
			"for_user": hook.owner,
			"type": "Alert",
			"document_type": WEBHOOK,
			"document_name": hook.name,
			"subject": frappe.utils.escape_html(subject),
			"email_content": message,
		}
	).insert(ignore_permissions=True)
	email = frappe.db.get_value("User", hook.owner, "email")
	if not email:
		return
	try:
		frappe.sendmail(
			recipients=[email],
			subject=subject,
			message=message,
			reference_doctype=WEBHOOK,
			reference_name=hook.name,
		)
	except frappe.OutgoingEmailError:  # no outgoing account: the desk notification stays
		# (error: Frappe's loggers drop anything less outside developer mode)
		frappe.logger("crm_appointments").error(
			"could not mail %s that %s was switched off", email, hook.name
		)
