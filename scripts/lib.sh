# Shared helpers for scripts/setup.sh, scripts/test.sh and .ci/run. Source it; do not run it.
# shellcheck shell=bash

BENCH_USER="${BENCH_USER:-frappe}"
BENCH_HOME="$(getent passwd "$BENCH_USER" 2>/dev/null | cut -d: -f6 || true)"
BENCH_HOME="${BENCH_HOME:-/home/$BENCH_USER}"
FRAPPE_BENCH="${FRAPPE_BENCH:-$BENCH_HOME/frappe-bench}"
APP_NAME=crm_appointments
# Debian's Python: the bench user must be able to run it (a pyenv under /root it cannot).
PYTHON="${PYTHON:-/usr/bin/python3.11}"
# The bench user's PATH: nothing from root's home.
BENCH_PATH="/usr/local/bin:/usr/bin:/bin"
# A MariaDB account with the rights `bench new-site` needs; created by ensure_db_admin.
DB_ADMIN_USER="${DB_ADMIN_USER:-crm_bench_admin}"
DB_ADMIN_PASSWORD_FILE="${DB_ADMIN_PASSWORD_FILE:-$BENCH_HOME/.crm_db_admin_password}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The bench must be there; say so in one line when it is not.
require_bench() {
	[ -x "$FRAPPE_BENCH/env/bin/python" ] && [ -d "$FRAPPE_BENCH/apps/frappe" ] ||
		die "no Frappe bench at $FRAPPE_BENCH (set FRAPPE_BENCH, or run scripts/setup.sh first)"
}

# Run a command as the bench user (bench refuses root), from the bench folder (or $RUN_IN).
# Leading VAR=value arguments set its environment.
as_bench() {
	local dir="${RUN_IN:-$FRAPPE_BENCH}"
	if [ "$(id -un)" = "$BENCH_USER" ]; then
		env -C "$dir" HOME="$BENCH_HOME" PATH="$BENCH_PATH" "$@"
	else
		runuser -u "$BENCH_USER" -- env -C "$dir" HOME="$BENCH_HOME" PATH="$BENCH_PATH" "$@"
	fi
}

mariadb_answers() { mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1; }
redis_answers() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

# MariaDB and Redis on this machine: start them when they do not answer.
ensure_services() {
	if ! mariadb_answers; then
		log "starting MariaDB"
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
		for _ in $(seq 1 60); do mariadb_answers && break; sleep 1; done
		mariadb_answers || die "MariaDB does not answer on its socket"
	fi
	if ! redis_answers; then
		log "starting Redis"
		mkdir -p /var/lib/redis /var/log/redis
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log
		for _ in $(seq 1 30); do redis_answers && break; sleep 1; done
		redis_answers || die "Redis does not answer on 127.0.0.1:6379"
	fi
	# Frappe refuses a server that does not collate utf8mb4_unicode_ci.
	mariadb -uroot -e "SET GLOBAL character_set_server='utf8mb4'; SET GLOBAL collation_server='utf8mb4_unicode_ci'"
}

# The MariaDB account bench uses to create and drop sites (root here logs in over the socket only).
ensure_db_admin() {
	if [ ! -s "$DB_ADMIN_PASSWORD_FILE" ]; then
		install -d -o "$BENCH_USER" "$(dirname "$DB_ADMIN_PASSWORD_FILE")"
		head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DB_ADMIN_PASSWORD_FILE"
		chown "$BENCH_USER" "$DB_ADMIN_PASSWORD_FILE"
		chmod 600 "$DB_ADMIN_PASSWORD_FILE"
	fi
	local pw
	pw="$(cat "$DB_ADMIN_PASSWORD_FILE")"
	local host
	for host in localhost 127.0.0.1 '%'; do
		mariadb -uroot -e "CREATE USER IF NOT EXISTS '$DB_ADMIN_USER'@'$host' IDENTIFIED BY '$pw';
			ALTER USER '$DB_ADMIN_USER'@'$host' IDENTIFIED BY '$pw';
			GRANT ALL PRIVILEGES ON *.* TO '$DB_ADMIN_USER'@'$host' WITH GRANT OPTION;"
	done
}

db_admin_password() { cat "$DB_ADMIN_PASSWORD_FILE"; }

# Finish Frappe's setup wizard without a browser (a no-op once done). $1 = site, $2 = time zone.
complete_setup_wizard() {
	local site="$1" time_zone="${2:-UTC}"
	as_bench bench --site "$site" execute frappe.desk.page.setup_wizard.setup_wizard.setup_complete \
		--kwargs "{\"args\": {\"language\": \"English\", \"country\": \"United Kingdom\", \"timezone\": \"$time_zone\", \"currency\": \"GBP\"}}" >/dev/null
}

# Create (or re-create) a site and install the app on it. $1 = site, $2 = Administrator password,
# $3 = the site's time zone.
# Extra environment for the bench (PYTHONPATH pointing at a checkout, say) passes through as_bench.
new_site() {
	local site="$1" admin_password="${2:-admin}" time_zone="${3:-UTC}"
	as_bench bench new-site "$site" --force \
		--db-root-username "$DB_ADMIN_USER" --db-root-password "$(db_admin_password)" \
		--admin-password "$admin_password" --mariadb-user-host-login-scope='%' \
		--install-app "$APP_NAME"
	as_bench bench --site "$site" set-config allow_tests true
	complete_setup_wizard "$site" "$time_zone"
	configure_desk "$site"
}

# Frappe pins its own fork of air-datepicker, which is on GitHub only; setup.sh gives a bench that
# cannot reach GitHub the registry's 2.2.3 instead. True on such a bench.
offline_datepicker() {
	grep -q '"air-datepicker": "2.2.3"' "$FRAPPE_BENCH/apps/frappe/package.json" 2>/dev/null
}

# What the desk of a site on this bench needs to read right. With the registry's air-datepicker, the
# app's datepicker_seconds.js on every desk page (Frappe's app_include_js in the site config), or
# every Datetime field shows "10:30:ss". Idempotent. $1 = site.
# The site's public address (host_name), which the links mailed to customers are built from (never
# from a request's Host); public booking cannot be turned on without it. Set once: an address the
# admin gave is kept.
ensure_host_name() {
	local site="$1" address="$2"
	if ! python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1])).get("host_name") else 1)' \
		"$FRAPPE_BENCH/sites/$site/site_config.json" 2>/dev/null; then
		as_bench bench --site "$site" set-config host_name "$address" >/dev/null
	fi
}

configure_desk() {
	local site="$1"
	if offline_datepicker; then
		as_bench bench --site "$site" set-config -p app_include_js \
			"[\"/assets/$APP_NAME/js/datepicker_seconds.js\"]" >/dev/null
	fi
}

# Add an app to sites/apps.txt (one name a line; the file may lack its final newline).
register_app() {
	local apps_txt="$FRAPPE_BENCH/sites/apps.txt"
	grep -qx "$1" "$apps_txt" && return 0
	[ -z "$(tail -c1 "$apps_txt")" ] || echo >>"$apps_txt"
	echo "$1" >>"$apps_txt"
}

# Debian's Chromium for the browser tests, installed when missing (needs root).
ensure_chromium() {
	command -v chromium >/dev/null && return 0
	[ "$(id -u)" = 0 ] || die "chromium is missing: install Debian's chromium package (apt-get install chromium)"
	log "installing Debian's chromium for the browser tests"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# Frappe CRM in the bench, for the tests that run the app beside it (tests/test_frappe_crm.py).
# $1 = a git repository of Frappe CRM (bare or not), $2 = the tag or commit. Puts that tree (Python
# only: no assets are built) in apps/crm, pip-installs it editable into the bench's Python and lists
# it in sites/apps.txt. It is installed on no site. A no-op when apps/crm already holds that commit.
ensure_frappe_crm() {
	local repo="$1" ref="${2:-v1.34.14}" commit target="$FRAPPE_BENCH/apps/crm" marker tree
	commit="$(git -c safe.directory='*' --git-dir="$repo" rev-parse --verify "$ref^{commit}" 2>/dev/null ||
		git -c safe.directory='*' -C "$repo" rev-parse --verify "$ref^{commit}")" ||
		die "no $ref in the Frappe CRM repository $repo"
	marker="$target/.crm-appointments-source"
	if [ "$(cat "$marker" 2>/dev/null)" = "$commit" ] &&
		as_bench env/bin/python -c 'import crm, twilio' 2>/dev/null; then
		register_app crm
		return 0
	fi
	log "installing Frappe CRM $ref ($commit) into $target, without its assets"
	tree="$(mktemp -d "$FRAPPE_BENCH/apps/.crm.XXXXXX")"
	git -c safe.directory='*' --git-dir="$repo" archive "$commit" 2>/dev/null | tar -x -C "$tree" ||
		git -c safe.directory='*' -C "$repo" archive "$commit" | tar -x -C "$tree"
	[ -f "$tree/crm/hooks.py" ] || die "$repo at $ref is not Frappe CRM (no crm/hooks.py)"
	echo "$commit" >"$tree/.crm-appointments-source"
	chown -R "$BENCH_USER": "$tree"
	chmod 755 "$tree"
	rm -rf "$target"
	mv "$tree" "$target"
	as_bench env/bin/python -m pip install -q -e apps/crm
	register_app crm
}
