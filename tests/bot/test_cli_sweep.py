"""``afasbot sweep --once [--all]`` through the CLI, against the sandbox and the Slack fake: one
sweep, the outbox delivered (or kept without a Slack token), one summary line, exit 0; bad
settings and an outdated database are one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from storage.models import CheckRun, Org, OutboxMessage
from storage.orgs import MIN_CHECK_INTERVAL_SECONDS
from storage.repository import add_org, schedule_check
from tests.fakes.slack import SlackWebApiFake


@pytest.fixture(scope="module")
def slack_server() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


@pytest.fixture
def slack(slack_server: SlackWebApiFake) -> SlackWebApiFake:
    slack_server.reset()
    return slack_server


@pytest.fixture
def with_slack(slack: SlackWebApiFake) -> dict[str, str | None]:
    """The settings ``serve`` reads for Slack, pointed at the fake (ours unset)."""
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.url, **_NO_OURS}


_NO_OURS: dict[str, str | None] = {"AFASBOT_SLACK_BOT_TOKEN": None, "AFASBOT_SLACK_API_URL": None}
WITHOUT_SLACK: dict[str, str | None] = {"SLACK_BOT_TOKEN": None, **_NO_OURS}


def register(runtime, scenario, name: str, *, due: datetime) -> None:
    env = scenario.by_name(name)
    with runtime.session() as session:
        org = add_org(
            session,
            key=name,
            display_name=f"{name} BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
        ).org
        org.next_check_at = due


def make_due(runtime, name: str) -> None:
    """What the passing of time (or "Re-check now") does: the org's next check is now."""
    with runtime.session() as session:
        org = session.exec(select(Org).where(Org.key == name)).one()
        schedule_check(session, org.id, at=datetime.now(UTC) - timedelta(seconds=1))


def rows(runtime, model) -> list:
    with runtime.session() as session:
        return list(session.exec(select(model).order_by(model.id)))


def roots(slack: SlackWebApiFake, channel: str = "C0ALERTS") -> list[dict]:
    return [m for m in slack.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def summary(result) -> str:
    """The one summary line (stdout holds nothing else)."""
    (line,) = [line for line in result.stdout.splitlines() if line.strip()]
    return line


def test_a_broken_org_after_two_sweeps_has_exactly_one_alert(
    cli, runtime, scenario, slack, with_slack
) -> None:
    register(runtime, scenario, "missing-connectors", due=datetime.now(UTC) - timedelta(seconds=1))

    first = cli("sweep", "--once", env=with_slack)
    assert first.exit_code == 0, first.output
    assert summary(first) == (
        "afasbot sweep: checked 1, lost 0, failed 0; alerts sent 0, waiting 0"
    )  # one bad check is no incident yet
    assert slack.calls("chat.postMessage") == []

    make_due(runtime, "missing-connectors")
    second = cli("sweep", "--once", env=with_slack)
    assert second.exit_code == 0, second.output
    assert summary(second) == "afasbot sweep: checked 1, lost 0, failed 0; alerts sent 1, waiting 0"
    (root,) = roots(slack)
    assert "missing-connectors BV" in json.dumps(root["blocks"], ensure_ascii=False)

    make_due(runtime, "missing-connectors")
    third = cli("sweep", "--once", env=with_slack)
    assert summary(third) == "afasbot sweep: checked 1, lost 0, failed 0; alerts sent 0, waiting 0"
    assert len(roots(slack)) == 1  # still broken: the one alert stands, nothing is posted again
    (message,) = rows(runtime, OutboxMessage)
    assert message.sent_at is not None and message.lease_owner is None


def test_all_checks_orgs_that_are_not_due_yet(cli, runtime, scenario, with_slack) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    for name in ("healthy", "missing-connectors"):
        register(runtime, scenario, name, due=later)

    due_only = cli("sweep", "--once", env=with_slack)
    assert summary(due_only).startswith("afasbot sweep: checked 0, lost 0, failed 0;")
    assert rows(runtime, CheckRun) == []

    started = datetime.now(UTC)
    every = cli("sweep", "--once", "--all", env=with_slack)
    assert every.exit_code == 0, every.output
    assert summary(every).startswith("afasbot sweep: checked 2, lost 0, failed 0;")
    runs = rows(runtime, CheckRun)
    assert sorted((run.trigger, run.overall_state) for run in runs) == [
        ("schedule", "failing"),
        ("schedule", "healthy"),
    ]
    for org in rows(runtime, Org):  # back on its grid, half an interval away at least, unleased
        assert org.next_check_at > started + timedelta(seconds=MIN_CHECK_INTERVAL_SECONDS / 2)
        assert org.lease_owner is None


def test_without_a_slack_token_the_outbox_is_kept_for_later(
    cli, runtime, scenario, slack, with_slack
) -> None:
    register(runtime, scenario, "missing-connectors", due=datetime.now(UTC) - timedelta(seconds=1))
    cli("sweep", "--once", env=WITHOUT_SLACK)
    make_due(runtime, "missing-connectors")
    kept = cli("sweep", "--once", env=WITHOUT_SLACK)
    assert kept.exit_code == 0, kept.output
    assert summary(kept) == "afasbot sweep: checked 1, lost 0, failed 0; alerts sent 0, waiting 1"
    (note,) = kept.stderr.splitlines()
    assert "no Slack bot token (SLACK_BOT_TOKEN or AFASBOT_SLACK_BOT_TOKEN)" in note
    (message,) = rows(runtime, OutboxMessage)
    assert message.kind == "incident.opened" and message.sent_at is None
    assert message.lease_owner is None  # free for serve right away
    assert slack.calls() == []

    later = cli("sweep", "--once", env=with_slack)  # nothing due; the kept alert goes out
    assert summary(later) == "afasbot sweep: checked 0, lost 0, failed 0; alerts sent 1, waiting 0"
    assert len(roots(slack)) == 1


def test_slack_refusing_leaves_the_alert_waiting_and_still_exits_0(
    cli, runtime, scenario, slack, with_slack
) -> None:
    register(runtime, scenario, "missing-connectors", due=datetime.now(UTC) - timedelta(seconds=1))
    cli("sweep", "--once", env=with_slack)
    make_due(runtime, "missing-connectors")
    slack.rate_limit("chat.postMessage", times=5, retry_after=30)
    refused = cli("sweep", "--once", "--json", env=with_slack)
    assert refused.exit_code == 0, refused.output
    report = json.loads(refused.stdout)
    assert report["checked"] == ["missing-connectors"]
    assert (report["sent"], report["retried"], report["waiting"], report["slack"]) == (
        0,
        1,
        1,
        True,
    )
    assert len(slack.calls("chat.postMessage")) == 1  # tried once in this run, not hammered
    (message,) = rows(runtime, OutboxMessage)
    assert message.sent_at is None and message.not_before > datetime.now(UTC)


def test_an_outdated_database_is_one_line_and_exit_2(cli, tmp_path, with_slack) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = cli("sweep", "--once", env={**with_slack, "AFASBOT_DATABASE_URL": empty})
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and "Run `afasbot db upgrade`" in line
    assert result.stdout == ""


def test_bot_tokens_that_contradict_are_one_line_naming_both(cli) -> None:
    result = cli(
        "sweep",
        "--once",
        env={"SLACK_BOT_TOKEN": "xoxb-one", "AFASBOT_SLACK_BOT_TOKEN": "xoxb-two"},
    )
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "AFASBOT_SLACK_BOT_TOKEN and SLACK_BOT_TOKEN" in line
    assert "xoxb-one" not in line and "xoxb-two" not in line


def test_without_once_it_says_what_to_add(cli) -> None:
    result = cli("sweep", env=WITHOUT_SLACK)
    assert result.exit_code == 2
    assert "add --once" in result.stderr
