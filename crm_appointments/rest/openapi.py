"""The OpenAPI 3.1 description of the REST API, built from the same tables (schema.py) the
validation reads, so the two cannot drift."""

from crm_appointments.rest import schema
from crm_appointments.rest.errors import DEFAULT_MESSAGES, ERROR_TYPES

JSON = "application/json"


def _set(out: dict, **keywords) -> dict:
	"""Add the JSON Schema keywords that have a value."""
	out.update({key: value for key, value in keywords.items() if value is not None})
	return out


STATUS = {"$ref": "#/components/schemas/Status"}


def _field_schema(field: schema.ApiField, nullable: bool) -> dict:
	if field.enum:  # the one enum, status, is a component of its own
		return dict(STATUS)
	out = _set(
		{"type": [field.type, "null"] if nullable else field.type},
		format=field.format,
		maxLength=field.max_length,
		minimum=field.minimum,
		maximum=field.maximum,
		pattern=field.pattern,
		readOnly=field.read_only or None,
		description=field.description or None,
	)
	if field.required and field.type == "string" and not field.format:
		out["minLength"] = 1  # required text may not be blank
		out.setdefault("pattern", r"\S")
	if field.type == "array":  # answers: the questions asked and what the customer said
		out["items"] = {
			"type": "object",
			"properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
			"required": ["question", "answer"],
			"additionalProperties": False,
		}
	elif field.type == "object":  # a booking's answers: label -> text
		out["additionalProperties"] = {"type": ["string", "boolean"], "maxLength": 2000}
	return out


def _status() -> dict:
	field = schema.FIELDS_BY_NAME["status"]
	return {"type": "string", "enum": list(field.enum), "description": field.description}


def _appointment() -> dict:
	properties = {
		"id": {"type": "string", "pattern": "^appointment_[a-z0-9]{12,}$"},
		"created_at": {"type": "string", "format": "date-time"},
		"updated_at": {"type": "string", "format": "date-time"},
	}
	for field in schema.FIELDS:
		properties[field.name] = _field_schema(field, nullable=not field.required and field.type == "string")
	return {
		"type": "object",
		"properties": properties,
		"required": list(properties),
		"additionalProperties": False,
	}


def _body(creating: bool) -> dict:
	properties = {f.name: _field_schema(f, nullable=not f.required) for f in schema.WRITABLE}
	body = {"type": "object", "properties": properties, "additionalProperties": False}
	if creating:
		body["required"] = [f.name for f in schema.FIELDS if f.required]
	return body


def _error(status: int) -> dict:
	response = {
		"description": DEFAULT_MESSAGES.get(status, "Error"),
		"content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
	}
	if status == 400:
		# A request line longer than the WSGI server's limit (gunicorn: 4,094 bytes) is refused by that
		# server, before the app sees the request: its 400 is a short HTML page.
		response["description"] += " (Over-long request lines: the WSGI server's own HTML 400.)"
		response["content"]["text/html"] = {"schema": {"type": "string"}}
	if status == 401:
		response["headers"] = {
			"WWW-Authenticate": {
				"schema": {"type": "string"},
				"description": "The scheme to authenticate with.",
			}
		}
	return response


def _responses(ok: dict, *errors: int) -> dict:
	responses = {"200": ok}
	for status in sorted({400, 401, 429, 500, 503, *errors}):
		responses[str(status)] = _error(status)
	return responses


def _object_ok(description: str) -> dict:
	return {
		"description": description,
		"headers": {"ETag": {"schema": {"type": "string"}, "description": "Send it back in If-Match."}},
		"content": {JSON: {"schema": {"$ref": "#/components/schemas/Appointment"}}},
		"links": OBJECT_LINKS,
	}


# What a client can do next with an object it was given (OpenAPI links; schemathesis follows them in
# its stateful run): read, change or delete it by its id and ETag, or list from it with a cursor.
OBJECT_LINKS = {
	"GetAppointment": {"operationId": "getAppointment", "parameters": {"id": "$response.body#/id"}},
	"UpdateAppointment": {
		"operationId": "updateAppointment",
		"parameters": {"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"},
	},
	"DeleteAppointment": {
		"operationId": "deleteAppointment",
		"parameters": {"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"},
	},
	"ListAfterAppointment": {
		"operationId": "listAppointments",
		"parameters": {"starting_after": "$response.body#/id"},
	},
}


def _query_param(param: schema.QueryParam) -> dict:
	out = _set(
		{"type": param.type},
		format=param.format,
		minimum=param.minimum,
		maximum=param.maximum,
		default=param.default,
	)
	if param.type == "string" and not param.format:
		out.update({"minLength": 1, "pattern": r"\S"})
	if param.format == "date":
		out["pattern"] = r"^\d{4}-\d{2}-\d{2}$"
	if param.name == "status":
		values = "|".join(schema.FIELDS_BY_NAME["status"].enum)
		out["pattern"] = rf"^\s*({values})\s*(,\s*({values})\s*)*$"
	return {
		"name": param.name,
		"in": "query",
		"required": False,
		"description": param.description,
		"schema": out,
	}


ID_PARAM = {
	"name": "id",
	"in": "path",
	"required": True,
	"description": "The appointment's id.",
	"schema": {"type": "string"},
}
IF_MATCH = {
	"name": "If-Match",
	"in": "header",
	"required": False,
	"description": "An ETag from an earlier response (or *): the request fails with 412 if the object "
	"changed since.",
	"schema": {"type": "string", "minLength": 1, "pattern": r"\S"},
}
IDEMPOTENCY_KEY = {
	"name": "Idempotency-Key",
	"in": "header",
	"required": False,
	"description": "Retries with the same key and body return the first response; kept 24 hours.",
	"schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _calendar_feed() -> dict:
	"""A host's calendar feed: for calendar apps, with the secret in the path as the credential."""
	validators = {
		"ETag": {"schema": {"type": "string"}, "description": "Send it back in If-None-Match."},
		"Last-Modified": {"schema": {"type": "string"}, "description": "Send it back in If-Modified-Since."},
		"Cache-Control": {"schema": {"type": "string"}},
	}
	not_found = _error(404)
	not_found["description"] = (
		"No calendar feed at this address: the same for a wrong, revoked or replaced secret and for a "
		"disabled host."
	)
	return {
		"parameters": [
			{
				"name": "secret",
				"in": "path",
				"required": True,
				"description": "The feed's secret, from the host's form (Calendar Feed > Turn On).",
				"schema": {"type": "string"},
			}
		],
		"get": {
			"operationId": "getCalendarFeed",
			"summary": "A host's appointments as an iCalendar feed to subscribe to",
			"description": "From 30 days back to the booking horizon; cancelled ones stay listed, "
			"STATUS:CANCELLED, for 14 days after they were cancelled. The secret is the credential: "
			"no other is needed. HEAD works too.",
			"security": [],
			"parameters": [
				{
					"name": "If-None-Match",
					"in": "header",
					"required": False,
					"description": "The ETag of the feed the client has: 304 while it is current.",
					"schema": {"type": "string"},
				},
				{
					"name": "If-Modified-Since",
					"in": "header",
					"required": False,
					"description": "An HTTP date; used when If-None-Match is not sent.",
					"schema": {"type": "string"},
				},
			],
			"responses": {
				**_responses(
					{
						"description": "The feed (RFC 5545)",
						"headers": validators,
						"content": {"text/calendar": {"schema": {"type": "string"}}},
					},
				),
				"304": {"description": "Not modified since the ETag or date given", "headers": validators},
				"404": not_found,
			},
		},
	}


def document() -> dict:
	return {
		"openapi": "3.1.0",
		"info": {
			"title": "CRM Appointments API",
			"version": "1",
			"description": "Appointments on a Frappe site. Errors always have the Error shape.",
		},
		"servers": [{"url": "/"}],
		"security": [{"secretKey": []}, {"frappeToken": []}, {"session": []}],
		"paths": {
			"/api/crm/appointment": {
				"get": {
					"operationId": "listAppointments",
					"summary": "List all appointments, newest first",
					"parameters": [_query_param(p) for p in schema.LIST_PARAMS],
					"responses": _responses(
						{
							"description": "A page of appointments",
							"content": {JSON: {"schema": {"$ref": "#/components/schemas/AppointmentList"}}},
						},
						400,
						403,
					),
				},
				"post": {
					"operationId": "createAppointment",
					"summary": "Create an appointment",
					"parameters": [IDEMPOTENCY_KEY],
					"requestBody": {
						"required": True,
						"content": {JSON: {"schema": {"$ref": "#/components/schemas/AppointmentCreate"}}},
					},
					"responses": _responses(_object_ok("The new appointment"), 400, 403, 409, 413),
				},
			},
			"/api/crm/appointment/{id}": {
				"parameters": [ID_PARAM],
				"get": {
					"operationId": "getAppointment",
					"summary": "Retrieve an appointment",
					"responses": _responses(_object_ok("The appointment"), 404),
				},
				"patch": {
					"operationId": "updateAppointment",
					"summary": "Update an appointment; fields left out stay as they are",
					"parameters": [IF_MATCH],
					"requestBody": {
						"required": True,
						"content": {JSON: {"schema": {"$ref": "#/components/schemas/AppointmentUpdate"}}},
					},
					"responses": _responses(
						_object_ok("The updated appointment"), 400, 403, 404, 409, 412, 413
					),
				},
				"delete": {
					"operationId": "deleteAppointment",
					"summary": "Delete an appointment (Frappe keeps a restorable copy)",
					"parameters": [IF_MATCH],
					"responses": _responses(
						{
							"description": "Deleted",
							"content": {JSON: {"schema": {"$ref": "#/components/schemas/Deleted"}}},
						},
						400,
						403,
						404,
						412,
					),
				},
			},
			"/api/crm/slots": {
				"get": {
					"operationId": "listSlots",
					"summary": "Free times at which at least one enabled host can be booked",
					"description": "Staff who may read appointments; guests too while public booking is "
					"enabled in the settings (otherwise a guest gets 404).",
					"x-guest-allowed": True,
					"security": GUEST_OK,
					"parameters": [
						{**_query_param(p), "required": p.name in ("start", "end")}
						for p in schema.SLOT_PARAMS
					],
					"responses": _rate_limited(
						_responses(
							{
								"description": "Free slots, earliest first",
								"content": {JSON: {"schema": {"$ref": "#/components/schemas/SlotList"}}},
							},
							400,
							403,
							404,
						)
					),
				}
			},
			"/api/crm/appointment_types": {
				"get": {
					"operationId": "listAppointmentTypes",
					"summary": "The kinds of appointment that can be booked",
					"description": "Guests, while public booking is enabled (otherwise 404): the enabled "
					"public types, with hosts (public handle, name, photo) only where the customer picks. "
					"Staff who may read types: every enabled type, with its hosts. Oldest first: the first "
					"public one is what a booking that names no type books.",
					"x-guest-allowed": True,
					"security": GUEST_OK,
					"responses": _rate_limited(
						_responses(
							{
								"description": "The types, oldest first",
								"content": {JSON: {"schema": _ref("AppointmentTypeList")}},
							},
							403,
							404,
						)
					),
				}
			},
			"/api/crm/calendar/{secret}.ics": _calendar_feed(),
			**booking_paths(),
			"/api/crm/openapi.json": {
				"get": {
					"operationId": "getOpenApi",
					"summary": "This document",
					"security": [],
					"responses": {
						"200": {
							"description": "OpenAPI 3.1",
							"content": {JSON: {"schema": {"type": "object"}}},
						},
						"400": _error(400),
					},
				}
			},
		},
		"components": {
			"securitySchemes": {
				"secretKey": {
					"type": "http",
					"scheme": "bearer",
					"description": "An app-issued secret key, sk_live_... or sk_test_...; or a Frappe OAuth2 token.",
				},
				"frappeToken": {
					"type": "apiKey",
					"in": "header",
					"name": "Authorization",
					"description": "token <api_key>:<api_secret>",
				},
				"session": {"type": "apiKey", "in": "cookie", "name": "sid"},
			},
			"schemas": {
				"Status": _status(),
				"Appointment": _appointment(),
				"AppointmentCreate": _body(creating=True),
				"AppointmentUpdate": _body(creating=False),
				"AppointmentList": {
					"type": "object",
					"properties": {
						"data": {"type": "array", "items": {"$ref": "#/components/schemas/Appointment"}},
						"has_more": {"type": "boolean"},
						"total": {"type": "integer", "minimum": 0},
					},
					"required": ["data", "has_more", "total"],
					"additionalProperties": False,
				},
				"SlotList": {
					"type": "object",
					"properties": {
						"data": {
							"type": "array",
							"items": {
								"type": "object",
								"properties": {
									"start": {"type": "string", "format": "date-time"},
									"end": {"type": "string", "format": "date-time"},
								},
								"required": ["start", "end"],
								"additionalProperties": False,
							},
						},
						"time_zone": {"type": "string"},
					},
					"required": ["data", "time_zone"],
					"additionalProperties": False,
				},
				**booking_schemas(),
				"AppointmentTypeList": {
					"type": "object",
					"properties": {"data": {"type": "array", "items": _ref("AppointmentType")}},
					"required": ["data"],
					"additionalProperties": False,
				},
				"AppointmentType": {
					"type": "object",
					"properties": {
						"id": {"type": "string", "description": "The slug: /book/<id>."},
						"title": {"type": "string"},
						"description": {"type": ["string", "null"]},
						"duration": {"type": "integer", "description": "Minutes."},
						"location_kind": {"enum": ["In person", "Phone", "Video", None]},
						"host_choice": {"enum": ["Any free host", "Customer picks"]},
						"questions": {
							"type": "array",
							"items": {
								"type": "object",
								"properties": {
									"label": {"type": "string"},
									"kind": {"enum": ["Data", "Long Text", "Select", "Check"]},
									"options": {"type": "array", "items": {"type": "string"}},
									"required": {"type": "boolean"},
								},
								"required": ["label", "kind", "options", "required"],
								"additionalProperties": False,
							},
						},
						"hosts": {
							"type": "array",
							"items": {
								"type": "object",
								"properties": {
									"id": {"type": "string", "description": "The host's public handle."},
									"name": {"type": "string"},
									"photo": {"type": ["string", "null"]},
								},
								"required": ["id", "name", "photo"],
								"additionalProperties": False,
							},
						},
					},
					"required": [
						"id",
						"title",
						"description",
						"duration",
						"location_kind",
						"host_choice",
						"questions",
						"hosts",
					],
					"additionalProperties": False,
				},
				"Deleted": {
					"type": "object",
					"properties": {"id": {"type": "string"}, "deleted": {"const": True}},
					"required": ["id", "deleted"],
					"additionalProperties": False,
				},
				"Error": {
					"type": "object",
					"properties": {
						"error": {
							"type": "object",
							"properties": {
								"type": {"enum": sorted(set(ERROR_TYPES.values()))},
								"message": {"type": "string"},
								"param": {"type": ["string", "null"]},
							},
							"required": ["type", "message", "param"],
							"additionalProperties": False,
						}
					},
					"required": ["error"],
					"additionalProperties": False,
				},
			},
		},
	}


# -- self-service booking (contract.md: Bookings, Managing a booking) ---------------------------------

# Operations a guest may call carry an empty security requirement (no credentials) and say so.
GUEST_OK = [{}, {"secretKey": []}, {"frappeToken": []}, {"session": []}]
TOKEN_PARAM = {
	"name": "token",
	"in": "path",
	"required": True,
	"description": "The manage token from the booking's confirmation email (it is the credential).",
	"schema": {"type": "string", "minLength": 1},
}


def _ref(name: str) -> dict:
	return {"$ref": f"#/components/schemas/{name}"}


def _rate_limited(responses: dict) -> dict:
	responses["429"] = {
		**responses["429"],
		"description": "Too many requests from this client address (guests only).",
		"headers": {
			"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until the limit resets."}
		},
	}
	return responses


def _plain_body(fields, required: bool = True) -> dict:
	properties = {}
	for field in fields:
		out = _field_schema(field, nullable=not field.required)
		if field.name == schema.HONEYPOT:
			out = {"type": ["string", "null"], "maxLength": 0, "description": field.description}
		properties[field.name] = out
	body = {"type": "object", "properties": properties, "additionalProperties": False}
	if any(f.required for f in fields):
		body["required"] = [f.name for f in fields if f.required]
	return body


def booking_paths() -> dict:
	def booking_ok(description: str, name: str) -> dict:
		return {"description": description, "content": {JSON: {"schema": _ref(name)}}}

	return {
		"/api/crm/bookings": {
			"post": {
				"operationId": "createBooking",
				"summary": "Book a free slot (guests allowed while public booking is on)",
				"description": "Guests may call this while public booking is enabled in the settings "
				"(otherwise a guest gets 404); staff who may create appointments always. The start must "
				"be one GET /api/crm/slots offers; a free host is chosen. The customer is emailed the "
				"invitation and a private manage link. Guests are rate-limited per client address.",
				"x-guest-allowed": True,
				"security": GUEST_OK,
				"parameters": [IDEMPOTENCY_KEY],
				"requestBody": {"required": True, "content": {JSON: {"schema": _ref("BookingCreate")}}},
				"responses": _rate_limited(
					_responses(booking_ok("The booking", "Booking"), 400, 403, 404, 409, 413)
				),
			}
		},
		"/api/crm/bookings/{token}": {
			"parameters": [TOKEN_PARAM],
			"get": {
				"operationId": "getBooking",
				"summary": "The booking a manage token stands for",
				"description": "Anyone with the token. An unknown token is a 404, whatever the reason.",
				"x-guest-allowed": True,
				"security": GUEST_OK,
				"responses": _rate_limited(_responses(booking_ok("The booking", "ManagedBooking"), 404)),
			},
		},
		"/api/crm/bookings/{token}/cancel": {
			"parameters": [TOKEN_PARAM],
			"post": {
				"operationId": "cancelBooking",
				"summary": "Cancel the booking (while it is live and has not started; else 409)",
				"x-guest-allowed": True,
				"security": GUEST_OK,
				"requestBody": {"required": False, "content": {JSON: {"schema": _ref("BookingCancel")}}},
				"responses": _rate_limited(
					_responses(booking_ok("The cancelled booking", "ManagedBooking"), 404, 409, 413)
				),
			},
		},
		"/api/crm/bookings/{token}/reschedule": {
			"parameters": [TOKEN_PARAM],
			"post": {
				"operationId": "rescheduleBooking",
				"summary": "Move the booking to another free slot (while live and not started; else 409)",
				"x-guest-allowed": True,
				"security": GUEST_OK,
				"requestBody": {"required": True, "content": {JSON: {"schema": _ref("BookingReschedule")}}},
				"responses": _rate_limited(
					_responses(booking_ok("The moved booking", "ManagedBooking"), 404, 409, 413)
				),
			},
		},
	}


def booking_schemas() -> dict:
	booking = {
		"id": {"type": "string", "pattern": "^appointment_[a-z0-9]{12,}$"},
		"status": STATUS,
		"scheduled_time": {"type": "string", "format": "date-time"},
		"duration": {"type": "integer"},
		"host_name": {"type": ["string", "null"], "description": "Who the customer meets."},
		"appointment_type": {"type": ["string", "null"], "description": "Extension: the type's id."},
		"location": {
			"type": ["string", "null"],
			"description": "Extension: where it takes place (an address, a phone number, a meeting link).",
		},
	}
	managed = {**booking, "customer_name": {"type": "string"}}
	return {
		"BookingCreate": _plain_body(schema.BOOKING_FIELDS),
		"BookingReschedule": _plain_body(schema.RESCHEDULE_FIELDS),
		"BookingCancel": _plain_body(schema.CANCEL_FIELDS),
		"Booking": {
			"type": "object",
			"properties": booking,
			"required": list(booking),
			"additionalProperties": False,
		},
		"ManagedBooking": {
			"type": "object",
			"properties": managed,
			"required": list(managed),
			"additionalProperties": False,
		},
	}
