"""The REST contract at /api/crm/appointment.

Filled in by the REST issue: it translates HTTP to CRM Appointment documents and back and holds
no business rule of its own (those live in the DocType's controller).
"""
