"""host_calendars' reads against the real database: the busy time read as one row per host equals
the busy time read row by row, also when the server cuts the joined list short; and the overlap
rule's read outside the transaction survives the server closing its connection."""

from datetime import timedelta

import frappe
import pytest

from crm_appointments.scheduling import host_calendars
from crm_appointments.scheduling.timezones import as_utc
from tests import factories


@pytest.fixture
def booked():
	"""The test user as a host with a dozen live appointments (and a cancelled one) in three days."""
	host = factories.host("user").name
	first = factories.future(days=2).replace(minute=0, second=0)
	for i in range(12):
		factories.make(
			status="Scheduled", host=host, duration=15 + 5 * i, scheduled_time=first + timedelta(hours=5 * i)
		)
	cancelled = factories.make(status="Draft", host=host, scheduled_time=first + timedelta(minutes=30))
	cancelled.status = "Cancelled"
	cancelled.save()
	return host, as_utc(first), as_utc(first + timedelta(days=3))


def test_busy_time_read_joined_equals_busy_time_read_row_by_row(booked):
	host, since, until = booked
	values = host_calendars.range_values([host], since, until, (0, 10))
	joined = host_calendars.joined_rows(values)
	rows = frappe.db.sql(
		f"select host, scheduled_time, duration, appointment_type from {host_calendars.BY_RANGE}", values
	)
	assert sorted(joined) == sorted(rows)
	assert len(joined) == 12  # the cancelled one is not live

	busy = sorted(host_calendars.busy_intervals([host], since, until, 10)[host])
	assert len(busy) == 12
	assert all(end - start == timedelta(minutes=15 + 5 * i + 10) for i, (start, end) in enumerate(busy))


def test_a_joined_list_cut_short_by_the_server_is_read_row_by_row(booked):
	host, since, until = booked
	whole = sorted(host_calendars.busy_intervals([host], since, until, 0)[host])
	frappe.db.sql("set session group_concat_max_len = 4")  # the server's least
	try:
		assert host_calendars.joined_rows(host_calendars.range_values([host], since, until, (0, 0))) is None
		assert sorted(host_calendars.busy_intervals([host], since, until, 0)[host]) == whole
	finally:
		frappe.db.sql("set session group_concat_max_len = default")
	assert len(whole) == 12


def test_the_read_outside_the_transaction_reconnects_once_its_connection_is_gone():
	db = host_calendars.own_connection()
	assert host_calendars.committed_now("select 1", {}) == ((1,),)
	connection_id = db.sql("select connection_id()")[0][0]
	db.rollback()
	frappe.db.sql("kill connection %s", connection_id)  # as a server restart or idle timeout would
	assert host_calendars.committed_now("select connection_id()", {})[0][0] != connection_id


def test_the_read_outside_the_transaction_sees_what_was_committed_after_its_snapshot(committed):
	"""The reason it exists: this transaction's snapshot is older than another's commit."""
	host = factories.host("user").name
	frappe.db.commit()
	since, until = as_utc(factories.future(days=3)), as_utc(factories.future(days=4))
	values = host_calendars.range_values([host], since, until, (0, 0))
	query = f"select name from {host_calendars.BY_RANGE}"
	assert frappe.db.sql(query, values) == ()  # the snapshot is taken now
	# Another transaction books the host, and commits (the second connection is one like any other).
	other = host_calendars.own_connection()
	other.sql(
		"""insert into `tabCRM Appointment` (name, creation, modified, customer_name, customer_email,
		scheduled_time, duration, status, host) values ('appointment_racetest', now(), now(), 'Race',
		'race@example.com', %s, 30, 'Scheduled', %s)""",
		(factories.future(days=3, hours=12), host),
	)
	other.commit()
	try:
		assert frappe.db.sql(query, values) == ()  # the snapshot does not see it
		assert host_calendars.committed_now(query, values) == (("appointment_racetest",),)
		assert not host_calendars.busy_intervals([host], since, until, 0)[host]
		assert host_calendars.busy_intervals([host], since, until, 0, locking=True)[host]
	finally:
		frappe.db.rollback()  # the locking read holds the row
		other.sql("delete from `tabCRM Appointment` where name = 'appointment_racetest'")
		other.commit()
