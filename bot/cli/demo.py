"""``afasbot demo``: the whole product on a fresh machine, with nothing configured.

Starts the AFAS sandbox in-process, registers its built-in environments as orgs in a throwaway
SQLite database with a throwaway key, checks them all concurrently, and shows what it found.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from afas.report import OverallState
from afas.sandbox.scenario import Scenario, default_scenario
from afas.sandbox.server import SandboxServer
from bot.cli.common import fail, printable
from bot.cli.render import OVERALL_STYLE, first_problem, print_report
from bot.runtime import Runtime, open_runtime
from bot.services.checks import OrgCheck, check_orgs
from bot.settings import Settings
from storage.crypto import generate_key
from storage.models import CheckTrigger
from storage.repository import add_org
from storage.schema import upgrade

DEMO_ACTOR = "demo"


def demo(
    lang: Annotated[str, typer.Option(help="nl or en.")] = "en",
    deep: Annotated[
        bool, typer.Option(help="Deep checks (every GetConnector with take=1).")
    ] = False,
) -> None:
    """Run the AFAS sandbox, register its environments, check them all, show the results."""
    if lang not in ("nl", "en"):
        fail("--lang must be nl or en")
    console = Console()
    scenario = default_scenario()
    with (
        tempfile.TemporaryDirectory(prefix="afasbot-demo-") as workdir,
        SandboxServer(scenario) as sandbox,
    ):
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{Path(workdir) / 'demo.sqlite3'}",
            encryption_keys=generate_key(),
            encryption_key_file=None,
            afas_url_template=sandbox.url_template,
            language=lang,
        )
        console.print(
            f"AFAS sandbox on {sandbox.url_template.split('/{host}')[0]} with "
            f"{len(scenario.environments)} environments; throwaway database and key in {workdir}."
        )
        upgrade(settings.database_url)
        runtime = open_runtime(settings)
        try:
            keys = register_sandbox_orgs(runtime, scenario)
            started = time.perf_counter()
            results = asyncio.run(
                check_orgs(runtime, keys, trigger=CheckTrigger.COMMAND, deep=deep)
            )
            elapsed = time.perf_counter() - started
        finally:
            runtime.close()
    show_overview(console, results, lang, elapsed)
    for result in results:
        if result.report.overall is not OverallState.HEALTHY:
            console.print()
            print_report(
                console, result.report, language=lang, problems_only=True, title=f"{result.org_key}"
            )


def register_sandbox_orgs(runtime: Runtime, scenario: Scenario) -> list[str]:
    """Store every sandbox environment as an org. Unlike ``org add`` this skips the live
    verification, so that the broken tokens the sandbox serves can be shown too."""
    keys = []
    with runtime.session() as session:
        for env in scenario.environments:
            add_org(
                session,
                key=env.name,
                display_name=env.description[:120] or env.name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor=DEMO_ACTOR,
            )
            keys.append(env.name)
    return keys


def show_overview(console: Console, results: list[OrgCheck], lang: str, elapsed: float) -> None:
    table = Table(title=f"{len(results)} orgs checked concurrently in {elapsed:.1f} s")
    table.add_column("org", no_wrap=True)
    table.add_column("env", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("first problem" if lang == "en" else "eerste probleem")
    table.add_column("ms", justify="right", no_wrap=True)
    for result in results:
        report = result.report
        table.add_row(
            result.org_key,
            report.env_number,
            f"[{OVERALL_STYLE[report.overall]}]{report.overall.value}[/]",
            Text(printable(first_problem(report, lang))),
            f"{report.duration_ms:.0f}",
        )
    console.print(table)
    states = [r.report.overall.value for r in results]
    console.print(
        ", ".join(f"{states.count(s.value)} {s.value}" for s in OverallState if s.value in states)
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
