"""The booking API (``/api/v1``): appointments, availability and notifications as JSON.

:mod:`bridge.api.web` mounts it on the sidecar; :mod:`bridge.api.model` converts between JSON
and iCalendar; :mod:`bridge.api.openapi` holds the OpenAPI 3.1 document the tests check the
implementation against.
"""
