"""Appointment types arrive: a site that had none gets the `appointment` type made from its booking
settings, and each host a public handle made from their name (setup/install.py does the same for a
new install)."""

from crm_appointments.setup.install import make_default_type, make_host_slugs


def execute():
	make_default_type()
	make_host_slugs()
