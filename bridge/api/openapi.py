"""The OpenAPI 3.1 document of the booking API, served at ``/api/v1/openapi.json``.

Written by hand next to the handlers; ``tests/api/test_schemathesis.py`` drives the served
application with requests generated from this document and fails on any 5xx or any response
that does not match it, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

from bridge import __version__

__all__ = ["openapi_document"]

_JSON = "application/json"
_PROBLEM = "application/problem+json"
_DT = {"type": "string", "format": "date-time"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_PROBLEM: {"schema": _ref("Problem")}}}


_ERRORS = {
    "400": _problem("Malformed request (bad JSON or header)"),
    "401": _problem("Missing, unknown or revoked API key"),
    "403": _problem("The API key lacks the needed scope (write for changes; admin for "
                    "notification endpoints and calendar settings)"),
    "404": _problem("No such calendar or appointment, or a calendar outside the API key's "
                    "calendars (answered alike)"),
    "422": _problem("Invalid fields; `errors` names each of them"),
    "default": _problem("Any other error"),
}
_WRITE_ERRORS = _ERRORS | {
    "409": {"description": "Conflict: an idempotent request still running, or a booking "
                           "refused by the booking rules (`booking-conflict`: outside the "
                           "working hours or overlapping a busy time; names the rules, the "
                           "conflicting appointments and the nearest free slots)",
            "content": {_PROBLEM: {"schema": _ref("BookingProblem")}}},
    "412": _problem("If-Match does not match the current ETag"),
    "413": _problem("Request body too large"),
    "415": _problem("Body is not application/json"),
}

_CALENDAR_ID = {"name": "calendar_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1}}
_APPOINTMENT_ID = {"name": "appointment_id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": "^[A-Za-z0-9~][A-Za-z0-9._@~=-]*$"}}
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
             "description": "ETag from a previous read; the write fails with 412 when stale",
             "schema": {"type": "string"}}
_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Client-chosen key (1-255 visible ASCII); a retry with the same "
                               "key and body gets the first answer for 24 hours",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": "^[!-~]+$"}}
_ETAG_HEADER = {"ETag": {"description": "Strong entity tag", "schema": {"type": "string"}}}
_RANGE = [
    {"name": "from", "in": "query", "required": True, "description": "Start (ISO 8601 "
     "date-time or date; without offset: the calendar's local time)",
     "schema": {"type": "string"}},
    {"name": "to", "in": "query", "required": True, "description": "End (exclusive)",
     "schema": {"type": "string"}},
]

_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    },
    "BookingProblem": {
        "allOf": [_ref("Problem")],
        "properties": {
            "rules": {"type": "array", "items": {"enum": ["outside-hours", "overlap"]}},
            "conflicts": {"type": "array", "items": {
                "type": "object", "required": ["appointment_id", "start", "end", "reason"],
                "properties": {
                    "appointment_id": {"type": "string"}, "start": _DT, "end": _DT,
                    "reason": {"enum": ["busy", "tentative", "all-day"]},
                    "summary": {"type": "string",
                                "description": "only for a key over every calendar"},
                }}},
            "suggestions": {"type": "array", "items": _ref("Interval")},
        },
    },
    "Calendar": {
        "type": "object",
        "required": ["id", "path", "name", "timezone", "color", "notifications"],
        "properties": {
            "id": {"type": "integer"}, "path": {"type": "string"}, "name": {"type": "string"},
            "timezone": {"type": "string"}, "color": _NULLABLE_STR,
            "notifications": {"type": "object", "required": ["enabled", "language"],
                              "properties": {"enabled": {"type": "boolean"},
                                             "language": {"enum": ["de", "en"]}}},
        },
    },
    "CalendarUpdate": {
        "type": "object", "additionalProperties": False, "required": ["notifications"],
        "properties": {"notifications": {
            "type": "object", "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"}, "language": {"enum": ["de", "en"]}},
        }},
    },
    "Customer": {
        "type": "object",
        "required": ["name", "email", "phone"],
        "properties": {"name": _NULLABLE_STR, "email": _NULLABLE_STR, "phone": _NULLABLE_STR},
    },
    "Appointment": {
        "type": "object",
        "required": ["id", "uid", "calendar_id", "start", "end", "all_day", "recurring",
                     "summary", "status", "customer", "service", "notes", "source", "etag",
                     "created_at", "updated_at"],
        "properties": {
            "id": {"type": "string"}, "uid": {"type": "string"},
            "calendar_id": {"type": "integer"}, "start": _DT, "end": _DT,
            "all_day": {"type": "boolean"}, "recurring": {"type": "boolean"},
            "summary": {"type": "string"},
            "status": {"enum": ["CONFIRMED", "TENTATIVE", "CANCELLED"]},
            "customer": _ref("Customer"), "service": _NULLABLE_STR, "notes": _NULLABLE_STR,
            "source": {"enum": ["api", "caldav", "google", "microsoft", "import", "admin",
                                "booking", "other"]},
            "etag": {"type": "string"}, "created_at": _DT, "updated_at": _DT,
        },
    },
    "AppointmentCreate": {
        "type": "object", "additionalProperties": False, "required": ["start", "customer"],
        "description": "Give `end` or `duration_minutes`. Times without offset are local to "
                       "the calendar's time zone.",
        "properties": {
            "start": _DT, "end": _DT,
            "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
            "summary": {"type": "string", "maxLength": 200},
            "status": {"enum": ["CONFIRMED", "TENTATIVE"]},
            "customer": {
                "type": "object", "additionalProperties": False, "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "email": {"type": "string", "format": "email", "maxLength": 254},
                    "phone": {"type": "string", "pattern": "^\\+?[0-9 ()./-]{3,40}$"},
                },
            },
            "service": {"type": "string", "maxLength": 200},
            "notes": {"type": "string", "maxLength": 5000},
            "allow_conflict": {"type": "boolean", "description": "true: book even when the "
                               "booking rules refuse the time (recorded in the ledger)"},
        },
    },
    "AppointmentUpdate": {
        "type": "object", "additionalProperties": False,
        "description": "Only the fields given change; `null` clears an optional field.",
        "properties": {
            "start": _DT, "end": _DT,
            "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 10080},
            "summary": {"type": ["string", "null"], "maxLength": 200},
            "status": {"enum": ["CONFIRMED", "TENTATIVE", "CANCELLED"]},
            "customer": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
                    "phone": {"type": ["string", "null"],
                              "pattern": "^\\+?[0-9 ()./-]{3,40}$"},
                },
            },
            "service": {"type": ["string", "null"], "maxLength": 200},
            "notes": {"type": ["string", "null"], "maxLength": 5000},
            "allow_conflict": {"type": "boolean", "description": "true: book even when the "
                               "booking rules refuse the time (recorded in the ledger)"},
        },
    },
    "AppointmentPage": {
        "type": "object", "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": _ref("Appointment")},
                       "next_cursor": _NULLABLE_STR},
    },
    "Interval": {"type": "object", "required": ["start", "end"],
                 "properties": {"start": _DT, "end": _DT}},
    "Availability": {
        "type": "object",
        "required": ["calendar_id", "timezone", "from", "to", "duration_minutes", "windows",
                     "slots"],
        "properties": {
            "calendar_id": {"type": "integer"}, "timezone": {"type": "string"},
            "from": _DT, "to": _DT, "duration_minutes": {"type": "integer"},
            "windows": {"type": "array", "items": _ref("Interval")},
            "slots": {"type": "array", "items": _ref("Interval")},
            "blocked": {"type": "array", "items": {
                "type": "object", "required": ["start", "end", "blocked_by"],
                "properties": {
                    "start": _DT, "end": _DT,
                    "blocked_by": {"type": "array", "items": {
                        "type": "object",
                        "required": ["appointment_id", "uid", "summary", "kind", "reason",
                                     "start", "end"],
                        "properties": {
                            "appointment_id": {"type": "string"}, "uid": {"type": "string"},
                            "summary": {"type": "string"},
                            "kind": {"enum": ["appointment", "event"]},
                            "reason": {"enum": ["busy", "tentative", "all-day"]},
                            "start": _DT, "end": _DT,
                        },
                    }},
                },
            }},
        },
    },
    "Notification": {
        "type": "object",
        "required": ["id", "calendar_id", "appointment_id", "kind", "channel", "recipient",
                     "language", "state", "attempts", "due_at", "sent_at", "last_error"],
        "properties": {
            "id": {"type": "integer"}, "calendar_id": {"type": "integer"},
            "appointment_id": {"type": "string"},
            "kind": {"enum": ["confirmation", "cancellation", "reminder"]},
            "channel": {"enum": ["email", "webhook"]}, "recipient": _NULLABLE_STR,
            "language": {"type": "string"},
            "state": {"enum": ["pending", "sending", "sent", "failed", "skipped", "cancelled"]},
            "attempts": {"type": "integer"}, "due_at": _DT,
            "sent_at": {"type": ["string", "null"], "format": "date-time"},
            "last_error": _NULLABLE_STR,
        },
    },
    "Preview": {
        "type": "object", "required": ["kind", "language", "recipient", "subject", "body"],
        "properties": {"kind": {"type": "string"}, "language": {"type": "string"},
                       "recipient": _NULLABLE_STR, "subject": {"type": "string"},
                       "body": {"type": "string"}},
    },
}


def _ok(schema: str, description: str, *, etag: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {_JSON: {"schema": _ref(schema)}}}
    if etag:
        out["headers"] = dict(_ETAG_HEADER)
    return out


def _list_of(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref(schema)}}}}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": _ref(schema)}}}


_APPOINTMENT_PATH = "/calendars/{calendar_id}/appointments/{appointment_id}"
_ADMIN_ONLY = "Needs an admin key; a key confined to calendars gets 403."
_PATHS: dict[str, Any] = {
    "/calendars": {"get": {
        "operationId": "listCalendars",
        "summary": "List the calendars the API key may use",
        "responses": {"200": _list_of("Calendar", "Calendars")} | _ERRORS,
    }},
    "/calendars/{calendar_id}": {
        "parameters": [_CALENDAR_ID],
        "get": {"operationId": "getCalendar", "summary": "One calendar",
                "responses": {"200": _ok("Calendar", "The calendar")} | _ERRORS},
        "patch": {"operationId": "updateCalendar",
                  "summary": "Switch customer notifications on/off, set their language",
                  "description": _ADMIN_ONLY,
                  "requestBody": _body("CalendarUpdate"),
                  "responses": {"200": _ok("Calendar", "The calendar")} | _WRITE_ERRORS},
    },
    "/calendars/{calendar_id}/appointments": {
        "parameters": [_CALENDAR_ID],
        "get": {
            "operationId": "listAppointments",
            "summary": "Appointments overlapping a time range, ordered by start",
            "parameters": [
                {"name": "from", "in": "query", "schema": {"type": "string"}},
                {"name": "to", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "next_cursor of the previous page"},
            ],
            "responses": {"200": {**_ok("AppointmentPage", "One page"), "headers": {
                "Link": {"description": "rel=next link", "schema": {"type": "string"}}}}}
            | _ERRORS,
        },
        "post": {
            "operationId": "createAppointment", "summary": "Create an appointment",
            "parameters": [_IDEMPOTENCY], "requestBody": _body("AppointmentCreate"),
            "responses": {"201": {**_ok("Appointment", "Created", etag=True), "headers": {
                **_ETAG_HEADER,
                "Location": {"description": "URL of the new appointment",
                             "schema": {"type": "string"}}}}} | _WRITE_ERRORS,
        },
    },
    _APPOINTMENT_PATH: {
        "parameters": [_CALENDAR_ID, _APPOINTMENT_ID],
        "get": {"operationId": "getAppointment", "summary": "One appointment",
                "parameters": [{"name": "If-None-Match", "in": "header",
                                "schema": {"type": "string"}}],
                "responses": {"200": _ok("Appointment", "The appointment", etag=True),
                              "304": {"description": "Not modified"}} | _ERRORS},
        "patch": {"operationId": "updateAppointment", "summary": "Change some fields",
                  "parameters": [_IF_MATCH], "requestBody": _body("AppointmentUpdate"),
                  "responses": {"200": _ok("Appointment", "Updated", etag=True)}
                  | _WRITE_ERRORS},
        "delete": {"operationId": "deleteAppointment", "summary": "Delete an appointment",
                   "parameters": [_IF_MATCH],
                   "responses": {"204": {"description": "Deleted"}} | _WRITE_ERRORS},
    },
    _APPOINTMENT_PATH + "/cancel": {
        "parameters": [_CALENDAR_ID, _APPOINTMENT_ID],
        "post": {"operationId": "cancelAppointment",
                 "summary": "Cancel (status CANCELLED; the event is kept)",
                 "parameters": [_IF_MATCH, _IDEMPOTENCY],
                 "responses": {"200": _ok("Appointment", "Cancelled", etag=True)}
                 | _WRITE_ERRORS},
    },
    _APPOINTMENT_PATH + "/notifications/preview": {
        "parameters": [_CALENDAR_ID, _APPOINTMENT_ID],
        "get": {"operationId": "previewNotification",
                "summary": "Render the message a customer would get (nothing is sent)",
                "description": _ADMIN_ONLY + " A read key over every calendar may read it too.",
                "parameters": [
                    {"name": "kind", "in": "query",
                     "schema": {"enum": ["confirmation", "cancellation", "reminder"]}},
                    {"name": "language", "in": "query", "schema": {"enum": ["de", "en"]}},
                ],
                "responses": {"200": _ok("Preview", "The rendered message")} | _ERRORS},
    },
    "/calendars/{calendar_id}/availability": {
        "parameters": [_CALENDAR_ID],
        "get": {
            "operationId": "getAvailability",
            "summary": "Free slots: working-hour windows minus busy events",
            "parameters": [*_RANGE,
                           {"name": "duration", "in": "query", "required": True,
                            "description": "Slot length in minutes",
                            "schema": {"type": "integer", "minimum": 5, "maximum": 1440}},
                           {"name": "step", "in": "query",
                            "description": "Minutes between slot starts (default: duration)",
                            "schema": {"type": "integer", "minimum": 5, "maximum": 1440}},
                           {"name": "explain", "in": "query",
                            "schema": {"type": "boolean", "default": False}}],
            "responses": {"200": _ok("Availability", "Slots")} | _ERRORS,
        },
    },
    "/calendars/{calendar_id}/freebusy": {
        "parameters": [_CALENDAR_ID],
        "get": {"operationId": "getFreeBusy", "summary": "Busy intervals as VFREEBUSY",
                "parameters": list(_RANGE),
                "responses": {"200": {"description": "A VCALENDAR with one VFREEBUSY",
                                      "content": {"text/calendar": {
                                          "schema": {"type": "string"}}}}} | _ERRORS},
    },
    "/notifications": {"get": {
        "operationId": "listNotifications",
        "summary": "Notification outbox (failed rows show last_error)",
        "description": _ADMIN_ONLY + " A read key over every calendar may read it too.",
        "parameters": [
            {"name": "state", "in": "query", "schema": {
                "enum": ["pending", "sending", "sent", "failed", "skipped", "cancelled"]}},
            {"name": "calendar_id", "in": "query",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": "appointment_id", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        ],
        "responses": {"200": _list_of("Notification", "Rows")} | _ERRORS,
    }},
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh copy each call)."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {
            "title": "termin-bridge booking API",
            "version": __version__,
            "description": "Appointments, availability and customer notifications. "
                           "Authenticate with `Authorization: Bearer <API key>`; GET needs "
                           "the read scope, writes the write or admin scope. A read or write "
                           "key confined to calendars sees only those (others answer 404 as if "
                           "they did not exist, and are not listed); notification endpoints "
                           "and calendar settings need an admin key.",
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": _PATHS,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "An API key from "
                                                          "`termin-bridge apikey create`"}},
        },
    })
