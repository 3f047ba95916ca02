"""``afasbot export`` end to end: the CLI, the database and the AFAS sandbox over loopback.

The sandbox's own record of what exists (``sandbox.app.records``) is compared with what the
export says it left behind: nothing may exist that the report does not list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import AuditEvent, ExportRecord, ExportRun


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox):
    sandbox.reset()
    yield
    sandbox.reset()


def export(cli, name: str, *args: str):
    result = cli("export", name, "--json", *args)
    body = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, body


def what_exists(sandbox, name: str) -> dict[str, int]:
    return {connector: len(rows) for connector, rows in sandbox.app.records(name).items()}


def left_behind(body: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in body["left_behind"]:
        counts[item["connector"]] = counts.get(item["connector"], 0) + 1
    return counts


def rows(url: str, model) -> list:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)))
    finally:
        engine.dispose()


def test_a_dry_run_writes_nothing_and_says_ok(cli, sandbox, migrated_url) -> None:
    assert cli.add("healthy").exit_code == 0
    result, body = export(cli, "healthy")
    assert result.exit_code == 0, result.output
    assert body["mode"] == "dry_run" and body["overall"] == "ok"
    assert {c["connector_id"] for c in body["connectors"]} >= {"FiEntries", "KnSubject"}
    assert what_exists(sandbox, "healthy") == {}
    (run,) = rows(migrated_url, ExportRun)
    assert (run.mode, run.overall, run.finished_at is not None) == ("dry_run", "ok", True)
    assert "org.exported" in [e.action for e in rows(migrated_url, AuditEvent)]


def test_a_dry_run_names_the_missing_update_connector(cli) -> None:
    assert cli.add("missing-connectors").exit_code == 0
    result, body = export(cli, "missing-connectors")
    assert result.exit_code == 1
    subject = next(c for c in body["connectors"] if c["connector_id"] == "KnSubject")
    assert subject["status"] == "failing" and subject["guide_section"].startswith("1.2.4")


def test_live_without_yes_and_without_a_terminal_changes_nothing(cli, sandbox) -> None:
    assert cli.add("healthy").exit_code == 0
    result = cli("export", "healthy", "--live", input="")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert what_exists(sandbox, "healthy") == {}


def test_an_unknown_org_is_bad_input(cli) -> None:
    result = cli("export", "nobody")
    assert result.exit_code == 2 and "No org is registered" in result.stderr


def test_a_live_export_cleans_up_and_lists_what_it_left(cli, sandbox, migrated_url) -> None:
    assert cli.add("healthy").exit_code == 0
    result, body = export(cli, "healthy", "--live", "--yes")
    assert result.exit_code == 0, result.output
    assert body["mode"] == "live" and body["overall"] == "ok" and body["org"] == "healthy"
    assert body["values"]["administration"]["source"]["en"]  # says where each value came from
    assert left_behind(body) == {"KnSalesRelationOrg": 1}  # no DELETE in AFAS: blocked
    assert what_exists(sandbox, "healthy") == left_behind(body)
    (run,) = rows(migrated_url, ExportRun)
    assert run.finished_at is not None and run.lease_owner is None
    states = {(r.connector_id, r.state) for r in rows(migrated_url, ExportRecord)}
    assert ("KnSalesRelationOrg", "left_behind") in states
    assert ("KnPurchaseRelationOrg", "removed") in states


def test_a_lost_answer_leaves_a_run_that_cleanup_finishes(cli, sandbox, migrated_url) -> None:
    name = "export-timeout-after-write"
    assert cli.add(name).exit_code == 0
    result, _body = export(cli, name, "--live", "--yes")
    assert result.exit_code == 1
    (run,) = rows(migrated_url, ExportRun)
    assert run.finished_at is None  # the entry may exist: clean-up is owed
    again = cli("export", name, "--live", "--yes")
    assert again.exit_code == 2 and "--cleanup" in again.stderr  # never two at once
    cleaned, report = export(cli, name, "--cleanup", "--yes")
    assert cleaned.exit_code in (0, 1), cleaned.output
    assert what_exists(sandbox, name) == left_behind(report)
    assert all(r.finished_at is not None for r in rows(migrated_url, ExportRun))


def test_no_token_in_any_export_output(cli, scenario) -> None:
    assert cli.add("healthy").exit_code == 0
    token = scenario.by_name("healthy").token()
    for args in ((), ("--live", "--yes")):
        result = cli("export", "healthy", "--json", *args)
        dutch = cli("export", "healthy", "--lang", "nl", *args)
        for text in (result.output, dutch.output):
            assert token.reveal_data() not in text and "<token>" not in text


def test_a_process_killed_half_way_leaves_a_run_that_cleanup_finishes(
    cli, sandbox, migrated_url
) -> None:
    """``afasbot export --live`` is killed (SIGKILL, no goodbye) right after AFAS created its
    first record; ``--cleanup`` then finds everything the run may have made and removes it:
    nothing stays in AFAS that the report does not list."""
    name = "slow"  # healthy, but every answer takes 1.5 s: time to kill it mid-way
    assert cli.add(name).exit_code == 0
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "afasbot"),
            "export",
            name,
            "--live",
            "--yes",
        ],
        env={**os.environ, **cli.env, "AFASBOT_EXPORT_LEASE_SECONDS": "3"},
        cwd=cli.tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(r.state == "created" for r in rows(migrated_url, ExportRecord)):
                break
            assert process.poll() is None, "the export ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the export never recorded its first record")
        process.kill()
    finally:
        process.wait(timeout=10)
    assert what_exists(sandbox, name)  # it did write something to AFAS
    (run,) = rows(migrated_url, ExportRun)
    assert run.finished_at is None
    early = cli("export", name, "--cleanup", "--yes")  # its lease may still run: says so
    assert early.exit_code == 2 and "still running" in early.stderr
    time.sleep(3.1)  # the dead process's lease runs out (renewed only while it lives)
    cleaned, report = export(cli, name, "--cleanup", "--yes")
    assert cleaned.exit_code in (0, 1), cleaned.output
    assert what_exists(sandbox, name) == left_behind(report)
    (run,) = rows(migrated_url, ExportRun)
    assert run.finished_at is not None


def test_a_value_the_bot_cannot_find_is_asked_for_and_then_used(cli, sandbox) -> None:
    """missing-connectors lacks SBQ_BTW: without a VAT code nothing is written; given, the
    export uses it and says it came from the agent."""
    name = "missing-connectors"
    assert cli.add(name).exit_code == 0
    refused = cli("export", name, "--live", "--yes")
    assert refused.exit_code == 2 and "SBQ_BTW" in refused.stderr
    assert what_exists(sandbox, name) == {}
    result, body = export(cli, name, "--live", "--yes", "--vat-code", "H0")
    assert body is not None, result.output
    assert body["values"]["vat_code"]["value"] == "H0"
    assert "agent" in body["values"]["vat_code"]["source"]["en"]
    assert what_exists(sandbox, name) == left_behind(body)
