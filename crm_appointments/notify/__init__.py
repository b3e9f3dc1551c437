"""Telling people: the emails and who gets them, the reminder job, the host as the appointment's assignee."""
