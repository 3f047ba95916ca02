"""The ``views.*`` methods: modals opened and pushed with a one-time trigger id, updated by
view id or external id with a hash check, and each user's published Home tab."""

from __future__ import annotations

import copy
from typing import Any

from .methods import ApiError, Method, require
from .objects import APP_ID
from .workspace import SlackWorkspace


def _take_trigger(ws: SlackWorkspace, params: dict[str, Any]) -> None:
    trigger_id = params.get("trigger_id")
    if not trigger_id:
        raise ApiError("invalid_arguments")
    if trigger_id in ws.expired_trigger_ids:
        raise ApiError("expired_trigger_id")
    if trigger_id in ws.recorded.used_trigger_ids:
        raise ApiError("exchanged_trigger_id")
    ws.recorded.used_trigger_ids.add(trigger_id)


def _view_param(params: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
    view = params.get("view")
    if not isinstance(view, dict) or view.get("type") not in kinds:
        raise ApiError("invalid_arguments")
    return copy.deepcopy(view)


def _store_view(ws: SlackWorkspace, view: dict[str, Any], previous: dict[str, Any] | None) -> dict:
    view_id = previous["id"] if previous else ws.recorded.next_id("V")
    stored: dict[str, Any] = {
        "id": view_id,
        "team_id": ws.identity["team_id"],
        "callback_id": "",
        "private_metadata": "",
        "external_id": "",
        "state": {"values": {}},
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "bot_id": ws.identity["bot_id"],
        "blocks": [],
    }
    if previous:
        stored["root_view_id"] = previous.get("root_view_id", view_id)
        stored["previous_view_id"] = previous.get("previous_view_id")
        if previous.get("external_id") and not view.get("external_id"):
            stored["external_id"] = previous["external_id"]
    stored.update(view)
    stored["id"] = view_id
    stored["hash"] = ws.recorded.next_hash()
    external_id = stored.get("external_id")
    if external_id:
        for other in ws.recorded.views.values():
            if other["id"] != view_id and other.get("external_id") == external_id:
                raise ApiError("duplicate_external_id")
    ws.recorded.views[view_id] = stored
    return copy.deepcopy(stored)


def _check_hash(params: dict[str, Any], current: dict[str, Any]) -> None:
    given = params.get("hash")
    if given not in (None, "") and given != current["hash"]:
        raise ApiError("hash_conflict")


def views_open(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """Also ``views.push``: the fake keeps no view stack."""
    view = _view_param(params, ("modal",))
    _take_trigger(ws, params)
    return {"view": _store_view(ws, view, None)}


def views_update(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    view = _view_param(params, ("modal", "home"))
    view_id, external_id = params.get("view_id"), params.get("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments")
    current = None
    for candidate in ws.recorded.views.values():
        if (view_id and candidate["id"] == view_id) or (
            not view_id and external_id and candidate.get("external_id") == external_id
        ):
            current = candidate
            break
    if current is None:
        raise ApiError("not_found")
    _check_hash(params, current)
    return {"view": _store_view(ws, view, current)}


def views_publish(ws: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    require(params, "user_id")
    view = _view_param(params, ("home",))
    user_id = str(params["user_id"])
    if user_id[:1] not in ("U", "W"):
        raise ApiError("user_not_found")
    current_id = ws.recorded.home_view_ids.get(user_id)
    current = ws.recorded.views.get(current_id) if current_id else None
    if current is not None:
        _check_hash(params, current)
    stored = _store_view(ws, view, current)
    ws.recorded.home_view_ids[user_id] = stored["id"]
    return {"view": stored}


METHODS: dict[str, Method] = {
    "views.open": views_open,
    "views.push": views_open,
    "views.update": views_update,
    "views.publish": views_publish,
}
