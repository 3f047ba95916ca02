"""Slack's external file upload, as slack_sdk's ``files_upload_v2`` drives it (slack_sdk
``web/async_client.py`` ``files_upload_v2``, ``web/internal_utils.py``
``_to_v2_file_upload_item``):

1. ``files.getUploadURLExternal(filename, length)`` answers ``upload_url`` (here: on the fake's
   own HTTP server, ``{url}__upload__/<file id>``) and ``file_id``. No filename, or no length →
   ``invalid_arguments``; a length of 0 → ``missing_argument`` (Slack's docs: "typically only
   occurs when the length provided is 0").
2. A POST of the bytes to ``upload_url`` (no token: the URL is the authority), raw or as a
   multipart form; answered ``OK - <length>`` in text/plain, as Slack does. The bytes must be as
   many as announced (else HTTP 400), once (a second upload: HTTP 409); an unknown URL: 404.
3. ``files.completeUploadExternal(files=[{"id", "title"}] as JSON, channel_id, thread_ts?,
   initial_comment?)``: every file must be known (else ``file_not_found``) and uploaded (else
   ``file_not_found``, with a message saying so); ``channel_id`` an id (a user id is
   ``invalid_arguments``, as Slack's ``^[CGDZ]…`` pattern refuses it), a known channel
   (``invalid_channel``) the bot is in (``not_in_channel``; archived: ``is_archived``). The
   file is then shared: kept with its content and posted as a ``file_share`` message in the
   channel (in the thread with ``thread_ts``).

Both methods need the ``files:write`` scope in ``ws.scopes`` (else ``missing_scope`` with
``needed`` and ``provided``, as Slack answers). Read-outs: ``uploads(ws)`` and
``shared_files(ws, channel)``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .methods import ApiError, Method, require
from .params import parse_params
from .workspace import SlackWorkspace

UPLOAD_PREFIX = "__upload__/"
FILES_SCOPE = "files:write"


@dataclass
class PendingFile:
    """A file announced by ``files.getUploadURLExternal``, and what became of it."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None  # set by the upload
    shared: list[dict[str, Any]] = field(default_factory=list)  # completeUploadExternal


@dataclass
class Upload:
    """One POST to an upload URL as the fake received it."""

    file_id: str
    content: bytes
    content_type: str
    status: int


@dataclass
class FilesState:
    files: dict[str, PendingFile] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)


def _state(ws: SlackWorkspace) -> FilesState:
    """The files side of ``ws.recorded`` (so ``clear()`` forgets it with everything else)."""
    state = getattr(ws.recorded, "files_state", None)
    if state is None:
        state = FilesState()
        ws.recorded.files_state = state  # type: ignore[attr-defined]
    return state


def _need_scope(ws: SlackWorkspace) -> None:
    granted = [s.strip() for s in str(ws.scopes).split(",") if s.strip()]
    if FILES_SCOPE not in granted:
        raise ApiError("missing_scope", needed=FILES_SCOPE, provided=",".join(granted))


def _base_url(ws: SlackWorkspace) -> str:
    return str(getattr(ws, "url", "http://127.0.0.1/api/"))


def get_upload_url_external(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    _need_scope(ws)
    require(params, "filename", "length")
    try:
        length = int(str(params["length"]))
    except ValueError:
        raise ApiError("invalid_arguments") from None
    if length <= 0:
        raise ApiError("missing_argument")
    file_id = ws.recorded.next_id("F")
    _state(ws).files[file_id] = PendingFile(
        id=file_id,
        filename=str(params["filename"]),
        length=length,
        alt_txt=params.get("alt_txt"),
        snippet_type=params.get("snippet_type"),
    )
    return {"upload_url": f"{_base_url(ws)}{UPLOAD_PREFIX}{file_id}", "file_id": file_id}


def receive_upload(
    ws: SlackWorkspace, file_id: str, content_type: str, body: bytes
) -> tuple[int, str]:
    """The POST to an upload URL: ``(HTTP status, text/plain body)``."""
    with ws.lock:
        state = _state(ws)
        pending = state.files.get(file_id)
        content = body
        if content_type.lower().startswith("multipart/"):
            parts = [
                v for v in parse_params("", content_type, body).values() if isinstance(v, bytes)
            ]
            content = parts[0] if parts else b""
        if pending is None:
            status, answer = 404, "not found"
        elif pending.content is not None:
            status, answer = 409, "already uploaded"
        elif len(content) != pending.length:
            status = 400
            answer = f"length mismatch: announced {pending.length}, received {len(content)}"
        else:
            pending.content = content
            status, answer = 200, f"OK - {len(content)}"
        state.uploads.append(Upload(file_id, content, content_type, status))
        return status, answer


def complete_upload_external(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    _need_scope(ws)
    require(params, "files")
    files = params["files"]
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except ValueError:
            raise ApiError("invalid_arguments") from None
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
        raise ApiError("invalid_arguments")
    state = _state(ws)
    chosen: list[tuple[PendingFile, str]] = []
    for entry in files:
        pending = state.files.get(str(entry.get("id") or ""))
        if pending is None:
            raise ApiError("file_not_found")
        if pending.content is None:
            raise ApiError(
                "file_not_found",
                response_metadata={"messages": [f"[ERROR] file {pending.id} was not uploaded"]},
            )
        chosen.append((pending, str(entry.get("title") or pending.filename)))
    channel_id = params.get("channel_id") or None
    thread_ts = params.get("thread_ts") or None
    if channel_id is not None:
        channel_id = _shareable_channel(ws, str(channel_id))
    shared = [
        _share(ws, pending, title, channel_id, thread_ts, params) for pending, title in chosen
    ]
    if channel_id is not None:
        _post_share(ws, channel_id, thread_ts, shared, params.get("initial_comment"))
    return {"files": [{"id": f["id"], "title": f["title"]} for f in shared]}


def _shareable_channel(ws: SlackWorkspace, channel_id: str) -> str:
    if channel_id[:1] not in ("C", "G", "D", "Z"):
        raise ApiError(
            "invalid_arguments",
            response_metadata={
                "messages": ["[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$"]
            },
        )
    if channel_id.startswith("D"):
        return channel_id
    info = ws.channels.get(channel_id)
    if info is None:
        raise ApiError("invalid_channel")
    if info.get("is_archived"):
        raise ApiError("is_archived")
    if not info.get("is_member", True):
        raise ApiError("not_in_channel")
    return channel_id


def _share(
    ws: SlackWorkspace,
    pending: PendingFile,
    title: str,
    channel_id: str | None,
    thread_ts: str | None,
    params: dict[str, Any],
) -> dict[str, Any]:
    record = {
        "id": pending.id,
        "name": pending.filename,
        "title": title,
        "size": pending.length,
        "channel": channel_id,
        "thread_ts": str(thread_ts) if thread_ts else None,
        "initial_comment": params.get("initial_comment"),
        "content": pending.content,
        "user": ws.identity["user_id"],
    }
    pending.shared.append(record)
    return record


def _post_share(
    ws: SlackWorkspace,
    channel_id: str,
    thread_ts: str | None,
    shared: list[dict[str, Any]],
    comment: Any,
) -> None:
    """The file_share message Slack shows in the channel (or the thread)."""
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "file_share",
        "user": ws.identity["user_id"],
        "bot_id": ws.identity["bot_id"],
        "channel": channel_id,
        "text": str(comment or ""),
        "blocks": [],
        "files": [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in shared],
        "ts": ws.next_ts(),
    }
    if thread_ts:
        message["thread_ts"] = str(thread_ts)
        for parent in ws.recorded.messages.get(channel_id, []):
            if parent["ts"] == thread_ts:
                parent["thread_ts"] = str(thread_ts)
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
    ws.recorded.messages.setdefault(channel_id, []).append(message)


# -- read-outs -------------------------------------------------------------------------------


def uploads(ws: SlackWorkspace) -> list[Upload]:
    """Every POST to an upload URL, in order (rejected ones too, with their status)."""
    with ws.lock:
        return copy.deepcopy(_state(ws).uploads)


def shared_files(ws: SlackWorkspace, channel: str | None = None) -> list[dict[str, Any]]:
    """Files shared by ``files.completeUploadExternal`` (in one channel if given), in order:
    ``{id, name, title, size, channel, thread_ts, initial_comment, content, user}``."""
    with ws.lock:
        channel_id = (ws.resolve_channel(channel) or channel) if channel else None
        found = [
            record
            for pending in _state(ws).files.values()
            for record in pending.shared
            if channel_id is None or record["channel"] == channel_id
        ]
        return copy.deepcopy(found)


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": get_upload_url_external,
    "files.completeUploadExternal": complete_upload_external,
}
