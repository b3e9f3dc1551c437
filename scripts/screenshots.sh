#!/usr/bin/env bash
# The README's screenshots, taken from the real pages of this checkout by the browser test that
# visits them (tests/test_desk_browser.py::test_the_pages_shown_in_the_readme), into docs/screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

shots="$(mktemp -d /tmp/crm-screenshots.XXXXXX)"
trap 'rm -rf "$shots"' EXIT
chown "$BENCH_USER" "$shots" 2>/dev/null || true
CRM_SCREENSHOTS_DIR="$shots" bash scripts/test.sh tests/test_desk_browser.py -k test_the_pages_shown_in_the_readme
mkdir -p docs/screenshots
cp "$shots"/*.png docs/screenshots/
ls -l docs/screenshots
