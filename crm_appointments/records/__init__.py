"""What an appointment's rows need beyond the document: what it takes along when deleted, the exact counts by status, atomic claims."""
