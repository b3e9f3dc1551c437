#!/usr/bin/env bash
# The README's screenshots, taken from the real pages of this checkout by the browser tests that
# visit them (tests/test_desk_browser.py::test_the_pages_shown_in_the_readme, the Host form and Find
# a time in tests/test_desk_hosts_browser.py, and the feed setting in
# tests/test_calendar_feed.py::test_the_host_turns_the_feed_on_and_off_in_the_desk_as_the_readme_shows,
# and the Connect calendar dialog in tests/test_calendar_connection_browser.py), into docs/screenshots.
#   bash scripts/screenshots.sh            the desk
#   bash scripts/screenshots.sh --booking  the booking pages at phone and desktop width
#                                          (tests/test_booking_browser.py)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

shots="$(mktemp -d /tmp/crm-screenshots.XXXXXX)"
trap 'rm -rf "$shots"' EXIT
chown "$BENCH_USER" "$shots" 2>/dev/null || true
if [ "${1:-}" = --booking ]; then
	CRM_SCREENSHOTS_DIR="$shots" bash scripts/test.sh tests/test_booking_browser.py tests/test_booking_types_browser.py \
		-k "books_a_free_time or reschedules_through or booking_is_off or lists_the_public_types"
else
	CRM_SCREENSHOTS_DIR="$shots" bash scripts/test.sh tests/test_desk_browser.py tests/test_desk_hosts_browser.py \
		tests/test_calendar_feed.py tests/test_calendar_connection_browser.py \
		-k "test_the_pages_shown_in_the_readme or test_find_a_time_offers or test_a_manager_sets_up_a_host or test_a_manager_sets_up_a_type or as_the_readme_shows or connects_their_calendar"
fi
mkdir -p docs/screenshots
cp "$shots"/*.png docs/screenshots/
ls -l docs/screenshots
