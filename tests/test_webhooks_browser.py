"""Webhooks in the desk, in headless Chromium against a live server of the test site: a Manager makes
an endpoint (its secret shown once, then never), sends it a test event and resends a delivery, to a
receiver of the test's own. The set-up (browser, login, clean-up) is test_desk_browser.py's."""

import json
import re

import frappe
import pytest
from frappe.installer import update_site_config
from frappe.utils.password import update_password

from crm_appointments.core import outbound
from crm_appointments.core.names import WEBHOOK, WEBHOOK_DELIVERY
from tests import browser
from tests import test_desk_browser as desk
from tests.factories import USERS
from tests.test_desk_browser import PASSWORD, message_dialog_text
from tests.test_webhooks import Receiver, documented_verify

playwright_browser = desk.playwright_browser

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MANAGER = USERS["manager"]


@pytest.fixture
def receiver():
	server = Receiver()
	yield server
	server.stop()


@pytest.fixture
def private_hosts_allowed(live_server):
	"""The live server's workers read the site config: the loopback receiver is allowed there."""
	update_site_config(outbound.ALLOW_PRIVATE_CONFIG, 1)
	try:
		yield
	finally:
		update_site_config(outbound.ALLOW_PRIVATE_CONFIG, "None")


@pytest.fixture
def manager_page(request, playwright_browser, live_server, committed, private_hosts_allowed):
	update_password(MANAGER, PASSWORD)
	frappe.db.commit()
	with browser.desk_session(request, playwright_browser, live_server, MANAGER, PASSWORD) as page:
		yield page


def close_dialog(page):
	page.locator(".modal.show .btn-modal-close").first.click()
	page.locator(".modal.show").wait_for(state="detached")


def test_a_manager_makes_an_endpoint_sees_its_secret_once_sends_a_test_event_and_resends(
	manager_page, receiver
):
	page = manager_page
	browser.open_route(page, page.base, "/app/crm-appointment-webhook/new")
	page.locator('.frappe-control[data-fieldname="url"] input').fill(receiver.url)
	page.keyboard.press("Control+s")
	secret = re.search(r"whsec_[A-Za-z0-9]{32}", message_dialog_text(page)).group(0)
	close_dialog(page)
	browser.wait_idle(page)
	frappe.db.rollback()
	name = frappe.db.get_value(WEBHOOK, {"url": receiver.url})
	assert frappe.get_doc(WEBHOOK, name).get_password("secret") == secret

	page.reload()
	browser.wait_for_desk(page)
	browser.wait_idle(page)
	assert secret not in page.content()  # never shown again

	page.get_by_role("button", name="Send Test Event").click()
	assert "Succeeded" in message_dialog_text(page)
	close_dialog(page)
	[test] = receiver.received
	assert json.loads(test["body"])["id"].startswith("evt_test_")
	assert documented_verify()(test["body"], test["headers"]["crm-signature"], secret)

	frappe.db.rollback()
	delivery = frappe.db.get_value(WEBHOOK_DELIVERY, {"webhook": name})
	browser.open_route(page, page.base, f"/app/crm-appointment-webhook-delivery/{delivery}")
	page.get_by_role("button", name="Resend").click()
	assert "Succeeded" in message_dialog_text(page)
	close_dialog(page)
	assert len(receiver.received) == 2 and receiver.received[1]["body"] == test["body"]
