"""What every listener needs besides Bolt's own arguments."""

from __future__ import annotations

from dataclasses import dataclass

from afas.client import AfasClient
from bot.runtime import Runtime
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles


@dataclass(frozen=True)
class SlackDeps:
    """What listeners need besides Bolt's own arguments."""

    runtime: Runtime
    afas: AfasClient
    languages: ReaderLanguages
    roles: Roles
