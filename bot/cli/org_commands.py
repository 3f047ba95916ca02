"""``afasbot org add|list|show|remove``, ``afasbot history KEY`` and ``afasbot check KEY``."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from afas.environments import AfasEnvironment
from afas.profile import Profile
from afas.report import CheckReport
from bot.cli.common import (
    confirm,
    fail,
    operator_name,
    printable,
    read_token_file,
    user_errors,
)
from bot.cli.import_commands import org_import
from bot.cli.render import OVERALL_STYLE, org_table, orgs_json, print_report
from bot.runtime import Runtime, open_runtime
from bot.services.checks import check_orgs
from bot.services.registration import TokenNotVerified, register_org
from bot.settings import Settings, get_settings
from storage.dashboard import STATE_ORDER, org_listing
from storage.errors import DuplicateOrgError, UnknownOrgError
from storage.models import CheckTrigger
from storage.orgs import effective_interval
from storage.repository import get_org, org_history, remove_org

org_app = typer.Typer(help="Registered orgs (customers' AFAS environments).", no_args_is_help=True)


def _open(settings: Settings, *, keys: bool = True, profile: Profile | None = None) -> Runtime:
    with user_errors():
        return open_runtime(settings, keys=keys, profile=profile)


def _state_text(state: str | None) -> str:
    if state is None:
        return "[dim]not checked[/dim]"
    from rich.markup import escape

    from afas.report import OverallState

    try:
        style = OVERALL_STYLE[OverallState(state)]
    except (ValueError, KeyError):  # a state this version does not know (a newer replica's)
        return escape(state)
    return f"[{style}]{state}[/]"


@org_app.command("add")
def org_add(
    key: Annotated[str, typer.Argument(help="Short key used in commands, such as acme-bv.")],
    env: Annotated[str, typer.Option("--env", help="Environment number or code.")],
    token_file: Annotated[str, typer.Option("--token-file", help="File with the token.")],
    kind: Annotated[str | None, typer.Option("--kind", help="production/test/acceptance.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name (default: the key).")] = None,
    alert_channel: Annotated[str | None, typer.Option(help="Slack channel id.")] = None,
    cs_owner: Annotated[str | None, typer.Option(help="Customer-success owner.")] = None,
    notes: Annotated[str, typer.Option(help="Free notes.")] = "",
    interval: Annotated[
        int | None,
        typer.Option(
            "--interval",
            help="Its own check interval in seconds (300 to 86400); "
            "default: AFASBOT_CHECK_INTERVAL_SECONDS.",
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace the token of an existing org (rotation).")
    ] = False,
) -> None:
    """Register an org. The token is verified live against AFAS, then stored encrypted."""
    settings = get_settings()
    with user_errors():
        environment = AfasEnvironment.parse(env, kind)
    token = read_token_file(token_file)
    runtime = _open(settings)
    try:
        with user_errors():
            try:
                registration = asyncio.run(
                    _register(
                        runtime,
                        key,
                        name,
                        environment,
                        token,
                        alert_channel,
                        cs_owner,
                        notes,
                        interval,
                        replace,
                    )
                )
            except DuplicateOrgError as duplicate:
                fail(
                    f"an org with key {duplicate.key!r} is already registered; "
                    "add --replace to replace its token (rotation)"
                )
            except UnknownOrgError as unknown:
                fail(
                    f"there is no org with key {unknown.key!r} whose token --replace could "
                    "replace; leave out --replace to register it as a new org"
                )
    except TokenNotVerified as refused:
        print_report(
            Console(stderr=True), refused.report, language=settings.language, problems_only=True
        )
        fail(f"AFAS did not accept this token ({refused.access}); nothing was stored.")
    finally:
        runtime.close()
    verb = "Token replaced for" if registration.replaced else "Registered"
    typer.echo(
        f"{verb} {registration.org_key}: environment {environment.label}, "
        f"token {token.fingerprint}"
        + (f" (was {registration.previous_fingerprint})" if registration.replaced else "")
        + "."
    )
    print_report(
        Console(),
        registration.report,
        language=settings.language,
        title=f"Org {registration.org_key}",
        problems_only=True,
    )


async def _register(
    runtime, key, name, environment, token, channel, owner, notes, interval, replace
):
    async with runtime.afas_client() as client:
        return await register_org(
            runtime,
            client,
            key=key,
            display_name=name or key,
            environment=environment,
            token=token,
            actor=operator_name(),
            alert_channel=channel,
            cs_owner=owner,
            notes=notes,
            check_interval_seconds=interval,
            replace=replace,
        )


@org_app.command("list")
def org_list(
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="Only orgs in this state: failing, unreachable, degraded, healthy or never "
            "(never checked). Repeat it, or give a comma list: --state failing,unreachable.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="A JSON array: each org's key, name, env_number, env_kind, state, "
            "last_check_at and token_fingerprint (never the token).",
        ),
    ] = False,
) -> None:
    """Every registered org with its state and last check, by key."""
    states = _states(state or [])
    runtime = _open(get_settings(), keys=False)
    try:
        with user_errors(), runtime.session() as session:
            orgs = org_listing(session, states=states)
    finally:
        runtime.close()
    if as_json:
        typer.echo(orgs_json(orgs))
        return
    if not orgs and states:
        typer.echo(f"No orgs are {' or '.join(states)}.")
        return
    if not orgs:
        typer.echo("No orgs are registered yet. Add one with: afasbot org add KEY --env N ...")
        return
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    typer.echo(org_table(orgs, colour=colour), nl=False)


def _states(given: list[str]) -> tuple[str, ...]:
    """The states ``--state`` asked for (repeated or comma-separated), each once; a one-line
    usage error naming the valid ones for anything else."""
    parts = [part.strip().lower() for option in given for part in option.split(",")]
    valid = ", ".join(STATE_ORDER)
    if given and not any(parts):
        fail(f"--state needs a state: one of {valid} (never: never checked)")
    for part in parts:
        if part and part not in STATE_ORDER:
            shown = part if len(part) <= 40 else part[:39] + "…"
            fail(f"--state {shown!r} is not a state; use one of {valid} (never: never checked)")
    return tuple(dict.fromkeys(part for part in parts if part))


@org_app.command("show")
def org_show(key: Annotated[str, typer.Argument(help="The org's key.")]) -> None:
    """One org's registration and state (never its token)."""
    settings = get_settings()
    runtime = _open(settings, keys=False)
    try:
        with user_errors(), runtime.session() as session:
            org = get_org(session, key)
            interval = effective_interval(org, settings)
            facts = {
                "key": org.key,
                "name": org.display_name,
                "environment": f"{org.env_number} ({org.env_kind})",
                "token": f"fingerprint {org.token_fingerprint} (key id {org.token_key_id})",
                "state": org.current_state or "not checked",
                "last check": org.last_checked_at.isoformat() if org.last_checked_at else "—",
                "next check": org.next_check_at.isoformat() if org.next_check_at else "—",
                "check interval": f"{interval} s"
                + (
                    " (the default, AFASBOT_CHECK_INTERVAL_SECONDS)"
                    if org.check_interval_seconds is None
                    else " (its own)"
                ),
                "alert channel": org.alert_channel or "—",
                "customer success": org.cs_owner or "—",
                "muted until": org.mute_until.isoformat() if org.mute_until else "—",
                "notes": org.notes or "—",
                "registered": f"{org.created_at.isoformat()} by {org.created_by}",
                "changed": f"{org.updated_at.isoformat()} by {org.updated_by}",
            }
    finally:
        runtime.close()
    width = max(len(label) for label in facts)
    for label, value in facts.items():
        # Stored before control characters were refused, a name or a note may hold a
        # terminal escape sequence: shown, never obeyed. Notes keep their lines, indented.
        shown = printable(value, lines=label == "notes").replace("\n", "\n" + " " * (width + 2))
        typer.echo(f"{label.ljust(width)}  {shown}")


@org_app.command("remove")
def org_remove(
    key: Annotated[str, typer.Argument(help="The org's key.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an org: its token is destroyed, its history deleted; the audit log stays."""
    runtime = _open(get_settings(), keys=False)
    try:
        with user_errors(), runtime.session() as session:
            get_org(session, key)
        if not yes and not confirm(f"Remove {key} and destroy its token?"):
            fail("nothing was removed")
        with user_errors(), runtime.session() as session:
            removed = remove_org(session, key, actor=operator_name())
    finally:
        runtime.close()
    typer.echo(
        f"Removed {removed.key} ({printable(removed.display_name)}): "
        f"token {removed.token_fingerprint} "
        f"destroyed, {removed.check_runs_deleted} check runs deleted."
    )


def history(
    key: Annotated[str, typer.Argument(help="The org's key.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many checks.")] = 20,
) -> None:
    """An org's latest checks, newest first."""
    runtime = _open(get_settings(), keys=False)
    try:
        with user_errors(), runtime.session() as session:
            runs = [
                (r.started_at, r.trigger, r.overall_state, r.duration_ms, r.summary)
                for r in org_history(session, key, limit=limit)
            ]
    finally:
        runtime.close()
    if not runs:
        typer.echo(f"{key} has not been checked yet.")
        return
    table = Table("when", "trigger", "state", "ms", "summary")
    for started, trigger, state, duration, summary in runs:
        table.add_row(
            started.strftime("%Y-%m-%d %H:%M:%S UTC"),
            trigger,
            _state_text(state),
            str(duration),
            Text(printable(summary)),
        )
    Console().print(table)


def check_stored_org(settings: Settings, key: str, *, profile: Profile, deep: bool) -> CheckReport:
    """``afasbot check KEY``: check a registered org and record the run."""
    runtime = _open(settings, profile=profile)
    try:
        with user_errors():
            (result,) = asyncio.run(
                check_orgs(
                    runtime, [key], trigger=CheckTrigger.CLI, actor=operator_name(), deep=deep
                )
            )
    finally:
        runtime.close()
    return result.report


def register(app: typer.Typer) -> None:
    org_app.command("import")(org_import)
    app.add_typer(org_app, name="org")
    app.command()(history)
