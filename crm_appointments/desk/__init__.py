"""The desk: the calendar view, saved filters and board, the boot info, titles, counts and link searches."""
