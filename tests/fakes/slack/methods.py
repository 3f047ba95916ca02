"""The Web API methods about users, channels and messages, as functions of the workspace and
the call's parameters: ``api.test``, ``auth.test``, ``users.*``, ``usergroups.users.list``,
``chat.*`` and ``conversations.info/open`` (reading a conversation back: ``history.py``).
Each returns the fields of an ``ok`` answer or raises ``ApiError``; the dispatcher holds the
workspace's lock around the call."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .objects import APP_ID, dm_channel_id
from .params import truthy
from .workspace import SlackWorkspace

Method = Callable[[SlackWorkspace, dict[str, Any]], dict[str, Any]]

_TS_RE = re.compile(r"^\d{10}\.\d{6}$")
#: What Slack accepts as a metadata event type; another is ignored with a warning.
_EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def require(params: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if params.get(n) in (None, "")]
    if missing:
        raise ApiError(
            "invalid_arguments",
            response_metadata={
                "messages": [f"[ERROR] missing required field: {n}" for n in missing]
            },
        )


def json_value(params: dict[str, Any], name: str, kind: type) -> Any:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, kind):
        raise ApiError(f"invalid_{name}")
    return value


def _known_channel(ws: SlackWorkspace, params: dict[str, Any]) -> str:
    channel_id = ws.resolve_channel(params.get("channel"))
    if channel_id is None:
        raise ApiError("channel_not_found")
    return channel_id


def _postable_channel(ws: SlackWorkspace, params: dict[str, Any]) -> str:
    channel_id = _known_channel(ws, params)
    info = ws.channels.get(channel_id)
    if info is not None:
        if info.get("is_archived"):
            raise ApiError("is_archived")
        if not info.get("is_member", True):
            raise ApiError("not_in_channel")
    return channel_id


def _find_message(ws: SlackWorkspace, channel_id: str, ts: Any) -> dict[str, Any]:
    for message in ws.recorded.messages.get(channel_id, []):
        if message["ts"] == ts:
            return message
    raise ApiError("message_not_found")


def _message_content(params: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    text = params.get("text")
    if text is not None:
        content["text"] = str(text)
    for name, kind in (("blocks", list), ("attachments", list)):
        value = json_value(params, name, kind)
        if value is not None:
            content[name] = value
    metadata = _metadata(params)
    if metadata is not None:
        content["metadata"] = metadata
    return content


def _metadata(params: dict[str, Any]) -> dict[str, Any] | None:
    """Message metadata as Slack takes it: an object with a string ``event_type`` and an
    object ``event_payload`` (else ``invalid_metadata_format``)."""
    value = params.get("metadata")
    if value is None or value == "":
        return None
    if not (
        isinstance(value, dict)
        and isinstance(value.get("event_type"), str)
        and value["event_type"]
        and isinstance(value.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def _metadata_warning(content: dict[str, Any]) -> dict[str, Any]:
    """An event type Slack does not accept: the metadata is dropped, the answer warns."""
    metadata = content.get("metadata")
    if metadata is None or _EVENT_TYPE_RE.match(metadata["event_type"]):
        return {}
    del content["metadata"]
    return {
        "warning": "invalid_metadata_schema",
        "response_metadata": {"warnings": ["invalid_metadata_schema"]},
    }


def _visible_content(params: dict[str, Any]) -> dict[str, Any]:
    content = _message_content(params)
    if not (content.get("text") or content.get("blocks") or content.get("attachments")):
        raise ApiError("no_text")
    return content


def api_test(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    return {"args": {k: v for k, v in params.items() if k != "token"}}


def auth_test(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    return dict(ws.identity)


def users_info(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "user")
    user = ws.users.get(params["user"])
    if user is None:
        raise ApiError("user_not_found")
    user = copy.deepcopy(user)
    if not truthy(params.get("include_locale", False)):
        user.pop("locale", None)
    return {"user": user}


def usergroups_users_list(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "usergroup")
    users = ws.usergroups.get(params["usergroup"])
    if users is None:
        raise ApiError("no_such_subteam")
    return {"users": list(users)}


def chat_post_message(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _postable_channel(ws, params)
    content = _visible_content(params)
    warning = _metadata_warning(content)
    thread_ts = params.get("thread_ts") or None
    if thread_ts is not None and not _TS_RE.match(str(thread_ts)):
        raise ApiError("invalid_thread_ts")
    ts = ws.next_ts()
    message: dict[str, Any] = {
        "type": "message",
        "user": ws.identity["user_id"],
        "bot_id": ws.identity["bot_id"],
        "app_id": APP_ID,
        "team": ws.identity["team_id"],
        "channel": channel_id,
        "text": content.pop("text", ""),
        "blocks": content.pop("blocks", []),
        "ts": ts,
        **content,
    }
    if thread_ts is not None:
        message["thread_ts"] = str(thread_ts)
        for parent in ws.recorded.messages.get(channel_id, []):
            if parent["ts"] == thread_ts:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
    ws.recorded.messages.setdefault(channel_id, []).append(message)
    returned = {k: v for k, v in message.items() if k != "channel"}
    return {"channel": channel_id, "ts": ts, "message": copy.deepcopy(returned), **warning}


def chat_update(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "ts")
    channel_id = _known_channel(ws, params)
    message = _find_message(ws, channel_id, params["ts"])
    if message.get("bot_id") != ws.identity["bot_id"]:
        raise ApiError("cant_update_message")
    content = _message_content(params)
    if not content:
        raise ApiError("no_text")
    warning = _metadata_warning(content)
    message.update(content)
    message["edited"] = {"user": ws.identity["user_id"], "ts": ws.next_ts()}
    returned = {k: v for k, v in message.items() if k != "channel"}
    return {
        "channel": channel_id,
        "ts": message["ts"],
        "text": message.get("text", ""),
        "message": copy.deepcopy(returned),
        **warning,
    }


def chat_delete(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "ts")
    channel_id = _known_channel(ws, params)
    message = _find_message(ws, channel_id, params["ts"])
    ws.recorded.messages[channel_id].remove(message)
    return {"channel": channel_id, "ts": message["ts"]}


def chat_post_ephemeral(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _postable_channel(ws, params)
    require(params, "user")
    content = _visible_content(params)
    content.pop("metadata", None)  # ephemeral messages keep none
    ts = ws.next_ts()
    entry: dict[str, Any] = {
        "channel": channel_id,
        "user": params["user"],
        "text": content.pop("text", ""),
        "blocks": content.pop("blocks", []),
        "message_ts": ts,
        **content,
    }
    if params.get("thread_ts"):
        entry["thread_ts"] = str(params["thread_ts"])
    ws.recorded.ephemerals.append(entry)
    return {"message_ts": ts}


def chat_get_permalink(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "message_ts")
    channel_id = _known_channel(ws, params)
    message = _find_message(ws, channel_id, params["message_ts"])
    link = f"{ws.identity['url']}archives/{channel_id}/p{message['ts'].replace('.', '')}"
    return {"channel": channel_id, "permalink": link}


def conversations_info(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    channel_id = _known_channel(ws, params)
    info = ws.channels.get(channel_id)
    if info is None:  # a DM
        user = "U" + channel_id[1:]
        info = {"id": channel_id, "is_im": True, "is_channel": False, "user": user}
    return {"channel": copy.deepcopy(info)}


def conversations_open(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    users = params.get("users")
    if isinstance(users, list):
        users = ",".join(users)
    ids = [u for u in str(users or "").split(",") if u]
    if len(ids) != 1:
        raise ApiError("invalid_arguments" if not ids else "not_supported")
    if ids[0] not in ws.users:
        raise ApiError("user_not_found")
    return {"channel": {"id": dm_channel_id(ids[0])}}


METHODS: dict[str, Method] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
}
