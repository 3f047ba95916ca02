"""Text a person typed (an org's display name, its owner, its notes) reaches Slack escaped:
``&``, ``<`` and ``>`` as entities in every mrkdwn text and in every message's top-level
``text`` (which Slack also reads as mrkdwn: the notification, the fallback), so a display name
``<!channel> Evil <@U0EVIL>`` pings nobody and links nowhere. Header and button texts are
plain_text, which Slack never reads as mentions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.sandbox.scenario import scenario_from_dict
from afas.sandbox.server import SandboxServer
from bot.alerting.delivery import Delivery, drain_outbox
from bot.alerting.messages import IncidentOpened, IncidentResolved, OrgRemoved
from bot.blocks.alert import alert_blocks, alert_text, resolved_blocks
from bot.blocks.handover import handover_blocks, handover_text, slack_channel, slack_person
from bot.blocks.history import history_blocks
from bot.blocks.home import org_text
from bot.blocks.org_admin import (
    OrgFacts,
    edit_modal,
    org_line,
    org_removed_blocks,
    org_removed_reply,
    org_removed_text,
)
from bot.blocks.status import OrgStatusRow, status_blocks, status_text
from bot.blocks.watch import WatchPhase, WatchView, watch_blocks, watch_text
from bot.services.handover import load_note
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.dashboard import DashboardRow
from storage.models import Org
from storage.repository import add_org, schedule_check
from tests.fakes.slack import SlackWebApiFake

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EVIL = "<!channel> Evil & <@U0EVIL> <https://evil.example|click here>"
RAW = ("<!channel>", "<@U0EVIL>", "<https://evil")
ESCAPED = "&lt;!channel&gt; Evil &amp; &lt;@U0EVIL&gt;"
ENV = AfasEnvironment("40001", EnvironmentKind.PRODUCTION)


def mrkdwn_texts(value: object) -> list[str]:
    """Every mrkdwn text in blocks or a view (plain_text ones are never parsed by Slack)."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            found.append(value["text"])
        for item in value.values():
            found += mrkdwn_texts(item)
    elif isinstance(value, list):
        for item in value:
            found += mrkdwn_texts(item)
    return found


def assert_inert(*texts: str, shown: bool = True) -> None:
    """No mention or link of the typed text survives; and (``shown``) the text is there."""
    for text in texts:
        for raw in RAW:
            assert raw not in text, text
    if shown:
        assert any(ESCAPED in text for text in texts), texts


# -- an alert, end to end: scheduled checks, the outbox, the Slack fake ---------------------


@pytest.fixture
def evil_sandbox() -> Iterator[SandboxServer]:
    scenario = scenario_from_dict({"environments": [{"name": "acme", "number": 40001}]})
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


async def test_an_alert_for_an_org_with_mentions_in_its_name_pings_nobody(
    make_runtime, evil_sandbox, slack
) -> None:
    runtime = make_runtime(evil_sandbox.url_template)
    env = evil_sandbox.scenario.by_name("acme")
    with runtime.session() as session:
        add_org(
            session,
            key="acme",
            display_name=EVIL,
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
            now=T0,
        )
    env.app_connector.get_connectors.remove("SBQ_BTW")
    client = web_client("xoxb-test", base_url=slack.url, retry_rate_limits=False)
    for minutes in (0, 15):
        moment = T0 + timedelta(minutes=minutes)
        with runtime.session() as session:
            schedule_check(session, session.exec(select(Org)).one().id, at=moment)
        async with runtime.afas_client() as afas:
            await sweep(runtime, afas, owner="replica-a", now=moment)
    result = await drain_outbox(
        runtime, client, Delivery(language="en", default_channel=None), owner="a", now=moment
    )
    assert result.sent == 1
    (call,) = slack.calls("chat.postMessage")
    blocks = call.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert_inert(call.params["text"], *mrkdwn_texts(blocks))
    assert ESCAPED in call.params["text"]  # the notification, which pinged the channel


# -- every builder that shows typed text ------------------------------------------------------


def _incident(kind=IncidentOpened, **extra):
    return kind(
        org_key="acme",
        display_name=EVIL,
        environment=ENV.label,
        env_number=ENV.number,
        env_kind=ENV.kind.value,
        channel="C0ALERTS",
        overall="failing",
        headline={"nl": "Kapot", "en": "Broken"},
        opened_at=T0,
        **extra,
    )


@pytest.mark.parametrize("language", ["nl", "en"])
def test_alert_builders(language) -> None:
    opened = _incident()
    assert_inert(
        alert_text(opened, language=language),
        *mrkdwn_texts(alert_blocks(opened, language=language, incident_id=1)),
        shown=False,
    )
    assert ESCAPED in alert_text(opened, language=language)
    resolved = _incident(IncidentResolved, duration_seconds=600)
    assert_inert(*mrkdwn_texts(resolved_blocks(resolved, language=language)))
    removed = OrgRemoved(
        org_key="acme",
        display_name=EVIL,
        channel="C0ALERTS",
        ts="1.2",
        removed_by="U0ADMIN",
        removed_at=T0,
    )
    assert_inert(
        org_removed_text(removed, language=language),
        org_removed_reply(removed, language=language),
        *mrkdwn_texts(org_removed_blocks(removed, language=language)),
    )


def test_an_acknowledgement_by_a_forged_user_id_is_escaped() -> None:
    texts = mrkdwn_texts(
        alert_blocks(_incident(), language="en", incident_id=1, acknowledged_by="U1> <!channel")
    )
    assert_inert(*texts, shown=False)


def test_handover_note_of_an_org_with_typed_text(runtime, scenario) -> None:
    env = scenario.by_name("healthy")
    with runtime.session() as session:
        add_org(
            session,
            key="acme",
            display_name=EVIL,
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            cs_owner=EVIL,
            notes=f"first line\n{EVIL}\n> quoted & <b>",
            now=T0,
        )
    note = load_note(runtime, "acme", now=T0 + timedelta(hours=1))
    for language in ("nl", "en"):
        text = handover_text(note, language=language)
        assert_inert(text, *mrkdwn_texts(handover_blocks(note, language=language)))
        assert ESCAPED in text  # the notification


@pytest.mark.parametrize(
    "typed", ["C0123\n", "C0123> <!channel", "U0123\n", "U0123|x> <!channel", EVIL]
)
def test_channel_and_person_links_only_for_whole_ids(typed) -> None:
    for shown in (slack_channel(typed), slack_person(typed)):
        assert "<!channel" not in shown and "\n>" not in shown


def test_watch_status_home_history_and_modals() -> None:
    now = T0 + timedelta(minutes=5)
    view = WatchView(
        watch_id=1, org_key="acme", phase=WatchPhase.RUNNING, now=now, display_name=EVIL
    )
    texts = [watch_text(view, language="en"), *mrkdwn_texts(watch_blocks(view, language="en"))]
    row = OrgStatusRow("acme", EVIL, ENV.label, "failing", T0, T0 + timedelta(hours=1), EVIL)
    texts += [status_text([row], language="en", now=now)]
    texts += mrkdwn_texts(status_blocks([row], language="en", now=now))
    dash = DashboardRow("acme", EVIL, "40001", "production", "failing", T0, None, None, T0, EVIL)
    texts.append(org_text(dash, "en", now))
    facts = OrgFacts("acme", EVIL, ENV, "ABCD", cs_owner=EVIL, notes=EVIL)
    texts += [org_line(facts, language="en"), *mrkdwn_texts(edit_modal(facts, language="en"))]
    texts += mrkdwn_texts(history_blocks("acme", EVIL, [], [], language="en", now=now))
    assert_inert(*texts)
