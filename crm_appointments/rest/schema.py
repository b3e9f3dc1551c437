"""What the API accepts and returns, defined once.

Request validation, translation to and from documents, and the OpenAPI document (openapi.py) all read
these tables, so the description cannot drift from the behaviour. Rules about the *values* (lengths,
allowed moves, ...) are the controller's; this module only checks shapes and translates formats.
"""

import functools
import json
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime

from frappe.utils import validate_email_address

from crm_appointments.core import status_workflow as workflow
from crm_appointments.crm_appointments.doctype.crm_appointment import crm_appointment as controller
from crm_appointments.rest.errors import ApiError
from crm_appointments.scheduling.timezones import as_utc, iso_utc, site_zone

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ApiField:
	name: str
	type: str = "string"  # JSON type
	required: bool = False  # on create; required fields may never be null
	format: str | None = None
	enum: tuple | None = None
	max_length: int | None = None
	minimum: int | None = None
	maximum: int | None = None
	pattern: str | None = None  # the shape the controller's rules allow, where a regex can say it
	read_only: bool = False  # in objects, never in request bodies (the app sets it)
	extension: bool = False  # not in the API document; added by contract.md
	description: str = ""


# The controller trims single-line text before its rules, then refuses control characters (Python's
# `re`, which schemathesis uses too, takes \s as the whitespace str.strip removes).
SINGLE_LINE = r"^\s*[^\x00-\x1f\x7f]*\s*$"
SINGLE_LINE_NOT_BLANK = r"^\s*[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\s*$"
MIN_YEAR, MAX_YEAR = 1900, 9998
# The years MIN_YEAR to MAX_YEAR, as written (before any offset is applied), for the OpenAPI document.
YEAR_PATTERN = r"^\s*(19\d\d|[2-8]\d{3}|9[0-8]\d\d|99[0-8]\d|999[0-8])-"
# Blank is allowed: an optional field sent blank is unset.
PHONE = r"^\s*([0-9 +\-().]*[0-9][0-9 +\-().]*)?\s*$"


# In the API document's order, then the extensions.
FIELDS = (
	ApiField(
		"customer_name",
		required=True,
		max_length=controller.MAX_DATA_LENGTH,
		pattern=SINGLE_LINE_NOT_BLANK,
		description="One line of text, trimmed; not blank.",
	),
	ApiField(
		"customer_phone_number",
		max_length=controller.MAX_PHONE_LENGTH,
		pattern=PHONE,
		description="Digits, spaces and + - ( ) . only, at least one digit; at most 20 characters.",
	),
	ApiField("customer_skype", max_length=controller.MAX_DATA_LENGTH, pattern=SINGLE_LINE),
	ApiField("customer_details", description="Plain-text notes; stay editable after the appointment closes."),
	ApiField(
		"scheduled_time",
		required=True,
		format="date-time",
		pattern=YEAR_PATTERN,
		description="ISO 8601 with Z or an offset; without one, the site's time zone. Returned in UTC. "
		"Years 1900 to 9998.",
	),
	ApiField(
		"status",
		required=True,
		enum=workflow.VALUES,
		description="Moves allowed: "
		+ "; ".join(f"{k} -> {', '.join(v) or 'none'}" for k, v in workflow.MOVES.items()),
	),
	ApiField(
		"calendar_event",
		read_only=True,
		description="The Frappe Event the app keeps in step; set by the app only.",
	),
	ApiField("customer_email", required=True, format="email", max_length=controller.MAX_DATA_LENGTH),
	ApiField(
		"appointment_with", description="The kind of party: Contact, Lead, Customer, CRM Lead or CRM Deal."
	),
	ApiField("party", description="The name of an existing record of the kind in appointment_with."),
	ApiField(
		"duration",
		type="integer",
		minimum=controller.MIN_DURATION,
		maximum=controller.MAX_DURATION,
		extension=True,
		description="Minutes; default 30.",
	),
	ApiField(
		"host",
		max_length=controller.MAX_DATA_LENGTH,
		extension=True,
		description="Who holds the appointment: the user id of a CRM Appointment Host (null: nobody). "
		"Live appointments of one host never overlap, each padded by its type's buffers (a 409 naming "
		"scheduled_time).",
	),
	ApiField(
		"appointment_type",
		max_length=controller.MAX_DATA_LENGTH,
		extension=True,
		description="The appointment type's id (its slug), or null. Its duration applies when none is "
		"given, its buffers in the overlap rule, its location when none is given.",
	),
	ApiField(
		"location",
		extension=True,
		description="Where it takes place: an address, a phone number or a meeting URL; set from the "
		"type when the appointment is made, editable.",
	),
	ApiField(
		"answers",
		type="array",
		extension=True,
		description='The answers to the type\'s booking questions: [{"question": label, "answer": text}].',
	),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
WRITABLE = tuple(f for f in FIELDS if not f.read_only)
READ_ONLY = ("id", "created_at", "updated_at", *(f.name for f in FIELDS if f.read_only))
# Columns a list query needs to build the objects.
COLUMNS = ("name", "creation", "modified", *(f.name for f in FIELDS))


MAX_OFFSET = 999_999_999  # nine digits: what the parser reads as a number


@dataclass(frozen=True)
class QueryParam:
	name: str
	type: str = "string"
	format: str | None = None
	minimum: int | None = None
	maximum: int | None = None
	default: int | None = None
	description: str = ""


LIST_PARAMS = (
	QueryParam(
		"limit",
		"integer",
		minimum=1,
		maximum=100,
		default=20,
		description="Maximum number of objects to return.",
	),
	QueryParam(
		"offset",
		"integer",
		minimum=0,
		maximum=MAX_OFFSET,
		default=0,
		description="Number of objects to skip. 0 (the default) may be sent with a cursor; any other "
		"value may not.",
	),
	QueryParam(
		"starting_after",
		description="Extension: a cursor. The page of objects that come after the object with this id "
		"in list order (older ones). Cannot be combined with offset.",
	),
	QueryParam(
		"ending_before",
		description="Extension: a cursor. The page of objects that come just before the object with this "
		"id in list order (newer ones). Cannot be combined with offset.",
	),
	QueryParam("status", description="One status or a comma-separated list, e.g. scheduled,confirmed."),
	QueryParam("customer_email", format="email", description="Exact address (case does not matter)."),
	QueryParam("appointment_with", description="Only appointments with this kind of party."),
	QueryParam("party", description="Only appointments with this party."),
	QueryParam("host", description="Extension: only appointments held by this host (a user id)."),
	QueryParam("appointment_type", description="Extension: only appointments of this type (its id)."),
	QueryParam("scheduled_from", format="date-time", description="scheduled_time at or after this moment."),
	QueryParam("scheduled_to", format="date-time", description="scheduled_time before this moment."),
)
LIST_PARAMS_BY_NAME = {p.name: p for p in LIST_PARAMS}


@dataclass(frozen=True)
class ListQuery:
	limit: int
	offset: int
	filters: list
	starting_after: str | None = None
	ending_before: str | None = None


# -- time ---------------------------------------------------------------------------------------

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def parse_datetime(value, param: str) -> datetime:
	"""ISO 8601 in, a naive datetime in the site's time zone (how Frappe stores them) out; a naive
	input is the site's time already, and is kept as written."""
	parsed = _parse_iso(value, param)
	if parsed.tzinfo is not None:
		parsed = parsed.astimezone(site_zone()).replace(tzinfo=None)
	return parsed


def parse_instant(value, param: str) -> datetime:
	"""ISO 8601 in (with Z, an offset, or naive: the site's time), an aware UTC datetime out: a
	booking's start is parsed once, to this, and put onto the document once (booking/rules.py)."""
	return as_utc(_parse_iso(value, param))


def _parse_iso(value, param: str) -> datetime:
	if not isinstance(value, str) or not ISO_DATETIME.match(value.strip()):
		raise ApiError(
			400,
			f"{param} must be an ISO 8601 date and time, like 2024-01-15T09:30:00Z.",
			param,
		)
	if not MIN_YEAR <= int(value.strip()[:4]) <= MAX_YEAR:
		raise ApiError(400, f"{param} must fall in the years {MIN_YEAR} to {MAX_YEAR}.", param)
	try:
		return datetime.fromisoformat(value.strip().replace("z", "Z").replace("t", "T"))
	except (ValueError, OverflowError):
		raise ApiError(400, f"{param} is not a real date and time.", param) from None


# -- request bodies -----------------------------------------------------------------------------


def to_doc_values(body, creating: bool) -> dict:
	"""Validate the shape of a create or update body and translate it to document values."""
	if not isinstance(body, dict):
		raise ApiError(400, "The request body must be a JSON object.")
	for name in body:
		if name in READ_ONLY:
			raise ApiError(400, f"{name} is read-only.", name)
		if name not in FIELDS_BY_NAME:
			raise ApiError(400, f"Unknown field: {name}.", name)
	if creating:
		for field in WRITABLE:
			if field.required and field.name not in body:
				raise ApiError(400, f"Missing required field: {field.name}.", field.name)

	values = {}
	for name, value in body.items():
		field = FIELDS_BY_NAME[name]
		if value is None:
			if field.required:
				raise ApiError(400, f"{name} is required and cannot be null.", name)
			values[name] = None
			continue
		if field.type == "array":
			if not isinstance(value, list):
				raise ApiError(400, f"{name} must be a list.", name)
		elif field.type == "integer":
			if isinstance(value, float) and value.is_integer():
				value = int(value)  # JSON does not tell 30 from 30.0
			if not isinstance(value, int) or isinstance(value, bool):
				raise ApiError(400, f"{name} must be an integer.", name)
		elif not isinstance(value, str):
			raise ApiError(400, f"{name} must be a string.", name)
		elif field.max_length and len(value) > field.max_length:
			# As the document's maxLength counts: the value as sent, before the controller trims it.
			raise ApiError(
				400, f"{name} may be at most {field.max_length} characters long (it has {len(value)}).", name
			)
		if field.enum:
			if value not in field.enum:
				raise ApiError(400, f"{name} must be one of: {', '.join(field.enum)}.", name)
			value = workflow.label_of(value)
		elif field.format == "date-time":
			value = parse_datetime(value, name)
		values[name] = value
	return values


def from_doc(row) -> dict:
	"""The API object for a document or a row with COLUMNS."""
	get = row.get
	obj = {"id": get("name"), "created_at": iso_utc(get("creation")), "updated_at": iso_utc(get("modified"))}
	for field in FIELDS:
		value = get(field.name)
		if field.name == "scheduled_time":
			value = iso_utc(value)
		elif field.name == "status":
			value = workflow.value_of(value)
		elif field.type == "array":
			value = json.loads(value) if isinstance(value, str) and value else (value or [])
		elif value == "":
			value = None
		obj[field.name] = value
	return obj


# -- query parameters ---------------------------------------------------------------------------


def only_known_params(args, known):
	"""Each parameter is one of `known`, given once; else a 400 naming it."""
	for name in args:
		if name not in known:
			raise ApiError(400, f"Unknown query parameter: {name}.", name)
		if len(args.getlist(name)) > 1:
			raise ApiError(400, f"{name} was given more than once.", name)


def parse_list_params(args) -> ListQuery:
	"""The list query the query string asks for; anything unknown or malformed is a 400."""
	only_known_params(args, LIST_PARAMS_BY_NAME)

	def integer(param: QueryParam) -> int:
		raw = args.get(param.name)
		if raw is None:
			return param.default
		if not re.fullmatch(r"\d{1,9}", raw):
			raise ApiError(400, f"{param.name} must be a whole number.", param.name)
		value = int(raw)
		if value < param.minimum or (param.maximum is not None and value > param.maximum):
			bounds = (
				f"from {param.minimum} to {param.maximum}" if param.maximum else f"at least {param.minimum}"
			)
			raise ApiError(400, f"{param.name} must be {bounds}.", param.name)
		return value

	limit = integer(LIST_PARAMS_BY_NAME["limit"])
	offset = integer(LIST_PARAMS_BY_NAME["offset"])
	cursors = {}
	for name in ("starting_after", "ending_before"):
		if (raw := args.get(name)) is not None:
			if not raw.strip() or len(raw) > 140:
				raise ApiError(400, f"{name} must be the id of an appointment.", name)
			cursors[name] = raw.strip()
	if len(cursors) > 1:
		raise ApiError(400, "Give starting_after or ending_before, not both.", "ending_before")
	if cursors and offset:  # offset=0 is what generated clients send by default: no offset
		raise ApiError(400, f"offset cannot be combined with {next(iter(cursors))}.", "offset")

	filters = []
	if (raw := args.get("status")) is not None:
		values = [v.strip() for v in raw.split(",")]
		unknown = [v for v in values if v not in workflow.VALUES]
		if unknown or not values:
			raise ApiError(400, f"status must be one or more of: {', '.join(workflow.VALUES)}.", "status")
		filters.append(["status", "in", [workflow.label_of(v) for v in values]])
	for name in ("customer_email", "appointment_with", "party", "host", "appointment_type"):
		if (raw := args.get(name)) is not None:
			if not raw.strip():
				raise ApiError(400, f"{name} cannot be blank.", name)
			if name == "customer_email" and validate_email_address(raw.strip()) != raw.strip():
				raise ApiError(400, "customer_email must be an email address.", name)
			filters.append([name, "=", raw.strip().lower() if name == "customer_email" else raw.strip()])
	if (raw := args.get("scheduled_from")) is not None:
		filters.append(["scheduled_time", ">=", parse_datetime(raw, "scheduled_from")])
	if (raw := args.get("scheduled_to")) is not None:
		filters.append(["scheduled_time", "<", parse_datetime(raw, "scheduled_to")])
	return ListQuery(limit, offset, filters, **cursors)


# -- slots --------------------------------------------------------------------------------------

MAX_SLOT_RANGE_DAYS = 62
SLOT_PARAMS = (
	QueryParam("start", format="date", description="The first day (YYYY-MM-DD), in time_zone."),
	QueryParam(
		"end",
		format="date",
		description=f"The last day (YYYY-MM-DD), in time_zone; at most {MAX_SLOT_RANGE_DAYS} days after start.",
	),
	QueryParam("time_zone", description="An IANA time zone, e.g. Europe/Berlin; default the site's."),
	QueryParam(
		"type",
		description="Extension: the appointment type's id (its slug); default the oldest enabled public "
		"type. Its duration, interval, buffers, notice, horizon, hosts and most a day apply.",
	),
	QueryParam(
		"host",
		description="Only this host's free time: for staff a user id or a host's public handle (slug); a "
		"guest may give a handle only where the type lets the customer pick. Default any of the type's hosts.",
	),
	QueryParam(
		"duration",
		"integer",
		minimum=controller.MIN_DURATION,
		maximum=controller.MAX_DURATION,
		description="Minutes; default the type's duration.",
	),
)
SLOT_PARAMS_BY_NAME = {p.name: p for p in SLOT_PARAMS}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class SlotParams:
	start: date
	end: date
	time_zone: str
	host: str | None
	duration: int | None
	type: str | None = None


def parse_slot_params(args) -> SlotParams:
	only_known_params(args, SLOT_PARAMS_BY_NAME)
	days = {}
	for name in ("start", "end"):
		raw = args.get(name)
		if raw is None:
			raise ApiError(400, f"Missing required query parameter: {name}.", name)
		try:
			if not ISO_DATE.match(raw):
				raise ValueError
			days[name] = date.fromisoformat(raw)
		except ValueError:
			raise ApiError(400, f"{name} must be a date like 2024-01-15.", name) from None
		if not MIN_YEAR <= days[name].year <= MAX_YEAR:
			raise ApiError(400, f"{name} must fall in the years {MIN_YEAR} to {MAX_YEAR}.", name)
	if days["end"] < days["start"]:
		raise ApiError(400, "end must be on or after start.", "end")
	if (days["end"] - days["start"]).days > MAX_SLOT_RANGE_DAYS:
		raise ApiError(400, f"end may be at most {MAX_SLOT_RANGE_DAYS} days after start.", "end")
	time_zone = args.get("time_zone")
	if time_zone is None:
		time_zone = site_zone().key
	elif time_zone not in available_zones():
		raise ApiError(400, "time_zone must be an IANA time zone, like Europe/Berlin.", "time_zone")
	host = args.get("host")
	if host is not None and (not host.strip() or len(host) > controller.MAX_DATA_LENGTH):
		raise ApiError(400, "host must be the user id of a host.", "host")
	duration = args.get("duration")
	if duration is not None:
		param = SLOT_PARAMS_BY_NAME["duration"]
		if not re.fullmatch(r"\d{1,9}", duration) or not param.minimum <= int(duration) <= param.maximum:
			raise ApiError(
				400,
				f"duration must be a whole number of minutes from {param.minimum} to {param.maximum}.",
				"duration",
			)
		duration = int(duration)
	kind = args.get("type")
	if kind is not None and (not kind.strip() or len(kind) > controller.MAX_DATA_LENGTH):
		raise ApiError(400, "type must be the id of an appointment type.", "type")
	return SlotParams(
		days["start"],
		days["end"],
		time_zone,
		host.strip() if host else None,
		duration,
		kind.strip() if kind else None,
	)


@functools.cache
def available_zones() -> frozenset:
	return frozenset(zoneinfo.available_timezones())


# -- self-service booking -----------------------------------------------------------------------

# The booking page's hidden field: people leave it empty, form-filling bots do not.
HONEYPOT = "website"
START = ApiField(
	"start",
	required=True,
	format="date-time",
	pattern=YEAR_PATTERN,
	description="A start offered by GET /api/crm/slots (ISO 8601 with Z or an offset). Anything else, "
	"or a slot taken meanwhile, is a 409 naming start.",
)
CUSTOMER_TIME_ZONE = ApiField(
	"time_zone",
	max_length=64,
	description="The IANA time zone the customer reads times in (the emails use it); default the site's.",
)
BOOKING_TYPE = ApiField(
	"type",
	max_length=controller.MAX_DATA_LENGTH,
	description="Extension: the appointment type's id (its slug); default the oldest enabled public type.",
)
BOOKING_HOST = ApiField(
	"host",
	max_length=controller.MAX_DATA_LENGTH,
	description="Extension: a host's public handle (slug), only where the type lets the customer pick; "
	"a host not in the type is a 400 naming host.",
)
BOOKING_ANSWERS = ApiField(
	"answers",
	type="object",
	description="Extension: the answers to the type's questions, an object label -> text; every "
	"required one answered, no unknown one (else a 400 naming answers).",
)
BOOKING_FIELDS = (
	FIELDS_BY_NAME["customer_name"],
	FIELDS_BY_NAME["customer_email"],
	START,
	FIELDS_BY_NAME["customer_phone_number"],
	FIELDS_BY_NAME["customer_details"],
	CUSTOMER_TIME_ZONE,
	BOOKING_TYPE,
	BOOKING_HOST,
	BOOKING_ANSWERS,
	ApiField(
		HONEYPOT,
		max_length=0,
		description="Leave out or empty. The booking page's hidden field: a request that fills it is refused.",
	),
)
RESCHEDULE_FIELDS = (START, CUSTOMER_TIME_ZONE)
CANCEL_FIELDS = (
	ApiField(
		"reason",
		max_length=controller.MAX_REASON_LENGTH,
		description="Why (optional); kept in the appointment's timeline.",
	),
)


def parse_body(body, fields: tuple[ApiField, ...]) -> dict:
	"""A body of plain string fields: unknown ones, missing required ones, wrong types and over-long
	values are a 400 naming them; `null` is the same as leaving a field out. Date-times come back aware
	(UTC), time zones checked."""
	if not isinstance(body, dict):
		raise ApiError(400, "The request body must be a JSON object.")
	by_name = {f.name: f for f in fields}
	for name in body:
		if name not in by_name:
			raise ApiError(400, f"Unknown field: {name}.", name)
	if body.get(HONEYPOT):
		raise ApiError(400, "The request was refused.")
	values = {}
	for field in fields:
		value = body.get(field.name)
		if value is None:
			if field.required:
				raise ApiError(400, f"Missing required field: {field.name}.", field.name)
			continue
		if field.type == "object":
			if not isinstance(value, dict) or not all(
				isinstance(v, str | bool)
				and isinstance(k, str)
				and len(v if isinstance(v, str) else "") <= 2000
				for k, v in value.items()
			):
				raise ApiError(
					400,
					f"{field.name} must be an object of texts (at most 2000 characters each).",
					field.name,
				)
			values[field.name] = value
			continue
		if not isinstance(value, str):
			raise ApiError(400, f"{field.name} must be a string.", field.name)
		if field.max_length is not None and len(value) > field.max_length:
			raise ApiError(
				400,
				f"{field.name} may be at most {field.max_length} characters long (it has {len(value)}).",
				field.name,
			)
		if field.format == "date-time":
			value = parse_instant(value, field.name)
		elif field.name == "time_zone" and value not in available_zones():
			raise ApiError(400, "time_zone must be an IANA time zone, like Europe/Berlin.", "time_zone")
		values[field.name] = value
	values.pop(HONEYPOT, None)
	return values


def booking_from_doc(doc, host_name: str | None, with_customer: bool = False) -> dict:
	"""What a booking's customer is shown of it: never who else is booked, nor the host's id."""
	obj = {
		"id": doc.name,
		"status": workflow.value_of(doc.status),
		"scheduled_time": iso_utc(doc.scheduled_time),
		"duration": doc.duration,
		"host_name": host_name,
		# Extensions (contract.md, "Appointment types"): what kind, and where it takes place.
		"appointment_type": doc.appointment_type or None,
		"location": doc.location or None,
	}
	if with_customer:
		obj["customer_name"] = doc.customer_name
	return obj


# -- appointment types ----------------------------------------------------------------------------


def type_from_doc(appointment_type, hosts: list[dict] | None) -> dict:
	"""An appointment type as the API shows it (GET /api/crm/appointment_types): its effective
	duration, how it takes place, its questions, and (`hosts`, where shown) its hosts' public facts."""
	from crm_appointments.crm_appointments.doctype.crm_appointment_type.crm_appointment_type import choices

	return {
		"id": appointment_type.name,
		"title": appointment_type.title,
		"description": appointment_type.description or None,
		"duration": appointment_type.effective().duration,
		"location_kind": appointment_type.location_kind or None,
		"host_choice": appointment_type.host_choice,
		"questions": [
			{
				"label": q.label,
				"kind": q.kind,
				"options": choices(q) if q.kind == "Select" else [],
				"required": bool(q.required),
			}
			for q in appointment_type.questions
		],
		"hosts": hosts if hosts is not None else [],
	}
