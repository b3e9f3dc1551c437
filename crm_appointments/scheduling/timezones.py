"""The site's time zone: Frappe stores datetimes naive, in it."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from frappe.utils import get_datetime, get_system_timezone


def site_zone() -> ZoneInfo:
	return ZoneInfo(get_system_timezone())


def zone_of(time_zone: str | None) -> ZoneInfo:
	"""A host's (or anyone's) time zone by name; the site's when none is set."""
	return ZoneInfo(time_zone) if time_zone else site_zone()


def as_utc(value) -> datetime:
	"""A stored datetime (naive, in the site's time zone) or an aware one, as an aware UTC datetime."""
	moment = get_datetime(value)
	if moment.tzinfo is None:
		moment = moment.replace(tzinfo=site_zone())
	return moment.astimezone(timezone.utc)


def iso_utc(value) -> str | None:
	"""A stored datetime (naive, in the site's time zone) or an aware one as ISO 8601 UTC with Z, to
	the second: how the API and the pages write every time. None stays None."""
	if value is None:
		return None
	utc = as_utc(value)
	return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
