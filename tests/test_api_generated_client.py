"""A client generated from the served OpenAPI document (openapi-python-client, as API users make
them) works against the live server: it creates without sending read-only fields, and walks cursor
pages although it sends its default offset=0 with every call."""

import json
import os
import subprocess
import urllib.request

import pytest

from tests.factories import commit, make

pytestmark = pytest.mark.slow

EMAIL = "generated-client@example.org"

WALK = """
import json, sys
from datetime import datetime, timezone
from crm_client import AuthenticatedClient
from crm_client.api.default import create_appointment, get_appointment, list_appointments
from crm_client.models import AppointmentCreate, Status

base, key, email = sys.argv[1:]
client = AuthenticatedClient(base_url=base, token=key)
created = create_appointment.sync_detailed(
	client=client,
	body=AppointmentCreate(
		customer_name="Generated Gina",
		customer_email=email,
		status=Status.DRAFT,
		scheduled_time=datetime(2031, 3, 1, 9, 30, tzinfo=timezone.utc),
	),
)
assert created.status_code == 200, created.content
read = get_appointment.sync_detailed(client=client, id=created.parsed.id)
assert read.status_code == 200, read.content
pages, after = [], None
while True:
	kwargs = {"starting_after": after} if after else {}
	page = list_appointments.sync_detailed(client=client, limit=2, customer_email=email, **kwargs)
	assert page.status_code == 200, page.content
	pages.append([obj.id for obj in page.parsed.data])
	if not page.parsed.has_more:
		break
	after = page.parsed.data[-1].id
print(json.dumps({"created": created.parsed.id, "pages": pages}))
"""


def tools_python() -> str:
	tools = os.environ.get("CRM_TEST_TOOLS", "")
	generator = os.path.join(tools, "bin", "openapi-python-client")
	assert os.path.exists(generator), (
		"openapi-python-client is not installed: run the suite with scripts/test.sh"
	)
	return os.path.join(tools, "bin")


def test_a_generated_client_creates_and_walks_cursor_pages(api, keys, live_server, tmp_path):
	made = commit([make(customer_email=EMAIL, customer_name=f"Page {i}") for i in range(4)])
	document = tmp_path / "openapi.json"
	with urllib.request.urlopen(f"{live_server}/api/crm/openapi.json", timeout=30) as response:
		document.write_bytes(response.read())
	tools = tools_python()
	generated = subprocess.run(
		[
			os.path.join(tools, "openapi-python-client"),
			"generate",
			"--path",
			str(document),
			"--output-path",
			str(tmp_path / "crm_client"),
			"--meta",
			"none",
		],
		capture_output=True,
		text=True,
		timeout=300,
		cwd=tmp_path,
	)
	assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-3000:]
	walked = subprocess.run(
		[os.path.join(tools, "python"), "-c", WALK, live_server, keys["manager"], EMAIL],
		capture_output=True,
		text=True,
		timeout=120,
		cwd=tmp_path,
	)
	assert walked.returncode == 0, walked.stdout[-3000:] + walked.stderr[-3000:]
	result = json.loads(walked.stdout.strip().splitlines()[-1])
	newest_first = [result["created"], *(doc.name for doc in reversed(made))]
	assert result["pages"] == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
