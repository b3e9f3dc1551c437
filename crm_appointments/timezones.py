"""The site's time zone: Frappe stores datetimes naive, in it."""

from zoneinfo import ZoneInfo

from frappe.utils import get_system_timezone


def site_zone() -> ZoneInfo:
	return ZoneInfo(get_system_timezone())
