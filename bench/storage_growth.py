"""What check runs cost the database, per run and per org per day, before and after retention,
on SQLite and on PostgreSQL.

Part 1, per run: the same report recorded 200 times for one org, as the bot stored it before
(``record_check_run`` of revision 0006: the items serialised twice, stored in full every
time) and as it stores them now (once serialised; the items stored only when they changed),
for a healthy report and a failing one from the AFAS sandbox's built-in scenario: the bot's
CPU per recorded run (record and commit) and the database's bytes per run.

Part 2, growth: ``--days`` days (60) of a check every 15 minutes for ``--orgs`` orgs (20),
bulk-inserted as ``record_check_run`` stores them, with the sandbox's items: most orgs healthy
throughout, some with a token whose expiry the check reports (their items change daily),
some failing or unreachable for a while. Then the runs older than ``--retention`` days (30)
are compacted (storage/retention.py). Sizes are live data (SQLite after ``VACUUM``,
PostgreSQL after ``VACUUM FULL``: tables, indexes and TOAST).

    python bench/storage_growth.py               # both databases, about two minutes
    python -m bench.storage_growth --quick       # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.table import Table
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from afas.check import run_check
from afas.client import AfasClient
from afas.environments import AfasEnvironment, EnvironmentKind
from afas.sandbox.scenario import default_scenario
from afas.sandbox.server import SandboxServer
from afas.tokens import AfasToken
from bench._common import (
    apply_defaults,
    default_output,
    machine_facts,
    make_console,
    name_list,
    write_results,
)
from storage import schema
from storage.checks import SHARE_WITHIN, items_digest, record_check_run
from storage.crypto import TokenCipher, generate_key
from storage.db import make_engine, make_session_factory
from storage.models import CheckDay, CheckRun, CheckTrigger, Org, OrgState
from storage.orgs import add_org
from storage.retention import compact_old_runs, retention_cutoff

SCRIPT = "storage_growth"
FULL = {"orgs": 20, "days": 60, "per_day": 96, "retention": 30, "runs": 200}
QUICK = {"orgs": 4, "days": 6, "per_day": 24, "retention": 2, "runs": 20}
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REPORTS = ("healthy", "missing-connectors", "maintenance")


# -- the sandbox's items ----------------------------------------------------------------------


def sandbox_items(days: int) -> dict[str, Any]:
    """The items of the sandbox's healthy, failing and unreachable environments, and of its
    expiring token once per simulated day (its ``days_left`` changes)."""

    async def gather() -> dict[str, Any]:
        scenario = default_scenario()
        found: dict[str, Any] = {}
        with SandboxServer(scenario) as server:
            async with AfasClient(url_template=server.url_template, timeout=10.0) as client:
                for name in REPORTS:
                    env = scenario.by_name(name)
                    report = await run_check(client, env.environment(), env.token(), now=T0)
                    found[name] = (report.overall.value, [i.to_dict() for i in report.items])
                env = scenario.by_name("token-expiring")
                found["expiring"] = []
                for day in range(days):
                    report = await run_check(
                        client, env.environment(), env.token(), now=T0 + timedelta(days=day)
                    )
                    found["expiring"].append([i.to_dict() for i in report.items])
        return found

    return asyncio.run(gather())


# -- databases --------------------------------------------------------------------------------


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A new, migrated database of its own; dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"{uuid.uuid4().hex[:8]}.sqlite3"
        url = f"sqlite:///{path}"
        schema.upgrade(url)
        yield url
        return
    name = f"afasbot_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        schema.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable() -> bool:
    engine = make_engine(PG_ADMIN)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not here"
        return False
    finally:
        engine.dispose()


def live_bytes(engine: Engine) -> dict[str, int]:
    """Bytes of live data per table (indexes and TOAST included): after VACUUM (FULL)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = engine.raw_connection()
        try:
            raw.execute("VACUUM")
            rows = _dbstat(raw)
        finally:
            raw.close()
        return rows
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM FULL check_runs")
        connection.exec_driver_sql("VACUUM FULL check_days")
        return {
            table: int(
                connection.execute(
                    text("SELECT pg_total_relation_size(:t)"), {"t": table}
                ).scalar_one()
            )
            for table in ("check_runs", "check_days")
        }


def _dbstat(raw: Any) -> dict[str, int]:
    """SQLite: bytes per table with its indexes, from ``dbstat`` when the build has it, else
    the whole file for check_runs (the other tables are tiny here)."""
    try:
        rows = raw.execute(
            "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s "
            "JOIN sqlite_master AS m ON m.name = s.name GROUP BY m.tbl_name"
        ).fetchall()
    except Exception:  # no dbstat in this build
        page = raw.execute("PRAGMA page_size").fetchone()[0]
        count = raw.execute("PRAGMA page_count").fetchone()[0]
        return {"check_runs": page * count, "check_days": 0}
    sizes = dict(rows)
    return {table: int(sizes.get(table, 0)) for table in ("check_runs", "check_days")}


def new_org(session: Session, cipher: TokenCipher, key: str) -> Org:
    token = AfasToken.parse(f"{random.Random(key).getrandbits(256):064X}")
    org = add_org(
        session,
        key=key,
        display_name=key,
        environment=AfasEnvironment("10001", EnvironmentKind.PRODUCTION),
        token=token,
        cipher=cipher,
        actor="bench",
        now=T0,
    ).org
    session.commit()
    return org


# -- part 1: one run ----------------------------------------------------------------------------


def record_as_before(
    session: Session,
    org: Org,
    *,
    trigger: str,
    started_at: datetime,
    duration_ms: int,
    overall_state: str,
    items: Sequence[dict[str, Any]],
    summary: str = "",
) -> None:
    """``record_check_run`` as revision 0006 had it (the baseline): a ``json.dumps`` to validate
    the items, then the ORM's own serialisation, the items stored in full every time."""
    state = OrgState(overall_state)
    item_list = [dict(item) for item in items]
    json.dumps(item_list)
    session.add(
        CheckRun(
            org_id=org.id,
            trigger=CheckTrigger(trigger).value,
            started_at=started_at,
            duration_ms=int(duration_ms),
            overall_state=state.value,
            items=item_list,
            summary=summary,
        )
    )
    org.current_state = state.value
    org.last_checked_at = started_at
    session.add(org)
    session.flush()


def per_run(backend: str, workdir: Path, items: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    cells = []
    for report in ("healthy", "missing-connectors"):
        state, report_items = items[report]
        for variant, record in (("before", record_as_before), ("now", record_check_run)):
            with database(backend, workdir) as url:
                engine = make_engine(url)
                try:
                    cells.append(
                        _per_run(engine, variant, report, state, report_items, record, runs)
                    )
                finally:
                    engine.dispose()
    return cells


def _per_run(
    engine: Engine,
    variant: str,
    report: str,
    state: str,
    items: list[dict[str, Any]],
    record: Callable[..., Any],
    runs: int,
) -> dict[str, Any]:
    sessions = make_session_factory(engine)
    with sessions() as session:
        org = new_org(session, TokenCipher.from_keys([generate_key()]), "acme")
        empty = live_bytes(engine)["check_runs"]
        cpu = 0.0
        for n in range(runs):
            started = time.process_time()
            record(
                session,
                org,
                trigger="schedule",
                started_at=T0 + timedelta(minutes=15 * n),
                duration_ms=400,
                overall_state=state,
                items=items,
                summary=state,
            )
            session.commit()
            cpu += time.process_time() - started
    used = live_bytes(engine)["check_runs"] - empty
    return {
        "backend": engine.dialect.name,
        "variant": variant,
        "report": report,
        "runs": runs,
        "cpu_ms_per_run": round(cpu / runs * 1000, 3),
        "bytes_per_run": round(used / runs),
        "items_json_bytes": len(json.dumps(items, separators=(",", ":"))),
    }


# -- part 2: 60 days ----------------------------------------------------------------------------


def simulate(
    session: Session, orgs: Sequence[Org], items: dict[str, Any], args: argparse.Namespace
) -> int:
    """Every org's runs for ``args.days`` days, shaped as ``record_check_run`` stores them."""
    rng = random.Random(11)
    step = timedelta(days=1) / args.per_day
    rows: list[dict[str, Any]] = []
    serialised: dict[int, tuple[str, str]] = {}  # id(items) -> (json, digest)

    def encoded(value: list[dict[str, Any]]) -> tuple[str, str]:
        if id(value) not in serialised:
            text_ = json.dumps(value, separators=(",", ":"))
            serialised[id(value)] = (text_, items_digest(text_))
        return serialised[id(value)]

    for index, org in enumerate(orgs):
        kind = ("steady", "steady", "steady", "steady", "expiring", "flapping", "outage")[index % 7]
        previous: tuple[str, datetime] | None = None
        bad_until = -1
        for n in range(args.days * args.per_day):
            at = T0 + n * step + timedelta(seconds=rng.randint(0, 20))
            day = n // args.per_day
            state, value = items["healthy"]
            if kind == "expiring":
                value = items["expiring"][day]
            elif kind in ("flapping", "outage"):
                if n > bad_until and rng.random() < (0.01 if kind == "flapping" else 0.002):
                    bad_until = n + rng.randint(2, 24)
                if n <= bad_until:
                    state, value = items[
                        "missing-connectors" if kind == "flapping" else "maintenance"
                    ]
            _, digest = encoded(value)
            shared = (
                previous is not None and previous[0] == digest and previous[1] >= at - SHARE_WITHIN
            )
            previous = (digest, at)
            rows.append(
                {
                    "org_id": org.id,
                    "trigger": "schedule",
                    "started_at": at,
                    "duration_ms": 400,
                    "overall_state": state,
                    "items": None if shared else value,
                    "summary": state,
                    "items_digest": digest,
                    "items_shared": shared,
                }
            )
    rows.sort(key=lambda row: row["started_at"])
    for start in range(0, len(rows), 5000):
        session.execute(insert(CheckRun.__table__), rows[start : start + 5000])
        session.commit()
    return len(rows)


def growth(
    backend: str, workdir: Path, items: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    with database(backend, workdir) as url:
        engine = make_engine(url)
        try:
            sessions = make_session_factory(engine)
            cipher = TokenCipher.from_keys([generate_key()])
            with sessions() as session:
                orgs = [new_org(session, cipher, f"org{n:04d}") for n in range(args.orgs)]
                started = time.perf_counter()
                runs = simulate(session, orgs, items, args)
                inserted_s = time.perf_counter() - started
            before = live_bytes(engine)
            now = T0 + timedelta(days=args.days)
            older_than = retention_cutoff(now, args.retention, UTC)
            with sessions() as session:
                started = time.perf_counter()
                compacted = compact_old_runs(session, older_than=older_than, batch=5000)
                compact_s = time.perf_counter() - started
                left = session.exec(select(func.count()).select_from(CheckRun)).one()
                day_rows = session.exec(select(func.count()).select_from(CheckDay)).one()
            after = live_bytes(engine)
        finally:
            engine.dispose()
    org_days = args.orgs * args.days
    compacted_days = args.days - args.retention
    kept_days = args.orgs * args.retention
    return {
        "backend": backend,
        "orgs": args.orgs,
        "days": args.days,
        "checks_per_day": args.per_day,
        "retention_days": args.retention,
        "runs": runs,
        "insert_s": round(inserted_s, 2),
        "compacted_runs": compacted,
        "compact_s": round(compact_s, 2),
        "compacted_runs_per_s": round(compacted / compact_s) if compact_s else None,
        "runs_left": left,
        "day_rows": day_rows,
        "bytes_before": before,
        "bytes_after": after,
        "bytes_per_org_day_before": round(sum(before.values()) / org_days),
        "bytes_per_org_day_full": round(after["check_runs"] / kept_days),
        "bytes_per_org_day_compacted": (
            round(after["check_days"] / (args.orgs * compacted_days)) if compacted_days else None
        ),
    }


# -- the command --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny parameters (a smoke run)")
    parser.add_argument("--backends", type=name_list, default=["sqlite", "postgres"])
    parser.add_argument("--orgs", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--per-day", dest="per_day", type=int)
    parser.add_argument("--retention", type=int)
    parser.add_argument("--runs", type=int, help="runs recorded per cell of part 1")
    parser.add_argument("--output", "--json", dest="output", type=Path)
    args = apply_defaults(parser.parse_args(argv), FULL, QUICK)
    args.output = args.output or default_output(SCRIPT)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = make_console()
    items = sandbox_items(args.days)
    backends = [b for b in args.backends if b != "postgres" or postgres_reachable()]
    skipped = sorted(set(args.backends) - set(backends))
    cells: list[dict[str, Any]] = []
    growths: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="afasbot-bench-") as workdir:
        for backend in backends:
            mine = per_run(backend, Path(workdir), items, args.runs)
            cells += mine
            row = growth(backend, Path(workdir), items, args)
            before = [c["bytes_per_run"] for c in mine if c["variant"] == "before"]
            row["bytes_per_org_day_as_before"] = round(sum(before) / len(before) * args.per_day)
            row["bytes_per_org_at_retention"] = row["bytes_per_org_day_full"] * args.retention
            growths.append(row)
    console.print(per_run_table(cells))
    console.print(growth_table(growths))
    ok = bool(cells) and all(
        now["bytes_per_run"] < before["bytes_per_run"]
        for before, now in zip(cells[::2], cells[1::2], strict=True)
    )
    write_results(
        args.output,
        {
            "benchmark": SCRIPT,
            "ok": ok,
            "machine": machine_facts(),
            "parameters": {
                k: getattr(args, k) for k in ("orgs", "days", "per_day", "retention", "runs")
            }
            | {"backends": backends, "skipped": skipped},
            "per_run": cells,
            "growth": growths,
        },
    )
    console.print(f"figures written to {args.output}")
    return 0 if ok else 1


def per_run_table(cells: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="One recorded run (record + commit)")
    for column in ("database", "report", "variant", "CPU ms/run", "bytes/run", "items JSON"):
        table.add_column(
            column, justify="right" if column[0].isupper() or "/" in column else "left"
        )
    for cell in cells:
        table.add_row(
            cell["backend"],
            cell["report"],
            cell["variant"],
            f"{cell['cpu_ms_per_run']:.3f}",
            f"{cell['bytes_per_run']:,}",
            f"{cell['items_json_bytes']:,}",
        )
    return table


def growth_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Bytes per org per day (live data)")
    for column in (
        "database",
        "runs",
        "as before (0006)",
        "now, all kept",
        "now, kept in full",
        "now, compacted",
        "compacted runs/s",
        "rows left",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["backend"],
            f"{row['runs']:,}",
            f"{row['bytes_per_org_day_as_before']:,}",
            f"{row['bytes_per_org_day_before']:,}",
            f"{row['bytes_per_org_day_full']:,}",
            f"{row['bytes_per_org_day_compacted'] or 0:,}",
            f"{row['compacted_runs_per_s'] or 0:,}",
            f"{row['runs_left']:,} runs + {row['day_rows']:,} days",
        )
    return table


if __name__ == "__main__":
    raise SystemExit(main())
