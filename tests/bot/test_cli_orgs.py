"""The operator's CLI on SQLite and PostgreSQL, against the AFAS sandbox over loopback."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from storage.db import make_engine
from storage.models import AuditEvent, CheckRun, Org


def count(url: str, model) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(model)).one()
    finally:
        engine.dispose()


def audit_actions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def test_register_list_show_check_history_remove(cli, migrated_url) -> None:
    added = cli.add("healthy", "--name", "Healthy BV", "--cs-owner", "Sanne")
    assert added.exit_code == 0, added.output
    assert "Registered healthy: environment 10001 (production)" in added.output

    listed = cli("org", "list")
    assert listed.exit_code == 0
    assert "healthy" in listed.output and "Healthy BV" in listed.output

    shown = cli("org", "show", "healthy")
    assert shown.exit_code == 0
    fingerprint = cli.scenario.by_name("healthy").token().fingerprint
    assert fingerprint in shown.output and "Sanne" in shown.output

    checked = cli("check", "healthy", "--json")
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["org"] == "healthy" and report["overall"] == "healthy"

    history = cli("history", "healthy")
    assert history.exit_code == 0
    assert "registration" in history.output and "cli" in history.output
    assert count(migrated_url, CheckRun) == 2

    removed = cli("org", "remove", "healthy", "--yes")
    assert removed.exit_code == 0
    assert f"token {fingerprint} destroyed" in removed.output
    assert count(migrated_url, Org) == 0
    assert audit_actions(migrated_url) == ["org.registered", "org.checked", "org.removed"]


def test_an_incomplete_setup_is_registered_with_its_problems_shown(cli, migrated_url) -> None:
    added = cli.add("missing-connectors")
    assert added.exit_code == 0, added.output
    assert "SBQ_BTW" in added.output and "is not in the App Connector" in added.output
    checked = cli("check", "missing-connectors")
    assert checked.exit_code == 1
    assert "Failing" in checked.output


def test_registering_again_without_replace_is_refused_and_with_replace_rotates(cli) -> None:
    assert cli.add("healthy").exit_code == 0
    again = cli.add("healthy")
    assert again.exit_code == 2
    assert "already registered; add --replace to replace its token" in again.stderr
    replaced = cli.add("healthy", "--replace")
    assert replaced.exit_code == 0
    assert "Token replaced for healthy" in replaced.output


def test_a_token_afas_rejects_is_not_stored(cli, migrated_url) -> None:
    for name in ("revoked-token", "ip-restricted", "maintenance"):
        result = cli.add(name)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().splitlines()[-1].startswith("error: AFAS did not accept")
    assert count(migrated_url, Org) == 0
    assert count(migrated_url, AuditEvent) == 0


def test_check_of_an_environment_without_registration(cli) -> None:
    result = cli(
        "check",
        "--env",
        "T10018AA",
        "--token-file",
        cli.token_file("test-environment"),
    )
    assert result.exit_code == 0, result.output
    assert "Healthy" in result.output


def test_dutch_output(cli) -> None:
    result = cli(
        "check",
        "--env",
        "10002",
        "--kind",
        "production",
        "--token-file",
        cli.token_file("missing-connectors"),
        "--lang",
        "nl",
    )
    assert result.exit_code == 1
    assert "staat niet in de App Connector" in result.output
    assert "SBQ_BTW.gcn" in result.output and "Vraag de AFAS-beheerder" in result.output
    assert "AFAS-omgeving 10002 (productie): Fout: 4 connectoren ontbreken" in result.output
    assert "production" not in result.output


def test_deep_check_json_carries_requirement_ids_and_field_lists(cli) -> None:
    result = cli(
        "check",
        "--env",
        "10011",
        "--kind",
        "production",
        "--deep",
        "--json",
        "--token-file",
        cli.token_file("broken-definition"),
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    items = {item["requirement_id"]: item for item in report["items"]}
    assert items["get.SBQ_Transactie"]["status"] == "failing"
    assert items["get.SBQ_Transactie"]["finding"] == "definition_blocked"
    assert items["get.SBQ_BTW"]["details"]["fields"]
    assert report["deep"] is True


def test_key_rotation_through_the_cli(cli, key) -> None:
    from storage.crypto import generate_key

    assert cli.add("healthy").exit_code == 0
    assert cli.add("near-miss").exit_code == 0
    new = generate_key()
    rotated = cli("keys", "rotate", env={"AFASBOT_ENCRYPTION_KEYS": f"{new},{key}"})
    assert rotated.exit_code == 0, rotated.output
    assert "Rotated 2" in rotated.output
    assert "older keys can now be dropped" in rotated.output
    again = cli("keys", "rotate", env={"AFASBOT_ENCRYPTION_KEYS": f"{new},{key}"})
    assert "Rotated 0, already on the newest key 2" in again.output
    # The old key is gone: everything still works with the new one alone.
    checked = cli("check", "healthy", env={"AFASBOT_ENCRYPTION_KEYS": new})
    assert checked.exit_code == 0, checked.output
    # And the old key alone can no longer read anything: a clear error at start.
    refused = cli("check", "healthy", env={"AFASBOT_ENCRYPTION_KEYS": key})
    assert refused.exit_code == 2
    assert "cannot read the tokens" in refused.stderr


def test_keys_generate_prints_a_usable_key(cli) -> None:
    from storage.crypto import TokenCipher

    result = cli("keys", "generate")
    assert result.exit_code == 0
    TokenCipher.from_keys([result.output.strip()])


def test_a_just_registered_org_is_not_checked_again_at_once(cli, migrated_url) -> None:
    """Registration checks the org; its first scheduled check falls on its grid, at least half
    an interval later, not seconds after (``serve`` would re-check it at once otherwise)."""
    from datetime import UTC, datetime, timedelta

    assert cli.add("healthy").exit_code == 0
    engine = make_engine(migrated_url)
    try:
        with Session(engine) as session:
            org = session.exec(select(Org)).one()
    finally:
        engine.dispose()
    half = timedelta(seconds=(org.check_interval_seconds or 900) / 2)
    assert (
        org.next_check_at.replace(tzinfo=org.next_check_at.tzinfo or UTC) > datetime.now(UTC) + half
    )


def test_history_shows_a_state_this_version_does_not_know(cli, migrated_url) -> None:
    """A newer replica may store a state this one has no name for: shown as stored."""
    assert cli.add("healthy").exit_code == 0
    engine = make_engine(migrated_url)
    try:
        with Session(engine) as session:
            run = session.exec(select(CheckRun)).one()
            run.overall_state = "[bold]degraded"
            session.add(run)
            session.commit()
    finally:
        engine.dispose()
    history = cli("history", "healthy")
    assert history.exit_code == 0, history.output
    assert "[bold]degraded" in history.output
