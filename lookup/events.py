"""API Gateway HTTP API (payload 2.0) events in, JSON bodies out: the parsing the lookup
handler (``lookup/handler.py``) does before and after an operation.

Every part of an event is checked for its type before use, so that whatever the event
holds (a body that is not UTF-8, a header that is not text, an event that is no API
Gateway event at all) is a ``RequestError`` (400) naming the field, never a 500.
"""

from __future__ import annotations

import base64
import json
import uuid

from featurestore.errors import RequestError

try:  # orjson encodes a 100-key answer about 5x faster; the stdlib is the fallback (and
    # what the Lambda zip, pure Python, uses): both give the same JSON values
    import orjson

    def encode_json(body: dict) -> str:
        try:
            return orjson.dumps(body).decode()
        except TypeError:  # a lone surrogate echoed in a message: the stdlib escapes it
            return json.dumps(body, separators=(",", ":"))
except ImportError:  # pragma: no cover - depends on the installed extras
    def encode_json(body: dict) -> str:
        return json.dumps(body, separators=(",", ":"))
JSON_HEADERS = {"content-type": "application/json"}
MAX_MESSAGE = 2000  # characters of an error message; an echoed value may be long


def read_event(event: object) -> tuple[str, str, dict]:
    """``(METHOD, path, headers)`` of an API Gateway HTTP API (payload 2.0) event; a
    RequestError (400) naming the field when the event does not have that shape."""
    if not isinstance(event, dict):
        raise RequestError("the event is not an API Gateway HTTP API (payload 2.0) event: "
                           f"expected a JSON object, got {event_type(event)}")
    context = event.get("requestContext") or {}
    if not isinstance(context, dict):
        raise RequestError(f"the event's `requestContext` must be an object, got "
                           f"{event_type(context)}")
    http = context.get("http") or {}
    if not isinstance(http, dict):
        raise RequestError(f"the event's `requestContext.http` must be an object, got "
                           f"{event_type(http)}")
    method = http.get("method") or "GET"
    if not isinstance(method, str):
        raise RequestError(f"the event's `requestContext.http.method` must be a string, got "
                           f"{event_type(method)}")
    path = event.get("rawPath") or http.get("path") or "/"
    if not isinstance(path, str):
        raise RequestError(f"the event's `rawPath` must be a string, got {event_type(path)}")
    stage = context.get("stage")
    if (stage and isinstance(stage, str) and stage != "$default"
            and path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:]
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        raise RequestError(f"the event's `headers` must be an object, got {event_type(headers)}")
    return method.upper(), path, headers


def header(headers: dict, name: str) -> str | None:
    """One header's text (API Gateway lower-cases names and joins repeats with commas)."""
    value = headers.get(name)
    if value is None or isinstance(value, str):
        return value
    raise RequestError(f"the `{name}` header must be text, got {event_type(value)}")


def event_type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def request_id(event: object) -> str:
    """API Gateway's request id, or a new one when the event has none fit for a header."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    found = context.get("requestId") if isinstance(context, dict) else None
    if isinstance(found, str) and 0 < len(found) <= 200 and found.isascii() and \
            found.isprintable():
        return found
    return uuid.uuid4().hex


def message(text: str) -> str:
    """An error message fit for the body: at most MAX_MESSAGE characters, and UTF-8 (a
    lone surrogate echoed from the request is written as its escape)."""
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}... (message cut at {MAX_MESSAGE} characters)"
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def body_of(event: dict) -> bytes | str | None:
    body = event.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise RequestError(f"the event's `body` must be a string, got {event_type(body)}")
    if event.get("isBase64Encoded") is True and body:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise RequestError("the request body is not valid base64") from None
    if not body.isascii() and not is_utf8(body):
        raise RequestError("the request body is not valid UTF-8 (it holds a lone "
                           "surrogate); send JSON in UTF-8")
    return body


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogate)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
