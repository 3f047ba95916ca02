"""``afasbot org list`` at 10,000 orgs: the plain fixed-width text and ``--json`` against the
rich table it used to lay out (the baseline, reproduced here), in the same run, on a temporary
SQLite database with the orgs inserted in one statement. Also what a page of the overview
costs (``storage.dashboard``: the App Home and ``/afas status``) against the single sort it
used to make.

Three kinds of figures:

- in-process: the command's own work (open the runtime, read, lay out, write to a buffer),
  through the real Typer app for the new layouts and through the old code for the baseline;
- a process: ``afasbot org list`` (and ``--json``) as an operator runs it, start to exit,
  beside ``afasbot --help``, which is only the start-up (Python and the CLI's imports);
- a page of the overview: the page query (old: one ``ORDER BY`` rank, key with ``OFFSET``;
  new: per-state slices) and the whole ``dashboard_page``, on its first, middle and last page.

    python bench/org_list.py                 # 10,000 orgs, 5 repeats, about a minute
    python -m bench.org_list --quick         # a smoke run: 200 orgs, 1 repeat
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import case, insert
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from afas.tokens import AfasToken
from bench._common import (
    REPO_ROOT,
    apply_defaults,
    default_output,
    machine_facts,
    make_console,
    write_results,
)
from bot.cli import app as afasbot
from bot.cli.common import printable
from bot.runtime import open_runtime
from bot.settings import Settings, get_settings
from storage import schema
from storage.crypto import TokenCipher, generate_key
from storage.dashboard import (
    _PAGE_COLUMNS,
    CHECKED_STATES,
    NEVER_CHECKED,
    STATE_ORDER,
    _read_slices,
    dashboard_counts,
    dashboard_page,
    page_slices,
)
from storage.db import make_engine
from storage.models import Org
from storage.repository import list_orgs

SCRIPT = "org_list"
FULL = {"orgs": 10_000, "repeat": 5, "process_runs": 3}
QUICK = {"orgs": 200, "repeat": 1, "process_runs": 1}
STATES = ("healthy", "failing", None, "degraded", "unreachable", "healthy", "healthy")
BASELINE_WIDTH = 200  # the old table's console width (wider than 80: it wraps less)
PAGE_SIZE = 25
GOAL_S = 1.0


# -- the database ----------------------------------------------------------------------------


def seed(url: str, count: int) -> float:
    """``count`` orgs in one INSERT (registering each through AFAS would take hours); returns
    the seconds it took. Keys ``org-00000``…, states cycling, one in ten muted."""
    schema.upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    cipher = TokenCipher.from_keys([generate_key()])
    ciphertext, key_id = cipher.encrypt(AfasToken.parse("AB" * 32))
    rows = [
        {
            "key": f"org-{n:05d}",
            "display_name": f"Klant {n} B.V.",
            "env_number": str(10_000 + n % 90_000),
            "env_kind": ("production", "test", "acceptance")[n % 3],
            "token_ciphertext": ciphertext,
            "token_key_id": key_id,
            "token_fingerprint": f"{n:08X}",
            "check_interval_seconds": 900,
            "next_check_at": now + timedelta(minutes=n % 15),
            "mute_until": now + timedelta(hours=2) if n % 10 == 0 else None,
            "muted_by": "cli:bench" if n % 10 == 0 else None,
            "current_state": STATES[n % len(STATES)],
            "last_checked_at": now - timedelta(minutes=n % 15) if STATES[n % len(STATES)] else None,
            "created_by": "cli:bench",
            "created_at": now,
            "updated_by": "cli:bench",
            "updated_at": now,
        }
        for n in range(count)
    ]
    started = time.perf_counter()
    with Session(engine) as session:
        session.execute(insert(Org), rows)
        session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


# -- the variants ------------------------------------------------------------------------------


def old_rich_table(url: str) -> str:
    """What ``org list`` did before: every org as an ORM object, then one rich table."""
    runtime = open_runtime(Settings(_env_file=None, database_url=url), keys=False)
    try:
        with runtime.session() as session:
            rows = [
                (
                    o.key,
                    o.display_name,
                    f"{o.env_number} ({o.env_kind})",
                    o.current_state,
                    o.last_checked_at,
                    o.token_fingerprint,
                )
                for o in list_orgs(session)
            ]
    finally:
        runtime.close()
    table = Table("key", "name", "environment", "state", "last check", "token")
    for key, name, env, state, checked, fingerprint in rows:
        table.add_row(
            key,
            Text(printable(name)),
            env,
            f"[bold]{state}[/]" if state else "[dim]not checked[/dim]",
            checked.strftime("%Y-%m-%d %H:%M UTC") if checked else "—",
            fingerprint,
        )
    buffer = io.StringIO()
    Console(file=buffer, width=BASELINE_WIDTH).print(table)
    return buffer.getvalue()


def cli_org_list(url: str, *extra: str) -> str:
    """``afasbot org list`` through the real Typer app, in this process."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            afasbot, ["org", "list", *extra], env=_env(url), catch_exceptions=False
        )
    finally:
        get_settings.cache_clear()
    if result.exit_code != 0:
        raise RuntimeError(f"org list {' '.join(extra)} exited {result.exit_code}")
    return result.stdout


def _env(url: str) -> dict[str, str]:
    return {"AFASBOT_DATABASE_URL": url, "AFASBOT_ENCRYPTION_KEY_FILE": "", "NO_COLOR": "1"}


def timed(repeat: int, work: Callable[[], str]) -> tuple[list[float], str]:
    seconds, output = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        output = work()
        seconds.append(time.perf_counter() - started)
    return seconds, output


def process_seconds(url: str, args: Sequence[str], runs: int) -> list[float]:
    """``afasbot ARGS`` in a new process, start to exit, output to /dev/null."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFASBOT_")} | _env(url)
    command = [sys.executable, "-c", "from bot.cli.app import main; main()", *args]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, check=True, timeout=300
        )
        seconds.append(time.perf_counter() - started)
    return seconds


# -- a page of the overview ------------------------------------------------------------------


def old_page_query(session: Session, page: int) -> list[Any]:
    """The page as it was read before: every org sorted by a computed rank, then OFFSET."""
    rank = case(
        *[(col(Org.current_state) == s, STATE_ORDER.index(s)) for s in CHECKED_STATES],
        else_=STATE_ORDER.index(NEVER_CHECKED),
    )
    query = select(*_PAGE_COLUMNS)
    query = query.order_by(rank, col(Org.key)).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
    return list(session.exec(query).all())


def page_figures(url: str, repeat: int) -> list[dict[str, Any]]:
    engine = make_engine(url)
    now = datetime.now(UTC)
    rows = []
    with Session(engine) as session:
        counts = dashboard_counts(session, now=now)
        pages = max(1, -(-counts.total // PAGE_SIZE))
        for label, page in (("first", 0), ("middle", pages // 2), ("last", pages - 1)):
            slices = page_slices(
                counts.by_state, state=None, first=page * PAGE_SIZE, size=PAGE_SIZE
            )
            old, old_rows = timed(repeat * 5, lambda p=page: old_page_query(session, p))
            new, new_rows = timed(repeat * 5, lambda s=slices: _read_slices(session, s))
            whole, _ = timed(
                repeat * 5,
                lambda p=page: dashboard_page(session, page=p, page_size=PAGE_SIZE, now=now),
            )
            same = [r[1] for r in old_rows] == [r[1] for r in new_rows]
            rows.append(
                {
                    "page": label,
                    "index": page,
                    "old_query_ms": _ms(old),
                    "new_query_ms": _ms(new),
                    "query_ratio": round(statistics.median(old) / statistics.median(new), 2),
                    "dashboard_page_ms": _ms(whole),
                    "same_orgs": same,
                }
            )
    engine.dispose()
    return rows


def _ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


# -- the run ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m bench.{SCRIPT}", description=__doc__)
    parser.add_argument("--orgs", type=int, help="orgs in the database (default 10,000)")
    parser.add_argument("--repeat", type=int, help="in-process runs per variant (default 5)")
    parser.add_argument("--process-runs", type=int, help="runs per process variant (default 3)")
    parser.add_argument("--output", type=Path, default=default_output(SCRIPT))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 orgs, 1 repeat")
    args = apply_defaults(parser.parse_args(argv), FULL, QUICK)
    if args.orgs < 1 or args.repeat < 1 or args.process_runs < 0:
        parser.error("--orgs and --repeat must be at least 1, --process-runs at least 0")
    return args


def variant(name: str, seconds: list[float], output: str, baseline: float | None) -> dict:
    median = statistics.median(seconds)
    return {
        "variant": name,
        "median_s": round(median, 4),
        "min_s": round(min(seconds), 4),
        "runs": [round(s, 4) for s in seconds],
        "lines": output.count("\n"),
        "bytes": len(output.encode("utf-8")),
        "speedup": round(baseline / median, 1) if baseline else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="afasbot-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'orgs.sqlite3'}"
        insert_s = seed(url, args.orgs)
        console.print(f"[dim]{args.orgs:,} orgs inserted in {insert_s:.2f} s (one INSERT)[/dim]")
        base_s, base_out = timed(args.repeat, lambda: old_rich_table(url))
        text_s, text_out = timed(args.repeat, lambda: cli_org_list(url))
        json_s, json_out = timed(args.repeat, lambda: cli_org_list(url, "--json"))
        baseline = statistics.median(base_s)
        variants = [
            variant("rich table (before)", base_s, base_out, None),
            variant("org list (text)", text_s, text_out, baseline),
            variant("org list --json", json_s, json_out, baseline),
        ]
        processes = []
        if args.process_runs:
            for name, cli_args in (
                ("afasbot --help (start-up only)", ["--help"]),
                ("afasbot org list", ["org", "list"]),
                ("afasbot org list --json", ["org", "list", "--json"]),
            ):
                seconds = process_seconds(url, cli_args, args.process_runs)
                processes.append(
                    {"variant": name, "median_s": round(statistics.median(seconds), 3)}
                )
        pages = page_figures(url, args.repeat)
    if text_out.count("\n") != args.orgs + 2:
        problems.append(f"the text has {text_out.count(chr(10))} lines, not {args.orgs + 2}")
    if len(json.loads(json_out)) != args.orgs:
        problems.append("the JSON does not hold every org")
    problems += [
        f"page {p['page']}: old and new show other orgs" for p in pages if not p["same_orgs"]
    ]
    results = {
        "benchmark": SCRIPT,
        "machine": machine_facts(),
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "insert_s": round(insert_s, 3),
        "variants": variants,
        "processes": processes,
        "pages": pages,
        "goal_s": GOAL_S,
        "problems": problems,
        "ok": not problems,
    }
    path = write_results(args.output, results)
    _print(console, results, args)
    console.print(f"Figures: {path}")
    for problem in problems:
        console.print(f"[bold red]{problem}[/]")
    return 1 if problems else 0


def _print(console: Console, results: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table(title=f"afasbot org list, {args.orgs:,} orgs on SQLite, {args.repeat} run(s)")
    for name in ("variant", "median s", "min s", "lines", "MB", "speed-up"):
        table.add_column(name, justify="left" if name == "variant" else "right")
    for row in results["variants"]:
        table.add_row(
            row["variant"],
            f"{row['median_s']:.3f}",
            f"{row['min_s']:.3f}",
            f"{row['lines']:,}",
            f"{row['bytes'] / 1e6:.2f}",
            f"{row['speedup']}x" if row["speedup"] else "baseline",
        )
    console.print(table)
    if results["processes"]:
        processes = Table(title="As a process (start to exit)")
        processes.add_column("command")
        processes.add_column("median s", justify="right")
        for row in results["processes"]:
            processes.add_row(row["variant"], f"{row['median_s']:.2f}")
        console.print(processes)
    pages = Table(title=f"One overview page of {PAGE_SIZE} (App Home, /afas status)")
    for name in ("page", "old query ms", "new query ms", "ratio", "dashboard_page ms"):
        pages.add_column(name, justify="left" if name == "page" else "right")
    for row in results["pages"]:
        pages.add_row(
            f"{row['page']} ({row['index'] + 1})",
            f"{row['old_query_ms']:.2f}",
            f"{row['new_query_ms']:.2f}",
            f"{row['query_ratio']:.1f}x",
            f"{row['dashboard_page_ms']:.2f}",
        )
    console.print(pages)
    machine = results["machine"]
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}"
    )


if __name__ == "__main__":
    sys.exit(main())
