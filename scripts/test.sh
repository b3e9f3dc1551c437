#!/usr/bin/env bash
# The whole test suite, in the bench's Python, against a real site on MariaDB and Redis.
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -k reschedule   # any pytest arguments, paths relative to this checkout
#
# Environment:
#   TEST_SITE   the site the tests run on (default crm-test.localhost); created with the app when
#               missing, migrated when this checkout's DocTypes or code changed since the last run.
#   FRESH_SITE=1  drop and re-create TEST_SITE first (CI does this with a throwaway site).
#   FRAPPE_BENCH  the bench (default ~frappe/frappe-bench).
#   FRAPPE_CRM_REPO  a git repository of Frappe CRM: its FRAPPE_CRM_REF (default v1.34.14) is put in
#               the bench (apps/crm, no assets; on no site) for tests/test_frappe_crm.py, which
#               skips without it.
# The code under test is always this checkout (it is put first on PYTHONPATH), whatever the bench's
# apps/crm_appointments points at.
set -euo pipefail
cd "$(dirname "$0")/.."
APP_SOURCE="$(pwd)"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

TEST_SITE="${TEST_SITE:-crm-test.localhost}"
export PYTHONPATH="$APP_SOURCE" PYTHONDONTWRITEBYTECODE=1

require_bench
[ "$(id -u)" = 0 ] || [ "$(id -un)" = "$BENCH_USER" ] || die "run as root or as $BENCH_USER"
runuser -u "$BENCH_USER" -- test -r "$APP_SOURCE/pyproject.toml" 2>/dev/null || [ "$(id -un)" = "$BENCH_USER" ] ||
	die "$BENCH_USER cannot read $APP_SOURCE; put the checkout where it can"
ensure_services
ensure_db_admin
register_app "$APP_NAME"
if [ -n "${FRAPPE_CRM_REPO:-}" ]; then
	ensure_frappe_crm "$FRAPPE_CRM_REPO" "${FRAPPE_CRM_REF:-v1.34.14}"
fi

# The app's own dependencies (pyproject.toml), which bench installs with the app (setup.sh does so
# with pip install -e); the code under test is this checkout, so they are installed from its list.
mapfile -t app_dependencies < <(as_bench env/bin/python -c \
	'import sys, tomllib; [print(d) for d in tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]]' \
	"$APP_SOURCE/pyproject.toml")
if [ "${#app_dependencies[@]}" -gt 0 ]; then
	as_bench env/bin/python -m pip install -q "${app_dependencies[@]}"
fi
# pytest and the test-only packages, in the bench's Python (Playwright drives the browser tests).
if ! as_bench env/bin/python -c 'import pytest, playwright, hypothesis' 2>/dev/null; then
	log "installing the test tools into the bench's Python"
	as_bench env/bin/python -m pip install -q 'pytest~=8.3' 'playwright~=1.65' 'hypothesis~=6.100'
fi
# The browser tests use Debian's Chromium (Playwright's own browser downloads are not used).
ensure_chromium

# Tools that drive the app from outside (schemathesis) live in a venv of their own, so they can never
# change the bench's Python packages.
TEST_TOOLS="$BENCH_HOME/.crm-test-tools"
# openapi-python-client generates a client from the served document, as API users do.
if ! [ -x "$TEST_TOOLS/bin/schemathesis" ] || ! [ -x "$TEST_TOOLS/bin/openapi-python-client" ]; then
	log "installing schemathesis and openapi-python-client into $TEST_TOOLS"
	[ -x "$TEST_TOOLS/bin/pip" ] || as_bench "$PYTHON" -m venv "$TEST_TOOLS"
	as_bench "$TEST_TOOLS/bin/pip" install -q 'schemathesis~=4.32' 'openapi-python-client~=0.29'
fi
# Radicale, the CalDAV server tests/test_caldav.py starts on a loopback port for each module.
if ! [ -x "$TEST_TOOLS/bin/radicale" ]; then
	log "installing Radicale into $TEST_TOOLS"
	[ -x "$TEST_TOOLS/bin/pip" ] || as_bench "$PYTHON" -m venv "$TEST_TOOLS"
	as_bench "$TEST_TOOLS/bin/pip" install -q 'radicale~=3.9'
fi
# axe-core checks the booking pages for WCAG 2.1 AA in the browser tests (tests/test_booking_types_browser.py
# injects its axe.min.js); from the npm registry, into the tools' folder, never into this checkout.
if ! [ -s "$TEST_TOOLS/node_modules/axe-core/axe.min.js" ]; then
	if ! command -v npm >/dev/null; then
		[ "$(id -u)" = 0 ] || die "npm is missing: install Debian's npm package (apt-get install npm)"
		log "installing Debian's npm for axe-core"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
	fi
	log "installing axe-core into $TEST_TOOLS"
	as_bench npm install --prefix "$TEST_TOOLS" --no-audit --no-fund --silent 'axe-core@~4.14'
fi

source_hash() {
	(cd "$APP_SOURCE" && find crm_appointments -type f \( -name '*.py' -o -name '*.js' -o -name '*.json' -o -name '*.txt' \) -print0 |
		sort -z | xargs -0 sha1sum | sha1sum | cut -d' ' -f1)
}

site_works() {
	local apps
	[ -f "$FRAPPE_BENCH/sites/$TEST_SITE/site_config.json" ] &&
		apps="$(as_bench PYTHONPATH="$PYTHONPATH" bench --site "$TEST_SITE" execute frappe.get_installed_apps 2>/dev/null)" &&
		grep -q "\"$APP_NAME\"" <<<"$apps"
}

if [ "${FRESH_SITE:-0}" = 1 ] || ! site_works; then
	log "creating the test site $TEST_SITE with $APP_NAME from $APP_SOURCE"
	# A time zone that is not UTC, and not a whole hour from it, so time zone mistakes show.
	new_site "$TEST_SITE" admin Asia/Kolkata >/dev/null
	# The bench's own scheduler (bench start) must not run jobs on the test site while tests make and
	# delete data under it; tests that need the scheduler turn it on for themselves.
	as_bench bench --site "$TEST_SITE" scheduler disable >/dev/null
	as_bench bench --site "$TEST_SITE" set-config crm_appointments_source_hash "$(source_hash)"
elif [ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("crm_appointments_source_hash", ""))' \
	"$FRAPPE_BENCH/sites/$TEST_SITE/site_config.json")" != "$(source_hash)" ]; then
	log "migrating $TEST_SITE to this checkout"
	as_bench PYTHONPATH="$PYTHONPATH" bench --site "$TEST_SITE" migrate >/dev/null
	configure_desk "$TEST_SITE"
	as_bench bench --site "$TEST_SITE" set-config crm_appointments_source_hash "$(source_hash)"
fi

# The address mailed links are built from (public booking needs one), and the loopback proxy the
# tests' clients stand behind: the live server's peer is 127.0.0.1, and each test's guest gives its
# own address in X-Forwarded-For, as a proxy would (rest/rate_limits.py).
ensure_host_name "$TEST_SITE" "http://$TEST_SITE"
as_bench bench --site "$TEST_SITE" set-config -p crm_trusted_proxies '["127.0.0.1", "::1"]' >/dev/null

log "running the tests on $TEST_SITE"
RUN_IN="$APP_SOURCE" as_bench PYTHONPATH="$PYTHONPATH" PYTHONDONTWRITEBYTECODE=1 \
	CRM_TEST_SITE="$TEST_SITE" CRM_SITES_PATH="$FRAPPE_BENCH/sites" FRAPPE_BENCH="$FRAPPE_BENCH" \
	CRM_SCREENSHOTS_DIR="${CRM_SCREENSHOTS_DIR:-}" CRM_TEST_TOOLS="$TEST_TOOLS" CRM_DB_ADMIN_USER="$DB_ADMIN_USER" CRM_DB_ADMIN_PASSWORD_FILE="$DB_ADMIN_PASSWORD_FILE" \
	FRAPPE_CRM_REPO="${FRAPPE_CRM_REPO:-}" \
	"$FRAPPE_BENCH/env/bin/python" -m pytest "$@"
