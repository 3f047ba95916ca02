"""Answering one Web API call and recording it, in Slack's order: an injected fault (429 or
``fail``), then authentication and the token's type (``apps.connections.open`` takes only an
app-level ``xapp-`` token, every other method refuses one), then the method itself. An
exception inside a method is a bug in the fake: answered with HTTP 500 and kept in ``errors``,
so that it is loud."""

from __future__ import annotations

import copy
import time
from typing import Any

from . import files, history, methods, socket_mode, views
from .params import INVALID_JSON
from .workspace import Fault, RecordedCall, SlackWorkspace

METHODS: dict[str, methods.Method] = {
    **methods.METHODS,
    **history.METHODS,
    **views.METHODS,
    **files.METHODS,
    **socket_mode.METHODS,
}

Answer = tuple[int, dict[str, Any], dict[str, str]]


def handle(
    ws: SlackWorkspace, method: str, params: dict[str, Any], headers: dict[str, str]
) -> Answer:
    """Answer one Web API call (already parsed) and record it: ``(status, body, headers)``."""
    with ws.lock:
        status, payload, extra = _answer(ws, method, params, headers)
        ws.recorded.calls.append(
            RecordedCall(
                method=method,
                params=copy.deepcopy(params),
                headers=dict(headers),
                at=time.monotonic(),
                status=status,
                response=copy.deepcopy(payload),
            )
        )
        return status, payload, extra


def _answer(
    ws: SlackWorkspace, method: str, params: dict[str, Any], headers: dict[str, str]
) -> Answer:
    fault = _take_fault(ws, method, params)
    if fault is not None:
        extra = {}
        if fault.retry_after is not None:
            extra["Retry-After"] = str(fault.retry_after)
        return fault.status, {"ok": False, "error": fault.error}, extra
    token = _token(params, headers)
    if token is None:
        return 200, {"ok": False, "error": "not_authed"}, {}
    if token not in ws.valid_tokens:
        return 200, {"ok": False, "error": "invalid_auth"}, {}
    if (method in socket_mode.APP_LEVEL_METHODS) != token.startswith("xapp-"):
        return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
    handler = METHODS.get(method)
    if handler is None:
        return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
    if INVALID_JSON in params:
        return 200, {"ok": False, "error": "invalid_json"}, {}
    try:
        result = handler(ws, params)
    except methods.ApiError as e:
        return 200, {"ok": False, "error": e.error, **e.extra}, {}
    except Exception as e:  # a bug in the fake: make it loud
        ws.recorded.errors.append(f"{method}: {e!r}")
        return 500, {"ok": False, "error": "fake_internal_error", "detail": repr(e)}, {}
    return 200, {"ok": True, **result}, {"x-oauth-scopes": ws.scopes}


def _take_fault(ws: SlackWorkspace, method: str, params: dict[str, Any]) -> Fault | None:
    """The first pending fault for this call (its method, or any; its channel, or any)."""
    channel = ws.resolve_channel(params.get("channel"))
    for key in (method, "*"):
        queue = ws.recorded.faults.get(key) or []
        for fault in queue:
            if fault.channel is not None and ws.resolve_channel(fault.channel) != channel:
                continue
            fault.times -= 1
            if fault.times <= 0:
                queue.remove(fault)
            return fault
    return None


def _token(params: dict[str, Any], headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    token = params.get("token")
    return str(token) if token else None
