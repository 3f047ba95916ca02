"""``afasbot org list``: fixed-width text (aligned in terminal cells, names as typed and never
obeyed), ``--json`` (each org's key, name, environment, state, last check, fingerprint; never
the token), ``--state`` (repeated or a comma list, validated), and 10,000 orgs in one query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.crypto import TokenCipher
from storage.db import make_engine
from storage.models import Org
from tests.storage.test_dashboard import CYCLE, insert_orgs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COLUMNS = ("key", "name", "environment", "state", "last check", "token")


@pytest.fixture
def orgs(cli, migrated_url: str, key: str):
    """Bulk orgs in the CLI's database (``insert_orgs``: states cycling through ``CYCLE``),
    with ``change`` to set columns of one org afterwards."""
    engine = make_engine(migrated_url)

    class Orgs:
        def add(self, count: int) -> list[str]:
            with Session(engine) as session:
                return insert_orgs(session, TokenCipher.from_keys([key]), count, now=T0)

        def change(self, org_key: str, **values: object) -> None:
            with Session(engine) as session:
                session.execute(update(Org).where(Org.key == org_key).values(**values))
                session.commit()

    try:
        yield Orgs()
    finally:
        engine.dispose()


def column_starts(header: str) -> list[int]:
    return [header.index(name) for name in COLUMNS]


def cells_before(line: str, count: int) -> int:
    return cell_len(line[:count])


@contextmanager
def org_queries() -> Iterator[list[str]]:
    """The statements that read the orgs table, from any engine, meanwhile."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        if "FROM orgs" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_text_lines_up_in_columns_with_the_counts_below(cli, orgs) -> None:
    orgs.add(8)
    orgs.change("org-0003", display_name="株式会社テスト")  # two cells per character
    orgs.change("org-0005", display_name="A" * 120)
    result = cli("org", "list")
    assert result.exit_code == 0, result.output
    header, *rows, summary = result.stdout.splitlines()
    assert header.split() == ["key", "name", "environment", "state", "last", "check", "token"]
    assert [row.split()[0] for row in rows] == [f"org-{n:04d}" for n in range(8)]
    starts = column_starts(header)
    for row in rows:  # every column starts in the same terminal cell on every line
        state = row.split("  ")
        assert state[0] == row[: starts[1]].rstrip()
        environment_at = row.index("12345 (test)")
        assert cells_before(row, environment_at) == starts[2], row
    assert "株式会社テスト" in result.stdout
    long_name = next(row for row in rows if row.startswith("org-0005"))
    assert "A" * 39 + "…" in long_name and "A" * 41 not in long_name
    states = {row.split()[0]: row for row in rows}
    assert "failing" in states["org-0001"] and "2026-03-02 08:59 UTC" in states["org-0001"]
    assert "not checked" in states["org-0002"] and "—" in states["org-0002"]
    assert "not checked" in states["org-0006"]  # "weird": a state this version does not know
    assert summary == "8 orgs: failing 1 · unreachable 1 · degraded 1 · never checked 2 · healthy 3"
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal


def test_json_gives_each_orgs_facts_and_never_the_token(cli, orgs) -> None:
    orgs.add(3)
    orgs.change("org-0001", display_name="Evil \x1b[31m \x9b2J \x7f BV")
    result = cli("org", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert listed == [
        {
            "key": "org-0000",
            "name": "Org 0 B.V.",
            "env_number": "12345",
            "env_kind": "test",
            "state": "healthy",
            "last_check_at": "2026-03-02T09:00:00+00:00",
            "token_fingerprint": "bulk",
        },
        {
            "key": "org-0001",
            "name": "Evil \x1b[31m \x9b2J \x7f BV",  # as stored, once parsed
            "env_number": "12345",
            "env_kind": "test",
            "state": "failing",
            "last_check_at": (T0 - timedelta(minutes=1)).isoformat(),
            "token_fingerprint": "bulk",
        },
        {
            "key": "org-0002",
            "name": "Org 2 B.V.",
            "env_number": "12345",
            "env_kind": "test",
            "state": None,
            "last_check_at": None,
            "token_fingerprint": "bulk",
        },
    ]
    for control in ("\x1b", "\x9b", "\x7f"):
        assert control not in result.stdout  # escaped in the JSON text: shown, never obeyed
    assert "gAAAAA" not in result.stdout and "ciphertext" not in result.stdout
    assert len(result.stdout.splitlines()) == 5  # one org per line between the brackets


def test_json_of_no_orgs_is_an_empty_array(cli) -> None:
    result = cli("org", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "No orgs are registered yet" in cli("org", "list").stdout


def test_state_filters_repeated_or_as_a_comma_list(cli, orgs) -> None:
    orgs.add(14)
    expected = {
        state: [f"org-{n:04d}" for n in range(14) if CYCLE[n % len(CYCLE)] == state]
        for state in ("failing", "healthy")
    }
    never = [f"org-{n:04d}" for n in range(14) if CYCLE[n % len(CYCLE)] in (None, "weird")]
    for args in (
        ["--state", "failing", "--state", "HEALTHY"],
        ["--state", "failing, healthy"],
        ["--state", "healthy,failing,failing"],
    ):
        listed = json.loads(cli("org", "list", "--json", *args).stdout)
        assert [org["key"] for org in listed] == sorted(expected["failing"] + expected["healthy"])
    text = cli("org", "list", "--state", "never").stdout
    assert [line.split()[0] for line in text.splitlines()[1:-1]] == never
    assert text.splitlines()[-1] == "4 orgs: never checked 4"
    for failing in expected["failing"]:
        orgs.change(failing, current_state="healthy")
    assert cli("org", "list", "--state", "unreachable").exit_code == 0
    none = cli("org", "list", "--state", "failing")
    assert (none.exit_code, none.stdout) == (0, "No orgs are failing.\n")


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (["--state", "broken"], "'broken' is not a state"),
        (["--state", "failing,ok"], "'ok' is not a state"),
        (["--state", ""], "--state needs a state"),
        (["--state", ","], "--state needs a state"),
        (["--state", "x" * 500], "'" + "x" * 39 + "…' is not a state"),
        (["--state", "fail\x1b[2J"], "'fail\\x1b[2j' is not a state"),
    ],
)
def test_a_state_that_is_not_one_is_a_one_line_error_naming_the_states(cli, given, named) -> None:
    result = cli("org", "list", *given)
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --state ") and named in line
    assert "failing, unreachable, degraded, never, healthy" in line
    assert "\x1b" not in line


@pytest.mark.parametrize("backend", ["sqlite"])
def test_10000_orgs_in_one_query_every_one_listed(cli, orgs) -> None:
    keys = orgs.add(10_000)
    with org_queries() as text_queries:
        text = cli("org", "list")
    with org_queries() as json_queries:
        listed = json.loads(cli("org", "list", "--json").stdout)
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 10_002 and lines[-1].startswith("10,000 orgs: failing 1,429")
    assert [line.split()[0] for line in lines[1:-1]] == keys
    assert [org["key"] for org in listed] == keys
    assert len(text_queries) == len(json_queries) == 1  # one query, not one per org
    assert "token_ciphertext" not in text_queries[0]
