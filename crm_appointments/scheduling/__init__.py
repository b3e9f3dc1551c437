"""When a host can be booked: the pure arithmetic of hours and slots, hosts and their appointments read into it, time zones."""
