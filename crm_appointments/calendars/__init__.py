"""Calendars: the Frappe Event kept in step with each appointment, a host's .ics feed, iCalendar, who sees the app's Events."""
