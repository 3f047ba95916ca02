"""The sandbox ASGI app: one process, many fake AFAS environments, routed by path.

URL template: ``http://127.0.0.1:PORT/{host}/{env}/ProfitRestServices`` with host ``rest``,
``resttest`` or ``restaccept``. A number the scenario does not serve answers 404 (real AFAS:
the DNS name would not resolve); a number it serves under another host segment answers 401
(the customer's environment of that kind exists, the token is not valid there). Order of
handling, outside in: routing, the query-length limit (IIS, 404), latency, faults,
maintenance (503, the proxy), then the "application": token check, endpoint, each answer with
an ``X-Trace-Identifier``.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.responses import Response

from . import faults
from .auth import authenticate
from .books import Books
from .columns import with_columns
from .errors import (
    empty_response,
    json_response,
    language_of,
    maintenance_response,
    not_authorised,
    profit_error,
)
from .faults import DisconnectWatch, Message, Receive, Send
from .field_changes import edit_get_spec, edit_update_spec
from .get_connectors import GetConnectorSpec, get_connector_spec
from .getconnector_engine import QueryError, run_query, spec_for
from .records import Record, RecordStore
from .scenario import SandboxEnvironment, Scenario, StoredFile
from .update_connectors import UpdateConnectorSpec, altered_spec, update_connector_spec
from .updateconnector_engine import UpdateError, UpdateRequest, handle_update

MAX_QUERY_LENGTH = 2049  # from "?" on (afas-api.md §5.1)
MAX_BODY_BYTES = 75 * 1024 * 1024  # §3
_ROUTE = re.compile(r"/(rest|resttest|restaccept)/([0-9]{1,9})/profitrestservices(/.*)?", re.I)
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


@dataclass
class SandboxState:
    """What the sandbox remembers between requests: flaky counters and created records."""

    attempts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    stores: dict[str, RecordStore] = field(default_factory=lambda: defaultdict(RecordStore))

    def reset(self) -> None:
        self.attempts.clear()
        for store in self.stores.values():
            store.clear()

    def records(self, env_name: str) -> dict[str, list[Record]]:
        """What UpdateConnectors created in this environment and is still there, per
        connector id (a copy; connectors with nothing are left out)."""
        return self.stores[env_name].snapshot()


class LostAnswer(Response):
    """Marker: the write happened, the answer is lost (the connection is reset instead)."""

    def __init__(self) -> None:
        super().__init__(b"", 500)


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    env: SandboxEnvironment
    method: str
    segments: tuple[str, ...]  # below ProfitRestServices, as sent (case kept)
    params: dict[str, str]  # query parameters, names lower-cased
    headers: dict[str, str]  # names lower-cased
    body: bytes
    language: str


class SandboxApp:
    """ASGI app serving every environment of a scenario. Settings are read per request, so a
    test may change an environment of a running sandbox."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.state = SandboxState()

    def reset(self) -> None:
        """Forget flaky-attempt counts and records created by UpdateConnectors."""
        self.state.reset()

    def records(self, env_name: str) -> dict[str, list[Record]]:
        """What exists in environment ``env_name`` because a client wrote it, per
        UpdateConnector id: each record's fields as sent (text), the keys AFAS answered,
        ``lines`` of an entry, ``attachments`` of a dossier item. For tests that compare
        what the sandbox holds with what a client reports."""
        self.scenario.by_name(env_name)  # KeyError for a name the scenario lacks
        return self.state.records(env_name)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = _ROUTE.fullmatch(scope["path"])
        env = self.scenario.find(route.group(1).lower(), route.group(2)) if route else None
        if route is not None and env is None and self.scenario.serves_number(route.group(2)):
            # The customer's environment of another kind: it exists, but this token is not
            # valid there (afas-api.md §1: `rest.` for a T… environment gave auth failures).
            await empty_response(401)(scope, receive, send)
            return
        if route is None or env is None:  # real AFAS: the host name does not resolve
            await Response(b"", 404)(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if query and len(query) + 1 > MAX_QUERY_LENGTH:
            await Response(b"", 404)(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if int(headers.get("content-length") or 0) > MAX_BODY_BYTES:
            await empty_response(413)(scope, receive, send)
            return
        path = route.group(3) or ""
        request = SandboxRequest(
            env=env,
            method=scope["method"].upper(),
            segments=tuple(s for s in path.split("/") if s),
            params={k.lower(): v for k, v in reversed(parse_qsl(query, keep_blank_values=True))},
            headers=headers,
            body=await _read_body(receive),
            language=language_of(env, headers.get("accept-language")),
        )
        watch = DisconnectWatch(receive)
        try:
            response = await self._answer(request, f"{path}?{query}", send, watch)
            if response is not None:
                await response(scope, _replay(request.body), send)
        finally:
            watch.stop()

    async def _answer(
        self, request: SandboxRequest, url: str, send: Send, watch: DisconnectWatch
    ) -> Response | None:
        """The response to send, or None when the connection was dropped or abandoned."""
        env, language = request.env, request.language
        if env.latency_ms and await watch.sleep(env.latency_ms / 1000):
            return None
        fault = self._fault_now(env, url)
        if fault == "drop":
            await faults.drop_connection(send, watch)
            return None
        if fault == "timeout":
            if await watch.sleep(env.timeout_seconds):
                return None
            return _traced(profit_error(env, language, "command_timeout"))
        if fault == "503":
            return maintenance_response(env.maintenance_retry_after or 60)
        if fault == "error500":
            return _traced(profit_error(env, language, "unexpected"))
        if fault == "garbage" and env.garbage_body == "html":
            return faults.garbage_html()
        if env.maintenance_retry_after is not None:
            return maintenance_response(env.maintenance_retry_after)
        response = self._application(request)
        if isinstance(response, LostAnswer):
            await faults.drop_connection(send, watch)
            return None
        response = _traced(response)
        return faults.truncated(response) if fault == "garbage" else response

    def _fault_now(self, env: SandboxEnvironment, url: str) -> str:
        """The fault for this request (``none`` if none): flaky attempts first, then the
        standing fault, both only on the environment's ``fault_paths``."""
        if env.fault == "none" and not env.flaky_first_attempts:
            return "none"
        path = "/" + url.split("?", 1)[0].lower().strip("/")
        if env.fault_paths and not any(
            path == p or path.startswith(p.rstrip("/") + "/") for p in env.fault_paths
        ):
            return "none"
        if env.flaky_first_attempts:
            key = (env.name, url)
            self.state.attempts[key] += 1
            if self.state.attempts[key] <= env.flaky_first_attempts:
                return env.flaky_fault
        return env.fault

    def _application(self, request: SandboxRequest) -> Response:
        if request.method == "OPTIONS":  # CORS preflight, answered before authentication
            return empty_response(200)
        denied = authenticate(request.env, request.headers.get("authorization"), request.language)
        if denied is not None:
            return denied
        handler, methods = _route(request.segments)
        if handler is None:
            return empty_response(404)
        if request.method not in methods:
            return empty_response(405, {"Allow": ", ".join(sorted(methods))})
        return handler(self, request)

    # Endpoints -----------------------------------------------------------------------------

    def profit_version(self, request: SandboxRequest) -> Response:
        env = request.env
        if (
            env.profitversion_requires_version_connector
            and "AppConnectorVersion" not in env.app_connector.special_connectors
        ):
            return not_authorised(env, request.language, "connector_not_authorised")
        return json_response({"version": env.profit_version})

    def metainfo(self, request: SandboxRequest) -> Response:
        env = request.env
        connector = env.app_connector
        get_connectors = [
            {"id": c, "description": get_connector_spec(c).description}
            for c in connector.get_connectors
        ]
        if env.list_special_connectors_in_metainfo:
            get_connectors += [{"id": c, "description": c} for c in connector.special_connectors]
        body = {
            "updateConnectors": [
                {"id": c, "description": update_connector_spec(c).description}
                for c in connector.update_connectors
            ],
            "getConnectors": get_connectors,
            "info": {
                "envid": env.effective_envid,
                "appName": connector.name,
                "group": connector.group,
                "tokenExpiry": env.token_expiry,
            },
        }
        return json_response(body)

    def metainfo_of(self, request: SandboxRequest) -> Response:
        env = request.env
        kind, connector_id = request.segments[1].lower(), request.segments[2]
        if kind == "get":
            if connector_id not in env.app_connector.get_connectors:
                return not_authorised(env, request.language, "get_not_authorised")
            return json_response(self._get_spec(env, connector_id).metainfo())
        allowed = connector_id in env.app_connector.update_connectors
        if (
            env.metainfo_update_requires_getxmlschema
            and "GetXMLSchema" not in env.app_connector.special_connectors
        ):
            allowed = False
        if not allowed:
            return not_authorised(env, request.language, "update_not_authorised")
        return json_response(_update_spec(env, connector_id).metainfo())

    def connector(self, request: SandboxRequest) -> Response:
        if request.method in _WRITE_METHODS:
            return self._update(request)
        env = request.env
        if len(request.segments) != 2:
            return empty_response(404)
        connector_id = request.segments[1]
        if connector_id not in env.app_connector.get_connectors:
            return not_authorised(env, request.language, "get_not_authorised")
        if connector_id in env.app_connector.definition_blocked:
            return profit_error(env, request.language, "definition_blocked")
        spec = self._get_spec(env, connector_id)
        try:
            return json_response(run_query(spec, request.params))
        except QueryError as exc:
            return profit_error(env, request.language, exc.key, **exc.values)

    def _update(self, request: SandboxRequest) -> Response:
        env = request.env
        connector_id = request.segments[1]
        if connector_id not in env.app_connector.update_connectors:
            return not_authorised(env, request.language, "update_not_authorised")
        try:
            answer = handle_update(
                _update_spec(env, connector_id),
                UpdateRequest(request.method, request.segments[2:], request.body),
                self.state.stores[env.name],
                env,
            )
        except UpdateError as exc:
            return profit_error(env, request.language, exc.key, **exc.values)
        if request.method == "POST" and connector_id in env.answer_lost_after_write:
            return LostAnswer()
        if answer.body is None:
            return empty_response(answer.status)
        return json_response(answer.body, answer.status)

    def _get_spec(self, env: SandboxEnvironment, connector_id: str) -> GetConnectorSpec:
        """The GetConnector as this environment serves it: its own rows, the records
        created there, its column variant, its administrator's field changes."""
        books = Books(env, self.state.stores[env.name])
        rows = books.rows(connector_id) if books.changes_rows(connector_id) else None
        spec = with_columns(spec_for(connector_id, rows), env.column_variant)
        return edit_get_spec(spec, env.field_changes) if env.field_changes else spec

    def subject_connector(self, request: SandboxRequest) -> Response:
        env = request.env
        if "AppConnectorSubject" not in env.app_connector.special_connectors:
            return not_authorised(env, request.language, "connector_not_authorised")
        subject_id, file_id = request.segments[1], request.segments[2]
        for item in env.subject_attachments:
            if str(item.subject_id) == subject_id and item.file_id.lower() == file_id.lower():
                return json_response(_file_body(item))
        return empty_response(404)  # AFAS: the file is missing, or the user has no rights

    def file_connector(self, request: SandboxRequest) -> Response:
        env = request.env
        if "AppConnectorSubject" not in env.app_connector.special_connectors:
            return not_authorised(env, request.language, "connector_not_authorised")
        guid, name = request.segments[1], request.segments[2]
        for item in env.files:
            # AFAS wants "_" in the file name written as "_5f" (help App_Cnr_Rest_FileCn).
            if item.guid.lower() == guid.lower() and item.filename.replace("_", "_5f") == name:
                return json_response(_file_body(item))
        return empty_response(404)

    def report_connector(self, request: SandboxRequest) -> Response:
        env = request.env
        if "AppConnectorReport" not in env.app_connector.special_connectors:
            return not_authorised(env, request.language, "connector_not_authorised")
        for report in env.reports:
            if report.guid.lower() == request.segments[1].lower():
                return json_response({"filedata": report.filedata, "mimetype": report.mimetype})
        return empty_response(404)


_GET = frozenset({"GET"})


def _route(
    segments: tuple[str, ...],
) -> tuple[Callable[[SandboxApp, SandboxRequest], Response] | None, frozenset[str]]:
    """Endpoint names are case-insensitive; connector ids and keys are not."""
    first = segments[0].lower() if segments else ""
    count = len(segments)
    if first == "profitversion" and count == 1:
        return SandboxApp.profit_version, _GET
    if first == "metainfo" and count == 1:
        return SandboxApp.metainfo, _GET
    if first == "metainfo" and count == 3 and segments[1].lower() in ("get", "update"):
        return SandboxApp.metainfo_of, _GET
    if first == "connectors" and count >= 2:
        return SandboxApp.connector, _GET | _WRITE_METHODS
    if first == "subjectconnector" and count == 3:
        return SandboxApp.subject_connector, _GET
    if first == "fileconnector" and count == 3:
        return SandboxApp.file_connector, _GET
    if first == "reportconnector" and count == 2:
        return SandboxApp.report_connector, _GET
    return None, frozenset()


def _update_spec(env: SandboxEnvironment, connector_id: str) -> UpdateConnectorSpec:
    """The UpdateConnector as this environment's metainfo describes it (and the engine uses)."""
    spec = altered_spec(
        update_connector_spec(connector_id),
        env.update_schema_removed.get(connector_id, ()),
        env.update_schema_retyped.get(connector_id),
    )
    return edit_update_spec(spec, env.field_changes) if env.field_changes else spec


def _file_body(item: StoredFile) -> dict[str, str]:
    return {"filename": item.filename, "mimetype": item.mimetype, "filedata": item.filedata}


def _traced(response: Response) -> Response:
    """Every answer of the Profit application carries a trace id (Profit 7, §3)."""
    response.headers["X-Trace-Identifier"] = str(uuid.uuid4())
    return response


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """The body again, for whoever reads it after we did; then "disconnected"."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(scenario: Scenario) -> SandboxApp:
    """The ASGI app for a scenario; serve it with uvicorn (see ``server.SandboxServer``)."""
    return SandboxApp(scenario)
