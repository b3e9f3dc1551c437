"""The desk in a real browser: Debian's Chromium, headless, driven by Playwright, against the live
server (gunicorn serving the test site and its built assets)."""

import os
import shutil
from contextlib import contextmanager

CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-dev-shm-usage",
	"--disable-quic",
	"--no-first-run",
	# This machine's network is closed: without these Chromium keeps trying to reach Google.
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}


def chromium_path() -> str | None:
	return os.environ.get("CRM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
	return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


def log_in(page, base: str, email: str, password: str):
	"""Through the login page, as a person would; returns once the desk has loaded."""
	page.goto(f"{base}/login")
	page.fill("#login_email", email)
	page.fill("#login_password", password)
	page.click(".btn-login")
	page.wait_for_url(f"{base}/app**")
	wait_for_desk(page)


def wait_for_desk(page):
	page.wait_for_function(
		"() => window.frappe && frappe.boot && frappe.boot.user && !frappe.dom.freeze_count"
	)


def wait_idle(page):
	"""Until no request of the desk's is in flight and nothing is frozen."""
	page.wait_for_function(
		"() => window.frappe && !frappe.request.ajax_count && !(frappe.dom.freeze_count > 0)"
	)


def open_route(page, base: str, path: str):
	page.goto(f"{base}{path}")
	wait_for_desk(page)
	wait_idle(page)


def user_datetime(page, value: str) -> str:
	"""A system datetime ("YYYY-MM-DD HH:mm:ss") as the user types it, in the site's date format."""
	return page.evaluate("(v) => frappe.datetime.str_to_user(v)", value)


def drag(page, source, target, steps: int = 15):
	"""Press, move in steps and release, as a hand does (jQuery UI and Sortable need the moves)."""
	start, end = _laid_out(page, source, target)
	x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
	page.mouse.move(x, y)
	page.wait_for_timeout(150)
	page.mouse.down()
	page.wait_for_timeout(150)
	page.mouse.move(x + 5, y + 5, steps=3)
	page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 2, 40), steps=steps)
	page.wait_for_timeout(200)
	page.mouse.up()


def _laid_out(page, source, target, attempts: int = 5):
	"""Both ends' boxes, once they are on the page and stay there: a board draws its cards again
	after loading and after a refused move, which detaches the elements found a moment before."""
	from playwright.sync_api import Error

	wait_idle(page)
	for attempt in range(attempts):
		try:
			source.wait_for(state="visible")
			target.wait_for(state="visible")
			source.scroll_into_view_if_needed()
			start, end = source.bounding_box(), target.bounding_box()
			if start and end:
				return start, end
		except Error:
			if attempt == attempts - 1:
				raise
		page.wait_for_timeout(400)
	raise AssertionError("the drag's ends never settled on the page")


def screenshot(page, name: str):
	"""Save the page as <name>.png in CRM_SCREENSHOTS_DIR, when set (scripts/screenshots.sh sets it)."""
	folder = os.environ.get("CRM_SCREENSHOTS_DIR")
	if folder:
		page.screenshot(path=os.path.join(folder, f"{name}.png"))


def save_failure(page, test_name: str):
	"""A failed test's last page, beside the bench's logs, to see what the browser saw."""
	folder = os.path.join(os.environ.get("FRAPPE_BENCH", "/tmp"), "logs", "crm-browser-failures")
	os.makedirs(folder, exist_ok=True)
	page.screenshot(path=os.path.join(folder, f"{test_name}.png"), full_page=True)


@contextmanager
def desk_session(request, playwright_browser, base: str, email: str, password: str):
	"""A browser context of its own, logged in to the desk as `email`: its page (`page.base` is the
	server's address). Afterwards a failed test's page is saved; a test that passed fails if the desk
	threw on the way."""
	context = playwright_browser.new_context(viewport=VIEWPORT, locale="en-GB")
	page = context.new_page()
	page.set_default_timeout(20_000)
	errors = []
	# Uncaught exceptions only. A promise rejected with a plain object (Frappe's request layer rejects
	# with response objects) surfaces as just "Object", with no stack to tell whose it was: not counted.
	page.on("pageerror", lambda error: str(error) != "Object" and errors.append(str(error)))
	log_in(page, base, email, password)
	page.base = base
	yield page
	report = getattr(request.node, "report_call", None)
	failed = report is not None and report.failed
	if failed:
		save_failure(page, request.node.name)
		print("JavaScript errors on the page:", *errors, sep="\n")
	context.close()
	if not failed:
		assert not errors, f"JavaScript errors on the page: {errors}"
