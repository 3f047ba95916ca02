"""The fake's HTTP side: a Starlette app that reads each request and hands it to the
dispatcher, under ``/api/<method>`` (the SDK's base URL) or ``/<method>``, and that takes the
POSTs to the response URLs the fake hands out (``/api/__response__/<label>-<n>``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from . import files
from .dispatch import handle
from .params import decode_json_params, parse_params
from .workspace import SlackWorkspace

RESPONSE_PREFIX = "__response__/"


def create_app(ws: SlackWorkspace, base_url: Callable[[], str]) -> Starlette:
    """The ASGI app for a workspace; ``base_url()`` is the served ``.../api/`` URL."""

    async def endpoint(request: Request) -> JSONResponse | PlainTextResponse:
        path = request.path_params["path"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "")
        path = path.removeprefix("api/")
        if path.startswith(RESPONSE_PREFIX):
            return _response_endpoint(ws, f"{base_url()}{path}", path, content_type, body)
        if path.startswith(files.UPLOAD_PREFIX):  # files.getUploadURLExternal's upload_url
            status, text = files.receive_upload(
                ws, path[len(files.UPLOAD_PREFIX) :], content_type, body
            )
            return PlainTextResponse(text, status_code=status)
        params = parse_params(request.url.query, content_type, body)
        status, payload, extra_headers = handle(ws, path, params, headers)
        return JSONResponse(payload, status_code=status, headers=extra_headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def _response_endpoint(
    ws: SlackWorkspace, url: str, path: str, content_type: str, body: bytes
) -> JSONResponse:
    key = path[len(RESPONSE_PREFIX) :]
    label = key.rsplit("-", 1)[0] if re.search(r"-\d+$", key) else key
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = parse_params("", content_type, body) if "json" not in content_type else None
    if payload is None:
        return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
    with ws.lock:
        ws.recorded.responses.append((url, label, decode_json_params(payload)))
    return JSONResponse({"ok": True})
