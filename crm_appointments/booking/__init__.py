"""Self-service booking: its rules (book, cancel, reschedule, whether booking is open) and the manage links."""
