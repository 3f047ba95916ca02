"""``afasbot sweep --once [--all]``: one sweep now, the outbox delivered, then exit (for
operators after a change, for cron, for tests).

It runs the path ``serve`` runs: ``bot.sweep.sweep`` claims the due orgs under leases, checks
and records them (alert policy included), then ``drain_outbox`` sends what the sweep wrote,
with the Slack settings ``serve`` uses. So it is safe beside running replicas: each org is
checked once, by whoever holds its lease, and each message is sent by one sender at a time.
``--all`` first makes every org due (what "Re-check now" does for one org), so every org not
being checked elsewhere at that moment is checked now. Without a Slack bot token the messages
stay in the outbox for ``serve`` or a later run.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.alerting.connectivity import Connectivity
from bot.alerting.delivery import Delivery, drain_outbox
from bot.cli.common import fail, user_errors
from bot.replica import replica_id
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings, get_settings
from bot.slack.app import web_client
from bot.slack.config import SlackSettingsError, contradictions
from bot.sweep import sweep
from storage.repository import release_leases
from storage.sweeps import outbox_waiting, schedule_every_org

#: Bounds on the rounds of one run: a sweep takes ``sweep_limit`` orgs, a drain 20 messages;
#: a round that takes fewer than its limit (or nothing) ends the loop long before.
MAX_SWEEPS = 1000
MAX_DRAINS = 10_000
NO_SLACK = (
    "no Slack bot token (SLACK_BOT_TOKEN or AFASBOT_SLACK_BOT_TOKEN): the alerts stay in the "
    "outbox for afasbot serve or a later sweep"
)


@dataclass(frozen=True)
class SlackTarget:
    """Where the outbox goes: the bot token and the Web API's URL (``serve``'s settings)."""

    token: str = field(repr=False)
    api_url: str | None


@dataclass
class SweepSummary:
    """What one run did: orgs by outcome (keys), messages by outcome, and what still waits."""

    checked: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # the lease had passed to another replica
    failed: list[str] = field(default_factory=list)  # the check crashed (logged)
    sent: int = 0
    retried: int = 0  # Slack refused or was away: rescheduled
    skipped: int = 0  # nowhere to post (no channel): logged
    waiting: int = 0  # undelivered after the run (retries later, or no Slack token)
    slack: bool = True

    def line(self) -> str:
        return (
            f"afasbot sweep: checked {len(self.checked)}, lost {len(self.lost)}, "
            f"failed {len(self.failed)}; alerts sent {self.sent}, waiting {self.waiting}"
        )


def sweep_command(
    once: Annotated[
        bool, typer.Option("--once", help="One sweep now, deliver the outbox, exit (required).")
    ] = False,
    every_org: Annotated[
        bool, typer.Option("--all", help="Check every org, due or not (not only the due ones).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Check the due orgs (every org with --all) and send the alerts, once, then exit.

    Safe beside running `afasbot serve` replicas: leases decide who checks an org.
    Alerts go to Slack with SLACK_BOT_TOKEN (or AFASBOT_SLACK_BOT_TOKEN) and SLACK_API_URL;
    without a token they stay in the outbox.
    Exit status 0 after the sweep; 2 for bad settings or a database to `afasbot db upgrade`.
    """
    if not once:
        fail("afasbot sweep runs once and exits: add --once (afasbot serve sweeps on a schedule)")
    settings = get_settings()
    try:
        slack = slack_target(settings)
    except SlackSettingsError as exc:
        fail(str(exc))
    with user_errors():
        runtime = open_runtime(settings)
    try:
        with user_errors():
            summary = asyncio.run(run_sweep(runtime, slack, every_org=every_org))
    finally:
        runtime.close()
    if summary.slack is False:
        typer.echo(f"note: {NO_SLACK}", err=True)
    typer.echo(json.dumps(asdict(summary)) if as_json else summary.line())


def slack_target(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> SlackTarget | None:
    """The bot token and API URL, None without a token; ``SlackSettingsError`` for a token set
    under both names to different values, or one that is no bot token."""
    problems = contradictions(os.environ if environ is None else environ)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if token is not None and not token.startswith("xox"):
        problems.append("the bot token (SLACK_BOT_TOKEN) must start with xoxb-")
    if problems:
        raise SlackSettingsError("; ".join(problems))
    return SlackTarget(token, settings.slack_api_url) if token else None


async def run_sweep(
    runtime: Runtime,
    slack: SlackTarget | None,
    *,
    every_org: bool = False,
    owner: str | None = None,
) -> SweepSummary:
    """Sweep until nothing due is left (every org made due first with ``every_org``), then
    deliver until nothing due is left; leases this run still holds are released at the end."""
    owner = owner or replica_id()
    settings = runtime.settings
    summary = SweepSummary(slack=slack is not None)
    connectivity = Connectivity(  # as serve's: no network says so once, not per org
        replica=owner,
        canary_url=settings.canary_url,
        min_environments=settings.platform_min_orgs,
        url_template=settings.afas_url_template,
    )
    try:
        if every_org:
            await asyncio.to_thread(_schedule_every_org, runtime, datetime.now(UTC))
        async with runtime.afas_client() as client:
            for _ in range(MAX_SWEEPS):
                result = await sweep(
                    runtime,
                    client,
                    owner=owner,
                    now=datetime.now(UTC),
                    limit=settings.sweep_limit,
                    lease_seconds=settings.check_lease_seconds,
                    connectivity=connectivity,
                )
                summary.checked += result.checked
                summary.lost += result.lost
                summary.failed += result.failed
                taken = len(result.checked) + len(result.lost) + len(result.failed)
                if result.offline or taken < settings.sweep_limit:
                    break  # it took fewer than it could: nothing due is left
        if slack is not None:
            await _deliver(runtime, slack, owner, summary)
    finally:
        await asyncio.to_thread(_release, runtime, owner)
    summary.waiting = await asyncio.to_thread(_waiting, runtime)
    return summary


async def _deliver(runtime: Runtime, slack: SlackTarget, owner: str, summary: SweepSummary) -> None:
    """Drain the outbox as ``serve``'s sender does, until a drain finds nothing due (a message
    Slack refused is rescheduled, so it is not due again in this run)."""
    settings = runtime.settings
    client = web_client(slack.token, base_url=slack.api_url, retry_rate_limits=False)
    delivery = Delivery.from_settings(settings)  # one for all drains: it holds the pacing
    for _ in range(MAX_DRAINS):
        result = await drain_outbox(runtime, client, delivery, owner=owner, now=datetime.now(UTC))
        summary.sent += result.sent
        summary.retried += result.retried
        summary.skipped += result.skipped
        if result.sent + result.retried + result.skipped == 0:
            return


# --- the database work, in worker threads -----------------------------------------------------


def _schedule_every_org(runtime: Runtime, now: datetime) -> None:
    with runtime.session() as session:
        schedule_every_org(session, at=now)


def _release(runtime: Runtime, owner: str) -> None:
    with runtime.session() as session:
        release_leases(session, owner=owner)


def _waiting(runtime: Runtime) -> int:
    with runtime.session() as session:
        return outbox_waiting(session)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
