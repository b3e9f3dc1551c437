"""Servers of a test's own for fault tests: a Redis and a MariaDB on free loopback ports, and a copy of
the bench's sites folder that points the test site at them. The tests stop and crash these; the
machine's MariaDB and Redis, which other benches and sites use, are never touched.
"""

import json
import os
import signal
import socket
import subprocess
import time

import pymysql

from harness.live_server import free_port


def wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = 60):
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		if process.poll() is not None:
			raise RuntimeError(f"{what} exited with status {process.returncode}")
		with socket.socket() as s:
			if s.connect_ex(("127.0.0.1", port)) == 0:
				return
		time.sleep(0.05)
	raise RuntimeError(f"{what} did not start in {seconds} s")


class PrivateRedis:
	def __init__(self, port: int | None = None):
		self.port = port or free_port()
		self.process = None

	@property
	def url(self) -> str:
		return f"redis://127.0.0.1:{self.port}"

	def start(self):
		self.process = subprocess.Popen(
			[
				"redis-server",
				"--port",
				str(self.port),
				"--bind",
				"127.0.0.1",
				"--save",
				"",
				"--appendonly",
				"no",
			],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)
		wait_for_port(self.port, self.process, "the test's Redis", 10)

	def stop(self):
		if self.process:
			self.process.kill()
			self.process.wait()
			self.process = None


class PrivateMariaDB:
	"""A mariadbd of the test's own: its own data directory, socket and TCP port, no config files read."""

	def __init__(self, base: str, port: int | None = None):
		self.base = base
		self.port = port or free_port()
		self.datadir = os.path.join(base, "data")
		self.socket = os.path.join(base, "mysqld.sock")
		self.log = os.path.join(base, "mariadbd.log")
		self.process = None

	def options(self) -> list[str]:
		return [
			"--no-defaults",
			f"--datadir={self.datadir}",
			"--skip-name-resolve",
			"--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_unicode_ci",
			"--innodb-log-file-size=16M",
			"--innodb-buffer-pool-size=64M",
			"--innodb-flush-log-at-trx-commit=1",
		]

	def install(self):
		os.makedirs(self.datadir)
		subprocess.run(
			[
				"mariadb-install-db",
				*self.options(),
				"--auth-root-authentication-method=normal",
				"--skip-test-db",
			],
			check=True,
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)

	def start(self) -> float:
		"""Start on the same data directory and port; returns the seconds until it took connections."""
		started = time.monotonic()
		self.process = subprocess.Popen(
			[
				"/usr/sbin/mariadbd",
				*self.options(),
				f"--socket={self.socket}",
				f"--port={self.port}",
				"--bind-address=127.0.0.1",
				f"--pid-file={os.path.join(self.base, 'mariadbd.pid')}",
				f"--log-error={self.log}",
			],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)
		wait_for_port(self.port, self.process, f"the test's MariaDB (see {self.log})")
		deadline = time.monotonic() + 60
		while True:
			try:
				self.connect().close()
				return time.monotonic() - started
			except pymysql.err.OperationalError:
				if time.monotonic() > deadline:
					raise
				time.sleep(0.05)

	def stop(self, crash: bool = False) -> float:
		"""A clean shutdown (SIGTERM, as systemd stops it), or a crash (SIGKILL); returns the seconds
		until the process was gone."""
		if not self.process:
			return 0.0
		started = time.monotonic()
		self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
		try:
			self.process.wait(timeout=60)
		except subprocess.TimeoutExpired:
			self.process.kill()
			self.process.wait()
		self.process = None
		return time.monotonic() - started

	def connect(self, database: str | None = None):
		return pymysql.connect(
			unix_socket=self.socket, user="root", database=database, charset="utf8mb4", autocommit=True
		)

	def copy_site_database(self, conf: dict):
		"""The site's database, dumped from the machine's MariaDB with the site's own account (which
		owns it), and that account, with the same password, here."""
		db, password = conf["db_name"], conf["db_password"]
		source = ["--host", conf.get("db_host") or "127.0.0.1", "--port", str(conf.get("db_port") or 3306)]
		if conf.get("db_socket"):
			source = ["--socket", conf["db_socket"]]
		with self.connect() as connection, connection.cursor() as cursor:
			cursor.execute(f"create database `{db}`")
			for host in ("%", "localhost"):
				cursor.execute("create user %s@%s identified by %s", (db, host, password))
				cursor.execute(f"grant all privileges on `{db}`.* to %s@%s", (db, host))
		dump = subprocess.Popen(
			[
				"mariadb-dump",
				"--no-defaults",
				*source,
				"--user",
				db,
				"--single-transaction",
				"--skip-lock-tables",
				"--routines",
				"--triggers",
				db,
			],
			env={**os.environ, "MYSQL_PWD": password},
			stdout=subprocess.PIPE,
		)
		load = subprocess.run(
			["mariadb", "--no-defaults", f"--socket={self.socket}", "--user=root", db], stdin=dump.stdout
		)
		dump.stdout.close()
		if dump.wait() or load.returncode:
			raise RuntimeError(f"copying {db} failed (dump {dump.returncode}, load {load.returncode})")


def private_sites(
	base: str, sites_path: str, site: str, redis: PrivateRedis, db: PrivateMariaDB | None = None
) -> str:
	"""A sites folder beside the bench's: its common config names the test's Redis; with `db`, the
	site has a folder of its own whose site_config.json names the test's MariaDB (the site's files,
	locks and logs are the real site's). Returns its path."""
	sites = os.path.join(base, "sites")
	os.makedirs(sites)
	os.makedirs(os.path.join(base, "logs"))
	with open(os.path.join(sites_path, "common_site_config.json")) as f:
		common = json.load(f)
	for name in ("redis_cache", "redis_queue", "redis_socketio"):
		common[name] = redis.url
	with open(os.path.join(sites, "common_site_config.json"), "w") as f:
		json.dump(common, f)
	for name in ("apps.txt", "apps.json", "assets"):
		if os.path.exists(os.path.join(sites_path, name)):
			os.symlink(os.path.join(sites_path, name), os.path.join(sites, name))
	real_site = os.path.join(sites_path, site)
	if db is None:
		os.symlink(real_site, os.path.join(sites, site))
		return sites
	os.makedirs(os.path.join(sites, site))
	for name in os.listdir(real_site):
		if name != "site_config.json":
			os.symlink(os.path.join(real_site, name), os.path.join(sites, site, name))
	with open(os.path.join(real_site, "site_config.json")) as f:
		conf = json.load(f)
	conf.pop("db_socket", None)
	conf.update(db_host="127.0.0.1", db_port=db.port)
	with open(os.path.join(sites, site, "site_config.json"), "w") as f:
		json.dump(conf, f, indent=1)
	return sites
