"""The app's bench commands."""

import click
from frappe.commands import get_site, pass_context


@click.command("reconcile-appointment-counts")
@pass_context
def reconcile_appointment_counts(context):
	"""Recount the kept appointment counts by status (what the REST list's total reads) and repair
	any that writes around the document API left wrong."""
	import frappe

	from crm_appointments.records import status_counts as appointment_counts

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		wrong = appointment_counts.reconcile()
	finally:
		frappe.destroy()
	for status, (kept, counted) in sorted(wrong.items()):
		click.echo(f"{status or '(no status)'}: kept {kept}, counted {counted}; repaired")
	click.echo(f"{len(wrong)} count(s) repaired" if wrong else "all counts were exact")


commands = [reconcile_appointment_counts]
