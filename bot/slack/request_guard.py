"""A guard in front of Bolt's HTTP endpoint: a request Slack would never send is answered
with one status and nothing more, before Bolt parses it.

Bolt (``AsyncSlackAppServer``) parses the body before it verifies the signature, and trusts
its shape: ``payload=`` that is not JSON, JSON that is not an object, or an ``event`` that is
a string raise inside the aiohttp handler (a 500 and a traceback at ERROR), and a
non-numeric ``x-slack-request-timestamp`` makes the signature check itself raise (Bolt's
error handler then answers 200). Here, in order:

1. the timestamp and signature headers must have their shapes (digits; ``v0=`` and hex),
   and with the signing secret known the signature must verify: else **401**;
2. the body must be at most ``MAX_BODY_BYTES``, UTF-8, and what Slack sends: a JSON object
   (Events API), or a form (slash commands, ``ssl_check``) whose ``payload``, if any, is one
   JSON object (interactivity), each with the fields Bolt and our listeners read in the
   types they read them: else **400**.

Either refusal is logged at INFO with its reason, never with the body (it may hold a token).
Wire it with one line after building the aiohttp app (bot/serving.py)::

    guard_slack_requests(application, self.app, path=SLACK_EVENTS_PATH)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

#: aiohttp's own limit for a request body (``client_max_size``); Slack's largest requests (a
#: modal's submission with every field filled) stay far below it.
MAX_BODY_BYTES = 1024 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Fields of an interactivity payload that Bolt or our listeners read as objects.
_OBJECT_FIELDS = ("user", "team", "channel", "container", "view", "message", "enterprise")
# What Slack always sends with a slash command (api.slack.com/interactivity/slash-commands).
_COMMAND_FIELDS = ("command", "user_id", "team_id", "channel_id", "response_url", "trigger_id")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """The request is not one Slack sends; ``status`` says how it is answered."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def guard_slack_requests(
    application: web.Application,
    bolt: AsyncApp | None = None,
    *,
    path: str = "/slack/events",
    signing_secret: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> None:
    """Put the guard in front of ``POST path`` of ``application`` (before it is started).

    The signing secret is ``signing_secret`` or the Bolt app's own; without one the headers'
    shapes are still checked and Bolt verifies the signature as before.
    """
    secret = signing_secret if signing_secret is not None else _bolt_signing_secret(bolt)
    verifier = SignatureVerifier(secret) if secret else None

    @web.middleware
    async def slack_request_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != path:
            return await handler(request)
        try:
            await check_request(request, verifier, max_body_bytes)
        except Refused as refused:
            log.info("Slack request refused (%d): %s", refused.status, refused.reason)
            return web.Response(status=refused.status, text=refused.reason)
        return await handler(request)

    application.middlewares.append(slack_request_guard)


def _bolt_signing_secret(bolt: AsyncApp | None) -> str | None:
    """Bolt keeps the secret it verifies with on the app (``AsyncApp(signing_secret=…)``);
    tests/bot/slack/test_request_guard.py fails should a Bolt upgrade move it."""
    secret = getattr(bolt, "_signing_secret", None) if bolt is not None else None
    return secret if isinstance(secret, str) and secret else None


async def check_request(
    request: web.Request, verifier: SignatureVerifier | None, max_body_bytes: int
) -> None:
    """``Refused`` for a request Slack would not send; reads (and so caches) the body."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "invalid request signature")
    if request.content_length is not None and request.content_length > max_body_bytes:
        raise Refused(400, "request body too large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(400, "request body too large") from None
    if len(raw) > max_body_bytes:
        raise Refused(400, "request body too large")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "request body is not UTF-8") from None
    if verifier is not None and not verifier.is_valid(body, timestamp, signature):
        raise Refused(401, "invalid request signature")
    check_body(body, request.content_type)


def check_body(body: str, content_type: str) -> None:
    """``Refused`` (400) unless ``body`` is what Slack sends, read as Bolt reads it: JSON when
    the content type says so or it starts with ``{``, else a form."""
    if not body.strip():
        raise Refused(400, "empty request body")
    if content_type == "application/json" or body.startswith("{"):
        _check_event(_json_object(body, "the JSON body"))
        return
    try:
        fields = parse_qsl(body, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Refused(400, "request body is not form-encoded") from None
    names = [name for name, _ in fields]
    if "payload" in names:
        if names.count("payload") != 1:
            raise Refused(400, "more than one payload")
        _check_payload(_json_object(dict(fields)["payload"], "the payload"))
    elif "command" in names:
        _check_command(fields)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _check_event(body: dict[str, Any]) -> None:
    """An Events API body: a type; an event callback carries its event as an object."""
    _string(body, "type", "the body")
    if body["type"] == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Refused(400, "the event is not an object with a type")
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        raise Refused(400, "the authorizations are not a list of objects")


def _check_payload(payload: dict[str, Any]) -> None:
    """An interactivity payload: a type, and its parts objects where Bolt reads them so."""
    _string(payload, "type", "the payload")
    _objects(payload, "the payload")
    actions = payload.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        raise Refused(400, "the payload's actions are not a list of objects")
    view = payload.get("view")
    if isinstance(view, dict):
        state = view.get("state")
        if state is not None and not (
            isinstance(state, dict) and isinstance(state.get("values", {}), dict)
        ):
            raise Refused(400, "the payload's view state is not an object")


def _check_command(fields: list[tuple[str, str]]) -> None:
    """A slash command: one of each field Slack always sends, the response URL a URL."""
    given: dict[str, list[str]] = {}
    for name, value in fields:
        given.setdefault(name, []).append(value)
    for name in _COMMAND_FIELDS:
        values = given.get(name, [])
        if len(values) != 1 or not values[0].strip():
            raise Refused(400, f"the command's {name} is missing or given twice")
    if not given["command"][0].startswith("/"):
        raise Refused(400, "the command does not start with /")
    url = urlsplit(given["response_url"][0])
    if url.scheme not in ("https", "http") or not url.hostname:
        raise Refused(400, "the command's response_url is not a URL")


def _string(body: dict[str, Any], name: str, what: str) -> None:
    if not isinstance(body.get(name), str):
        raise Refused(400, f"{what} has no {name}")


def _objects(body: dict[str, Any], what: str) -> None:
    for name in _OBJECT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, dict):
            raise Refused(400, f"{what}'s {name} is not an object")
    if not isinstance((body.get("user") or {}).get("id", ""), str):
        raise Refused(400, f"{what}'s user id is not a string")
