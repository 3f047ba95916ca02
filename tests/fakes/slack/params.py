"""Reading a Web API request's parameters as Slack does: query string plus a form, JSON or
multipart body, with the parameters the SDK sends as JSON strings decoded."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

# Parameters the SDK sends as JSON strings in form bodies; decoded in records and handlers.
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata", "private_metadata_json"})
# Set when a JSON body does not parse; the dispatcher answers ``invalid_json``.
INVALID_JSON = "__invalid_json__"


def truthy(value: Any) -> bool:
    """A boolean parameter as Slack reads it (``true``, ``1``, ``yes``...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # left as sent when it is not JSON; the handler will complain if it matters
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _pairs_to_dict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs to a dict; a repeated name becomes a list (``a=1&a=2``)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            pairs.append((str(name), payload.decode("utf-8", "replace")))
        else:
            pairs.append((str(name), payload))
    return _pairs_to_dict(pairs)


def parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Query string + form / JSON / multipart body, as the Web API would read them."""
    params = _pairs_to_dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.lower()
    if body:
        if "json" in ctype or (not ctype and body.lstrip()[:1] == b"{"):
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                params.update(decoded)
            else:
                params[INVALID_JSON] = body.decode("utf-8", "replace")
        elif ctype.startswith("multipart/"):
            params.update(_parse_multipart(content_type, body))
        else:
            text = body.decode("utf-8", "replace")
            params.update(_pairs_to_dict(parse_qsl(text, keep_blank_values=True)))
    return decode_json_params(params)
