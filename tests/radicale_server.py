"""A Radicale CalDAV server of a test's own (PyPI's radicale, installed by scripts/test.sh in the test
tools' venv, CRM_TEST_TOOLS) on a free loopback port, with users (htpasswd, plain) and their calendars,
in a temporary folder removed when it stops. Tests fill it through the caldav library, as a calendar
app would.
"""

import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime

import icalendar

from harness.live_server import free_port
from tests.private_services import wait_for_port


def radicale_command() -> str | None:
	tools = os.environ.get("CRM_TEST_TOOLS") or os.path.expanduser("~/.crm-test-tools")
	found = os.path.join(tools, "bin", "radicale")
	return found if os.access(found, os.X_OK) else shutil.which("radicale")


class Radicale:
	def __init__(self, users: dict[str, str]):
		self.users = dict(users)
		self.port = free_port()
		self.folder = tempfile.mkdtemp(prefix="crm-radicale-")
		self.process = None

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.port}/"

	def principal_url(self, user: str) -> str:
		return f"{self.url}{user}/"

	def set_password(self, user: str, password: str):
		"""Change a user's password, as a provider does when an app password is revoked (Radicale reads
		its users file at each login)."""
		self.users[user] = password
		self.write_users()

	def write_users(self):
		with open(os.path.join(self.folder, "users"), "w") as f:
			f.writelines(f"{user}:{password}\n" for user, password in self.users.items())

	def start(self):
		command = radicale_command()
		if not command:
			raise RuntimeError("Radicale is not installed (scripts/test.sh installs it in the test tools)")
		users = os.path.join(self.folder, "users")
		self.write_users()
		config = os.path.join(self.folder, "config")
		with open(config, "w") as f:
			f.write(
				f"[server]\nhosts = 127.0.0.1:{self.port}\n"
				f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n"
				# A wrong password is answered at once (Radicale waits about a second by default).
				"delay = 0\n"
				f"[storage]\nfilesystem_folder = {os.path.join(self.folder, 'collections')}\n"
				"[logging]\nlevel = warning\n"
			)
		self.process = subprocess.Popen(
			[command, "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
		)
		wait_for_port(self.port, self.process, "the test's Radicale", 30)
		return self

	def stop(self):
		if self.process:
			self.process.kill()
			self.process.wait()
			self.process = None

	def remove(self):
		self.stop()
		shutil.rmtree(self.folder, ignore_errors=True)

	def client(self, user: str):
		from caldav import DAVClient

		return DAVClient(self.principal_url(user), username=user, password=self.users[user])

	def make_calendar(self, user: str, name: str):
		"""A calendar of `user`'s named `name` (its display name), made as a calendar app makes one."""
		return self.client(user).principal().make_calendar(name=name)


def one_event(uid: str, start, end=None, summary: str | None = None, **properties) -> str:
	"""One event as a calendar app sends it (VCALENDAR text), titled `summary` (default: its uid);
	`properties` adds RRULE, TRANSP, STATUS... The times go in as given (aware, naive or dates)."""
	calendar = icalendar.Calendar()
	calendar.add("prodid", "-//crm_appointments tests//EN")
	calendar.add("version", "2.0")
	event = icalendar.Event()
	event.add("uid", uid)
	event.add("summary", summary or uid)
	event.add("dtstamp", datetime.now(UTC))
	event.add("dtstart", start)
	if end is not None:
		event.add("dtend", end)
	for name, value in properties.items():
		event.add(name, value)
	calendar.add_component(event)
	return calendar.to_ical().decode()
