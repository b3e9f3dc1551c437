#!/usr/bin/env bash
# The REST API benchmark (benchmarks/api_benchmark.py) on the test site of the bench.
#   bash scripts/benchmark.sh [requests per endpoint]
#   bash scripts/benchmark.sh --reminders      the reminder job at 100,000 rows
#   bash scripts/benchmark.sh --booking [N]    a guest's booking end to end, and GET /book
#   bash scripts/benchmark.sh --booking --concurrent [N]
#                                              1, 4 and 8 guests booking at once through two servers
#   bash scripts/benchmark.sh --scale [--rows N --requests N --concurrency N --memory-requests N
#                                     --deep-requests N]
#                                              the API at 1,000,000 rows beside /api/resource
#   bash scripts/benchmark.sh --feed [--appointments N --requests N]
#                                              a host's calendar feed: full, 304, HEAD, 404
#   bash scripts/benchmark.sh --hosts [--appointments N --requests N --rows N --saves N]
#                                              GET /api/crm/slots for 5 hosts over 31 days, and the
#                                              overlap rule's cost on a save at 1,000,000 rows;
#                                              then the slots with the 5 hosts on CalDAV (Radicale),
#                                              warm, and a booking's re-read (--no-caldav skips it)
#   bash scripts/benchmark.sh --webhooks [--creates N --events N]
#                                              what raising webhook events adds to a create, and
#                                              the events one worker delivers a second
set -euo pipefail
cd "$(dirname "$0")/.."
APP_SOURCE="$(pwd)"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
TEST_SITE="${TEST_SITE:-crm-test.localhost}"
require_bench
ensure_services
[ -f "$FRAPPE_BENCH/sites/$TEST_SITE/site_config.json" ] || die "no site $TEST_SITE: run scripts/test.sh once first"
case "${1:-}" in
--reminders) script=reminder_benchmark.py; shift ;;
--scale) script=scale_benchmark.py; shift ;;
--feed) script=calendar_feed_benchmark.py; shift ;;
--booking)
	shift
	if [ "${1:-}" = --concurrent ]; then
		script=booking_concurrency_benchmark.py
		shift
	else
		script=booking_benchmark.py
	fi
	;;
--hosts) script=host_benchmark.py; shift ;;
--webhooks) script=webhook_benchmark.py; shift ;;
*) script=api_benchmark.py ;;
esac
RUN_IN="$APP_SOURCE" as_bench PYTHONPATH="$APP_SOURCE" PYTHONDONTWRITEBYTECODE=1 \
	CRM_TEST_SITE="$TEST_SITE" CRM_SITES_PATH="$FRAPPE_BENCH/sites" \
	"$FRAPPE_BENCH/env/bin/python" "benchmarks/$script" "$@"
