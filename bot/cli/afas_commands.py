"""``afasbot sandbox`` and ``afasbot check --env N --kind K --token-file F``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from afas.check import run_check
from afas.environments import AfasEnvironment, EnvironmentFormatError
from afas.profile import Profile, ProfileError, load_profile
from afas.report import CheckReport
from afas.tokens import AfasToken
from bot.cli.common import fail, read_token_file
from bot.cli.render import print_report, report_json
from bot.runtime import afas_client
from bot.settings import Settings, get_settings, profile_file_problem


def load_profile_or_fail(path: str | None) -> Profile:
    problem = profile_file_problem(path) if path else None
    if problem:  # checked first: a device (/dev/zero) would be read forever
        fail(f"cannot read the profile: {problem}")
    try:
        return load_profile(path)
    except ProfileError as exc:
        fail(str(exc))


async def check_environment(
    settings: Settings,
    env: AfasEnvironment,
    token: AfasToken,
    *,
    profile: Profile,
    deep: bool,
) -> CheckReport:
    async with afas_client(settings) as client:
        return await run_check(
            client,
            env,
            token,
            profile=profile,
            deep=deep,
            expiry_warning=timedelta(days=settings.token_expiry_warning_days),
        )


def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    scenario: Annotated[
        str | None, typer.Option(help="Scenario file (TOML); default: the built-in set.")
    ] = None,
    token_dir: Annotated[
        str | None,
        typer.Option(help="Also write each environment's (fake) token to DIR/NAME.token."),
    ] = None,
) -> None:
    """Run the AFAS sandbox: a fake AFAS Profit REST API with many environments."""
    from afas.sandbox.scenario import ScenarioError, default_scenario, load_scenario
    from afas.sandbox.server import serve_forever
    from afas.sandbox.serving import ListenError

    try:
        chosen = load_scenario(scenario) if scenario else default_scenario()
    except (OSError, ScenarioError) as exc:
        fail(f"cannot load the scenario {scenario}: {exc}")

    def ready(url_template: str) -> None:
        if token_dir:  # once listening: an address that cannot be used writes nothing
            _write_tokens(chosen, Path(token_dir))
        _announce(url_template, chosen, token_dir)

    try:
        serve_forever(chosen, host=host, port=port, on_ready=ready, log_level="warning")
    except ListenError as exc:
        fail(str(exc))


def _write_tokens(scenario, directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for env in scenario.environments:
            (directory / f"{env.name}.token").write_text(env.token().xml + "\n")
    except OSError as exc:
        fail(f"cannot write tokens to {directory}: {exc.strerror}")


def _announce(url_template: str, scenario, token_dir: str | None) -> None:
    from afas.sandbox.server import describe

    echo = typer.echo
    echo("AFAS sandbox. The tokens below are fakes, valid in this sandbox only.")
    echo(f"URL template: {url_template}")
    echo("In another terminal:")
    echo(f"  export AFASBOT_AFAS_URL_TEMPLATE='{url_template}'")
    echo("")
    for env in describe(scenario, url_template):
        echo(f"{env['name']}: environment {env['number']} ({env['kind']}). {env['description']}")
        if token_dir:
            echo(
                f"  afasbot check --env {env['number']} --kind {env['kind']} "
                f"--token-file {Path(token_dir) / (env['name'] + '.token')}"
            )
        else:
            echo(f"  token: {env['token']}")
    echo("")
    echo("Serving; Ctrl+C stops.")


def check(
    key: Annotated[str | None, typer.Argument(help="A registered org's key.")] = None,
    env: Annotated[
        str | None, typer.Option("--env", help="Environment number (12345) or code (O12345AA).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="production, test or acceptance.")
    ] = None,
    token_file: Annotated[
        str | None, typer.Option("--token-file", help="File with the token ('-' = stdin).")
    ] = None,
    deep: Annotated[bool, typer.Option(help="Also run every GetConnector with take=1.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    profile: Annotated[
        str | None, typer.Option(help="Requirements profile (TOML); default: built-in.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="nl or en.")] = None,
) -> None:
    """Check an AFAS environment (or a registered org) against the setup guide.

    Exit status: 0 healthy, 1 anything else, 2 bad input.
    """
    settings = get_settings()
    language = lang or settings.language
    if language not in ("nl", "en"):
        fail("--lang must be nl or en")
    chosen_profile = load_profile_or_fail(profile or settings.profile_path)
    if key is not None:
        if env or kind or token_file:
            fail("give either an org key or --env/--kind/--token-file, not both")
        from bot.cli.org_commands import check_stored_org

        report = check_stored_org(settings, key, profile=chosen_profile, deep=deep)
        title = f"Org {key}"
    else:
        if not env or not token_file:
            fail("give an org key, or --env and --token-file (and --kind for a bare number)")
        try:
            environment = AfasEnvironment.parse(env, kind)
        except EnvironmentFormatError as exc:
            fail(str(exc))
        token = read_token_file(token_file)
        report = asyncio.run(
            check_environment(settings, environment, token, profile=chosen_profile, deep=deep)
        )
        title = None
    if as_json:
        typer.echo(report_json(report, org=key))
    else:
        print_report(Console(), report, language=language, title=title)
    raise typer.Exit(0 if report.healthy else 1)


def register(app: typer.Typer) -> None:
    app.command()(sandbox)
    app.command()(check)
