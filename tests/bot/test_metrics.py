"""``/metrics`` end to end: checks through the one check path against the AFAS sandbox, Slack
calls against the Slack Web API fake, signed requests through the real Bolt app, the outbox in
the database; scraped over real HTTP and read with prometheus-client's own text parser."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError

from bot.alerting.delivery import Delivery, drain_outbox
from bot.health import Readiness
from bot.metrics import Metrics, current, installed
from bot.services.checks import check_org
from bot.serving import Server
from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from storage.models import CheckTrigger
from storage.outbox import enqueue_outbox
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import command_body, signed
from tests.bot.test_process import free_port, register
from tests.fakes.slack import SlackWebApiFake

BOT_TOKEN = "xoxb-test"
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _labels), v in samples.items() if n == name)


@pytest.fixture
def metrics(runtime) -> Iterator[Metrics]:
    """This test's own figures, current for the check path while the test runs."""
    with installed(Metrics(runtime, clock=lambda: NOW)) as fresh:
        yield fresh


@pytest.fixture
async def scrape(runtime, metrics) -> AsyncIterator:
    """A real ``Server`` on a free port; ``await scrape()`` is the parsed ``/metrics``."""
    server = Server(Readiness(runtime, tick_seconds=30), host="127.0.0.1", port=0, metrics=metrics)
    await server.start()
    texts: list[str] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:

        async def get() -> Samples:
            answer = await http.get("/metrics")
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
            texts.append(answer.text)
            return parse(answer.text)

        get.texts = texts  # type: ignore[attr-defined]
        try:
            yield get
        finally:
            await server.stop()


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        fake.users["U0AGENT"] = {"id": "U0AGENT", "name": "sanne", "locale": "nl-NL"}
        fake.usergroups["S0AGENTS"] = ["U0AGENT"]
        yield fake


def secrets_of(scenario, *names: str) -> list[str]:
    """What must never appear in the metrics: the bot token, the signing secret, and each
    org's token in its forms (data, XML, Base64, header)."""
    found = [BOT_TOKEN, SIGNING_SECRET]
    for name in names:
        token = scenario.by_name(name).token()
        found += [token.reveal_data(), token.xml, token.canonical, token.authorization_header()]
    return found


async def test_checks_are_counted_by_trigger_and_state_and_the_database_read_at_scrape(
    runtime, scenario, metrics, scrape
) -> None:
    register(runtime, scenario, ["healthy", "revoked-token"])
    before = await scrape()
    assert value(before, "afasbot_checks_total", trigger="command", state="healthy") == 0
    assert value(before, "afasbot_orgs", state="never") == 2
    assert value(before, "afasbot_outbox_depth") == 0
    assert value(before, "afasbot_outbox_oldest_undelivered_age_seconds") == 0

    async with runtime.afas_client() as client:
        healthy = await check_org(runtime, client, "healthy", trigger=CheckTrigger.COMMAND)
        revoked = [  # two scheduled failures in a row open an incident
            await check_org(
                runtime,
                client,
                "revoked-token",
                trigger=CheckTrigger.SCHEDULE,
                now=NOW + timedelta(minutes=minutes),
            )
            for minutes in (0, 1)
        ]

    after = await scrape()
    assert value(after, "afasbot_checks_total", trigger="command", state="healthy") == 1
    assert value(after, "afasbot_checks_total", trigger="schedule", state="failing") == 2
    assert total(after, "afasbot_checks_total") == 3
    assert value(after, "afasbot_check_duration_seconds_count", trigger="command") == 1
    assert value(after, "afasbot_check_duration_seconds_count", trigger="schedule") == 2
    assert value(after, "afasbot_check_duration_seconds_sum", trigger="command") == pytest.approx(
        healthy.report.duration_ms / 1000
    )
    # One count per AFAS answer (no retries here): as many as the checks' requests.
    requests = healthy.report.requests + sum(check.report.requests for check in revoked)
    assert total(after, "afasbot_afas_outcomes_total") == requests
    assert value(after, "afasbot_afas_outcomes_total", kind="ok") == 2  # version, metainfo
    # The revoked token: refused on /profitversion and /metainfo, twice.
    assert value(after, "afasbot_afas_outcomes_total", kind="token_rejected") == 4
    assert value(after, "afasbot_orgs", state="healthy") == 1
    assert value(after, "afasbot_orgs", state="failing") == 1
    assert value(after, "afasbot_orgs", state="never") == 0
    assert value(after, "afasbot_open_incidents") == 1
    assert value(after, "afasbot_outbox_depth") == 1  # the incident's alert, not yet sent
    assert value(after, "afasbot_database_up") == 1
    text = "\n".join(scrape.texts)
    assert not any(secret in text for secret in secrets_of(scenario, "healthy", "revoked-token"))
    assert "revoked-token" not in text  # no org key becomes a label


async def test_outbox_depth_and_the_age_of_its_oldest_message(runtime, metrics, scrape) -> None:
    with runtime.session() as session:
        for minutes, key in ((5, "older"), (2, "newer")):
            enqueue_outbox(
                session,
                kind="platform.down",
                payload={"v": 1},
                dedup_key=key,
                now=NOW - timedelta(minutes=minutes),
            )
    samples = await scrape()
    assert value(samples, "afasbot_outbox_depth") == 2
    assert value(samples, "afasbot_outbox_oldest_undelivered_age_seconds") == 300


async def test_deliveries_are_counted_and_logged_with_the_org_and_kind(
    runtime, scenario, metrics, scrape, slack, caplog
) -> None:
    """The alert of an org while Slack fails (500): Slack's error is counted by method and
    error, the delivery as retried; once Slack answers again, as sent."""
    register(runtime, scenario, ["revoked-token"])
    async with runtime.afas_client() as client:
        for minutes in (0, 1):
            await check_org(
                runtime,
                client,
                "revoked-token",
                trigger=CheckTrigger.SCHEDULE,
                now=NOW + timedelta(minutes=minutes),
            )
    sender = web_client(BOT_TOKEN, base_url=slack.url, retry_rate_limits=False, metrics=metrics)
    delivery = Delivery(language="en", default_channel="C0NOWHERE")
    caplog.set_level("INFO", logger="bot.alerting.delivery")
    slack.add_channel("C0NOWHERE", "alerts", is_member=True)
    slack.fail("chat.postMessage", error="internal_error", status=500)
    failed = await drain_outbox(
        runtime, sender, delivery, owner="me", now=NOW + timedelta(minutes=2), metrics=metrics
    )
    assert failed.retried == 1
    sent = await drain_outbox(
        runtime, sender, delivery, owner="me", now=NOW + timedelta(hours=2), metrics=metrics
    )
    assert sent.sent == 1
    samples = await scrape()
    assert (
        value(
            samples,
            "afasbot_slack_api_errors_total",
            method="chat.postMessage",
            error="internal_error",
        )
        == 1
    )
    assert (
        value(samples, "afasbot_outbox_deliveries_total", kind="incident.opened", outcome="retried")
        == 1
    )
    assert (
        value(samples, "afasbot_outbox_deliveries_total", kind="incident.opened", outcome="sent")
        == 1
    )
    assert value(samples, "afasbot_outbox_depth") == 0
    delivered = [r for r in caplog.records if r.getMessage().startswith("delivered outbox")]
    assert [(r.levelname, r.org, r.kind, r.outcome) for r in delivered] == [
        ("INFO", "revoked-token", "incident.opened", "sent")
    ]


async def test_slack_errors_and_429s_are_counted_by_method(metrics, scrape, slack) -> None:
    client = web_client(BOT_TOKEN, base_url=slack.url, metrics=metrics)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0UNKNOWN", text="hello")
    slack.fail("users.info", error="user_not_found")
    with pytest.raises(SlackApiError):
        await client.users_info(user="U0AGENT")
    slack.rate_limit("conversations.info", times=1, retry_after=0)
    slack.add_channel("C0KNOWN", "known")
    answer = await client.conversations_info(channel="C0KNOWN")  # retried after the 429
    assert answer["ok"] is True
    samples = await scrape()
    errors = {
        (dict(labels)["method"], dict(labels)["error"]): v
        for (name, labels), v in samples.items()
        if name == "afasbot_slack_api_errors_total"
    }
    assert errors == {
        ("chat.postMessage", "channel_not_found"): 1,
        ("users.info", "user_not_found"): 1,
        ("conversations.info", "ratelimited"): 1,
    }
    assert value(samples, "afasbot_slack_rate_limited_total", method="conversations.info") == 1
    assert BOT_TOKEN not in "\n".join(scrape.texts)


async def test_the_ack_of_a_signed_command_is_timed_once_and_a_forged_one_not(
    runtime, scenario, metrics, scrape, slack
) -> None:
    register(runtime, scenario, ["healthy"])
    client = web_client(BOT_TOKEN, base_url=slack.url, metrics=metrics)
    async with runtime.afas_client() as afas:
        bolt = create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
            metrics=metrics,
        )
        body = command_body(slack, "check healthy")
        answer = await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=signed(body)))
        assert answer.status == 200
        forged = await bolt.async_dispatch(
            AsyncBoltRequest(body=body, headers=signed(body, secret="not-the-secret"))
        )
        assert forged.status == 401
        deadline = time.monotonic() + 10
        while len(slack.responses) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # "Checking…", then the report
    samples = await scrape()
    assert value(samples, "afasbot_slack_ack_latency_seconds_count", kind="command") == 1
    assert 0 < value(samples, "afasbot_slack_ack_latency_seconds_sum", kind="command") < 3
    # The command's check went through the one check path into this test's figures.
    assert value(samples, "afasbot_checks_total", trigger="command", state="healthy") == 1
    text = "\n".join(scrape.texts)
    assert not any(secret in text for secret in secrets_of(scenario, "healthy"))


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_metrics_are_served_beside_the_slack_app_in_both_modes(
    runtime, metrics, slack, mode
) -> None:
    """HTTP mode: Slack's requests and ``/metrics`` on one port. Socket Mode (here with a
    socket that cannot connect): ``/metrics`` answers all the same."""
    client = web_client(BOT_TOKEN, base_url=slack.url, metrics=metrics)
    async with runtime.afas_client() as afas:
        bolt = create_slack_app(
            runtime, afas, client=client, signing_secret=SIGNING_SECRET, metrics=metrics
        )
        server = Server(
            Readiness(runtime, tick_seconds=30),
            host="127.0.0.1",
            port=0,
            app=bolt,
            mode=mode,
            app_token="xapp-1-unknown" if mode == "socket" else None,
            metrics=metrics,
        )
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                if mode == "http":
                    body = command_body(slack, "help")
                    answer = await http.post("/slack/events", content=body, headers=signed(body))
                    assert answer.status_code == 200, answer.text
                scraped = await http.get("/metrics")
                deadline = time.monotonic() + 10
                while mode == "socket" and "apps.connections.open" not in scraped.text:
                    assert time.monotonic() < deadline, "the socket's refusal was not counted"
                    await asyncio.sleep(0.05)
                    scraped = await http.get("/metrics")
        finally:
            await server.stop()
    assert scraped.status_code == 200
    samples = parse(scraped.text)
    acks = value(samples, "afasbot_slack_ack_latency_seconds_count", kind="command")
    assert acks == (1 if mode == "http" else 0)
    if mode == "socket":  # the socket's own Web API call is counted too
        errors = value(
            samples,
            "afasbot_slack_api_errors_total",
            method="apps.connections.open",
            error="invalid_auth",
        )
        assert errors >= 1
    assert value(samples, "afasbot_database_up") == 1
    assert BOT_TOKEN not in scraped.text and "xapp-1-unknown" not in scraped.text


async def test_a_database_that_does_not_answer_is_said_not_hidden(make_runtime, sandbox) -> None:
    from storage.db import make_engine

    runtime = make_runtime(sandbox.url_template)
    runtime.engine.dispose()
    runtime.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    metrics = Metrics(runtime)
    server = Server(Readiness(runtime, tick_seconds=30), host="127.0.0.1", port=0, metrics=metrics)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            answer = await http.get("/metrics", timeout=15)
    finally:
        await server.stop()
    assert answer.status_code == 200
    samples = parse(answer.text)
    assert value(samples, "afasbot_database_up") == 0
    assert not any(name == "afasbot_orgs" for name, _labels in samples)
    assert "postgres@" not in answer.text


def test_each_metrics_object_counts_apart_and_installing_restores() -> None:
    outer = current()
    first, second = Metrics(), Metrics()
    with installed(first):
        assert current() is first
        first.delivered("incident.opened", "sent")
    assert current() is outer
    assert b'kind="incident.opened",outcome="sent"} 1.0' in first.render()
    assert b'kind="incident.opened",outcome="sent"} 1.0' not in second.render()


def test_afasbot_serve_in_http_mode_serves_metrics_beside_slack(
    runtime, scenario, sandbox, migrated_url, key, tmp_path, slack
) -> None:
    """The real process: Slack's variables, HTTP mode, a signed command on /slack/events, the
    scheduled check; ``/metrics`` on the same port counts both and holds no secret."""
    register(runtime, scenario, ["healthy"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFASBOT_"))}
    env |= {
        "AFASBOT_DATABASE_URL": migrated_url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_SCHEDULER_TICK_SECONDS": "0.5",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
    }
    afasbot = os.path.join(os.path.dirname(sys.executable), "afasbot")
    process = subprocess.Popen(
        [afasbot, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        samples = _wait_for_metrics(
            base, lambda s: value(s, "afasbot_checks_total", trigger="schedule", state="healthy")
        )
        body = command_body(slack, "help")
        answer = httpx.post(f"{base}/slack/events", content=body, headers=signed(body), timeout=10)
        assert answer.status_code == 200, answer.text
        scraped = httpx.get(f"{base}/metrics", timeout=10)
        samples = parse(scraped.text)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert value(samples, "afasbot_slack_ack_latency_seconds_count", kind="command") == 1
    assert value(samples, "afasbot_checks_total", trigger="schedule", state="healthy") == 1
    assert value(samples, "afasbot_orgs", state="healthy") == 1
    assert not any(secret in scraped.text for secret in secrets_of(scenario, "healthy"))


def _wait_for_metrics(base: str, ready, timeout: float = 30.0) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples = parse(httpx.get(f"{base}/metrics", timeout=5).text)
            if ready(samples):
                return samples
        except (httpx.HTTPError, KeyError):
            pass
        assert time.monotonic() < deadline, "no scheduled check counted in time"
        time.sleep(0.1)
