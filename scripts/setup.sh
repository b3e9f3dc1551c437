#!/usr/bin/env bash
# One command from a fresh machine to a running site with crm_appointments installed:
#   system packages, the `frappe` user, a Frappe v15 bench at ~frappe/frappe-bench,
#   this checkout linked into it as the app, a site, and a running server.
# Idempotent: run it again and it reuses what is already there.
#
# Environment:
#   FRAPPE_REPO    where Frappe comes from: a git URL or a local clone (default: upstream on GitHub)
#   FRAPPE_BRANCH  default version-15
#   SITE           default crm.localhost        ADMIN_PASSWORD  default admin
#   PORT           default 8000                 START=0         set up, do not start the server
#   TIME_ZONE      the new site's time zone (default UTC)
set -euo pipefail
cd "$(dirname "$0")/.."
APP_SOURCE="$(pwd)"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

FRAPPE_REPO="${FRAPPE_REPO:-https://github.com/frappe/frappe}"
FRAPPE_BRANCH="${FRAPPE_BRANCH:-version-15}"
SITE="${SITE:-crm.localhost}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-admin}"
PORT="${PORT:-8000}"
TIME_ZONE="${TIME_ZONE:-UTC}"

[ "$(id -u)" = 0 ] || die "run as root: it installs system packages and creates the $BENCH_USER user"

install_system_packages() {
	local need=()
	command -v git >/dev/null || need+=(git)
	command -v mariadb >/dev/null || need+=(mariadb-server mariadb-client)
	command -v redis-server >/dev/null || need+=(redis-server)
	command -v node >/dev/null || need+=(nodejs npm)
	"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv python3-pip)
	[ -e /usr/include/python3.11/Python.h ] || need+=(python3-dev)
	command -v pkg-config >/dev/null || need+=(pkg-config)
	dpkg -s libmariadb-dev >/dev/null 2>&1 || need+=(libmariadb-dev)
	if [ ${#need[@]} -gt 0 ]; then
		log "installing system packages: ${need[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	command -v yarn >/dev/null || { log "installing yarn"; npm install -g --silent yarn@1; }
}

ensure_bench_user() {
	id "$BENCH_USER" >/dev/null 2>&1 || { log "creating user $BENCH_USER"; useradd -m -s /bin/bash "$BENCH_USER"; }
	BENCH_HOME="$(getent passwd "$BENCH_USER" | cut -d: -f6)"
	chmod 755 "$BENCH_HOME"
}

ensure_bench_cli() {
	if ! runuser -u "$BENCH_USER" -- /opt/bench-cli/bin/bench --version >/dev/null 2>&1; then
		rm -rf /opt/bench-cli
		log "installing the bench CLI into /opt/bench-cli"
		"$PYTHON" -m venv /opt/bench-cli
		/opt/bench-cli/bin/pip install -q frappe-bench uv
	fi
	ln -sf /opt/bench-cli/bin/bench /usr/local/bin/bench
	ln -sf /opt/bench-cli/bin/uv /usr/local/bin/uv
}

# A local Frappe clone of our own, so the pins that need GitHub can be pointed at the registries.
prepare_frappe_source() {
	case "$FRAPPE_REPO" in
	http://* | https://* | git@*) FRAPPE_PATH="$FRAPPE_REPO"; return ;;
	esac
	local src="$BENCH_HOME/frappe-src"
	if [ ! -d "$src/.git" ]; then
		log "cloning Frappe $FRAPPE_BRANCH from $FRAPPE_REPO"
		# Cloned as root (the source may belong to another user), then handed to the bench user.
		git -c safe.directory='*' clone -q --single-branch --branch "$FRAPPE_BRANCH" "$FRAPPE_REPO" "$src"
		chown -R "$BENCH_USER:" "$src"
	fi
	(
		cd "$src"
		# gunicorn and air-datepicker are pinned to GitHub; setuptools 81+ lacks pkg_resources.
		sed -i 's|"gunicorn @ git+https://github.com/frappe/gunicorn@[0-9a-f]*"|"gunicorn~=23.0"|' pyproject.toml
		sed -i 's|"air-datepicker": "github:frappe/air-datepicker"|"air-datepicker": "2.2.3"|' package.json
		if ! runuser -u "$BENCH_USER" -- git diff --quiet; then
			runuser -u "$BENCH_USER" -- git -c user.name=setup -c user.email=setup@localhost \
				commit -q -am "Point GitHub-only pins at registry releases"
		fi
	)
	FRAPPE_PATH="$src"
}

ensure_bench() {
	if [ -x "$FRAPPE_BENCH/env/bin/python" ] && [ -d "$FRAPPE_BENCH/apps/frappe" ]; then
		log "reusing the bench at $FRAPPE_BENCH"
		return
	fi
	prepare_frappe_source
	log "creating the bench at $FRAPPE_BENCH (Frappe $FRAPPE_BRANCH; this takes a while)"
	local constraints="$BENCH_HOME/.pip-constraints.txt"
	echo 'setuptools<81' >"$constraints"
	chown "$BENCH_USER" "$constraints"
	rm -rf "$FRAPPE_BENCH"
	runuser -u "$BENCH_USER" -- env -C "$BENCH_HOME" HOME="$BENCH_HOME" PATH="$BENCH_PATH" PIP_CONSTRAINT="$constraints" UV_CONSTRAINT="$constraints" \
		bench init "$FRAPPE_BENCH" --frappe-path "$FRAPPE_PATH" --frappe-branch "$FRAPPE_BRANCH" \
		--python "$PYTHON" --no-backups --skip-redis-config-generation --verbose
	as_bench env/bin/pip install -q 'setuptools<81'
}

# Use the machine's Redis rather than a bench-owned one; drop the bench's own from the Procfile.
configure_bench() {
	as_bench bench set-config -g redis_cache redis://127.0.0.1:6379
	as_bench bench set-config -g redis_queue redis://127.0.0.1:6379
	as_bench bench set-config -g redis_socketio redis://127.0.0.1:6379
	as_bench bench set-config -g -p webserver_port "$PORT"
	if [ -f "$FRAPPE_BENCH/Procfile" ]; then
		sed -i '/^redis_/d; /^watch:/d' "$FRAPPE_BENCH/Procfile"
	fi
}

# The app is this checkout, linked into apps/ so edits here are live in the bench.
ensure_app() {
	local target="$FRAPPE_BENCH/apps/$APP_NAME"
	if [ "$(readlink -f "$target" 2>/dev/null)" != "$APP_SOURCE" ]; then
		log "linking $APP_SOURCE into the bench as $APP_NAME"
		rm -rf "$target"
		ln -s "$APP_SOURCE" "$target"
	fi
	as_bench env/bin/pip install -q -e "apps/$APP_NAME"
	register_app "$APP_NAME"
	# Its static files (public/) under /assets/$APP_NAME, linked as `bench build` links them.
	local assets="$FRAPPE_BENCH/sites/assets/$APP_NAME"
	if [ -L "$assets" ] || [ ! -e "$assets" ]; then
		ln -sfn "$target/$APP_NAME/public" "$assets"
	fi
}

ensure_site() {
	if [ -f "$FRAPPE_BENCH/sites/$SITE/site_config.json" ] && as_bench bench --site "$SITE" list-apps >/dev/null 2>&1; then
		log "migrating $SITE"
		as_bench bench --site "$SITE" install-app "$APP_NAME" 2>/dev/null || true
		as_bench bench --site "$SITE" migrate
	else
		log "creating the site $SITE"
		new_site "$SITE" "$ADMIN_PASSWORD" "$TIME_ZONE"
	fi
	complete_setup_wizard "$SITE" "$TIME_ZONE"
	configure_desk "$SITE"
	ensure_host_name "$SITE" "http://$SITE:$PORT"
	as_bench bench use "$SITE"
	as_bench bench set-config -g serve_default_site true
}

start_server() {
	[ "${START:-1}" = 1 ] || return 0
	if curl -fsS "http://127.0.0.1:$PORT/api/method/ping" >/dev/null 2>&1; then
		log "a server already answers on port $PORT"
	else
		log "starting the bench (web, worker, scheduler) in the background; log: $FRAPPE_BENCH/logs/start.log"
		as_bench bash -c "nohup bench start >logs/start.log 2>&1 &"
		for _ in $(seq 1 60); do
			curl -fsS "http://127.0.0.1:$PORT/api/method/ping" >/dev/null 2>&1 && break
			sleep 1
		done
	fi
	cat <<MSG

  crm_appointments is running:  http://$SITE:$PORT/app/crm-appointment
  (or http://127.0.0.1:$PORT/app/crm-appointment)   login: Administrator / $ADMIN_PASSWORD

MSG
}

install_system_packages
ensure_services
ensure_bench_user
ensure_db_admin
ensure_bench_cli
ensure_bench
configure_bench
[ "${1:-}" = --bench-only ] && exit 0
ensure_app
ensure_site
start_server
