"""What every listener needs besides Bolt's own arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from afas.client import AfasClient
from bot.runtime import Runtime
from bot.slack.background import Background
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles


@dataclass(frozen=True)
class SlackDeps:
    """What listeners need besides Bolt's own arguments."""

    runtime: Runtime
    afas: AfasClient
    languages: ReaderLanguages
    roles: Roles
    background: Background = field(default_factory=Background)


@dataclass(frozen=True)
class CommandContext:
    """One ``/afas`` command, acknowledged: who asked, in which language and channel, and how
    to answer (``respond`` through its response_url, ``client`` for modals and messages;
    ``trigger_id`` opens a modal within 3 seconds of the command)."""

    user: str
    language: str
    channel: str
    trigger_id: str
    respond: AsyncRespond
    client: AsyncWebClient
    deps: SlackDeps
