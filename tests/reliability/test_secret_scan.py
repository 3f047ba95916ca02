"""The secret scan: no AFAS token in any form, no Slack token outside the ``Authorization``
header, no signing secret and no Fernet key, in anything the bot produces.

Scanned here: a day of work in one process (CLI commands, Slack requests genuine and forged,
sweeps, an alert and its Acknowledge, a key rotation, a removal) on SQLite and PostgreSQL: its
logs at DEBUG, every call and body the Slack fake received, the database dumped (``pg_dump``;
the SQLite files byte for byte and as SQL) and every CLI command's output; then ``afasbot
serve`` itself as a process (its stdout and stderr at DEBUG, its ``/metrics``). Every other
test of this suite also has its logs and Slack calls scanned when it ends (conftest.py).

The first tests plant each secret in each form and expect the scan to find it, so a clean
result means clean and not blind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from sqlmodel import select

from afas.tokens import AfasToken
from bot.alerting.delivery import Delivery, drain_outbox
from bot.slack.app import web_client
from bot.sweep import sweep
from storage.crypto import generate_key
from storage.models import Incident, Org
from storage.repository import schedule_check
from tests.bot.conftest import Cli
from tests.conftest import PG_HOST, PG_PORT
from tests.reliability.conftest import (
    BOT_TOKEN,
    CASE_SECONDS,
    SIGNING_SECRET,
    Secrets,
    alert_press,
    assert_slack_clean,
    command,
    registration,
    seed_posted_alert,
    signed,
    slack_evidence,
    wait_responses,
)

# --- the scan sees what it must ------------------------------------------------------------

PLANTED = AfasToken("5D2C0F3E9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D")
_B64 = base64.b64encode(PLANTED.xml.encode()).decode()
PLANTED_FORMS = {
    "the XML": PLANTED.xml,
    "the Base64 form": _B64,
    "the data string": PLANTED.reveal_data(),
    "the data string in lower case": PLANTED.reveal_data().lower(),
    "the Authorization header": PLANTED.authorization_header(),
    "the XML URL-encoded": quote(PLANTED.xml, safe=""),
    "the Base64 form URL-encoded": quote_plus(_B64),
    "the Base64 form split over lines": _B64[:30] + "\r\n  " + _B64[30:],
    "the data string split over lines": PLANTED.reveal_data()[:30]
    + "\n"
    + PLANTED.reveal_data()[30:],
    "the XML HTML-escaped": PLANTED.xml.replace("<", "&lt;").replace(">", "&gt;"),
    "the XML JSON-escaped": json.dumps({"v": PLANTED.xml.replace("/", "\\/")}),
    "half the data string": PLANTED.reveal_data()[:24],
    "a form body": urlencode({"payload": json.dumps({"token": PLANTED.xml})}),
}


@pytest.fixture
def planted(secrets: Secrets) -> Secrets:
    secrets.afas["planted"] = PLANTED
    return secrets


@pytest.mark.parametrize("form", sorted(PLANTED_FORMS))
def test_the_scan_finds_an_afas_token_in_every_form(planted, form) -> None:
    text = f"some log line {PLANTED_FORMS[form]} and more"
    assert planted.leaks(text), form
    assert not planted.leaks("some log line fingerprint 4e31d26f2d and a ts 1700000000.000100")


@pytest.mark.parametrize(
    "secret",
    ["the Slack bot token", "the Slack signing secret", "the Fernet key", "another Slack token"],
)
def test_the_scan_finds_the_other_secrets(secrets, key, secret) -> None:
    value = {
        "the Slack bot token": BOT_TOKEN,
        "the Slack signing secret": SIGNING_SECRET,
        "the Fernet key": key,
        "another Slack token": "xapp-1-A0APP-1234567890-abcdefabcdef",
    }[secret]
    assert secrets.leaks(f"before {value} after")
    assert secrets.leaks(f"before {quote_plus(value)} after")


# --- a day of work in one process ------------------------------------------------------------


@dataclass
class Produced:
    """What the day produced besides the logs and the Slack calls (their fixtures scan those)."""

    cli: list[str]
    database: str


def dump_database(url: str, tmp_path: Path) -> str:
    """The database as an operator would back it up: ``pg_dump``, or the SQLite files byte
    for byte (write-ahead log included) and as SQL."""
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        dumped = subprocess.run(
            ["pg_dump", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", name],
            capture_output=True,
            text=True,
            timeout=CASE_SECONDS,
            check=True,
        )
        return dumped.stdout
    path = Path(url.removeprefix("sqlite:///"))
    raw = "".join(
        file.read_bytes().decode("latin-1") for file in sorted(path.parent.glob(path.name + "*"))
    )
    with sqlite3.connect(path) as connection:
        as_sql = "\n".join(connection.iterdump())
    return raw + as_sql


@pytest.fixture
def cli_env(migrated_url, sandbox, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return {
        "AFASBOT_DATABASE_URL": migrated_url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_ENCRYPTION_KEY_FILE": "",
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_LOG_LEVEL": "DEBUG",
        "AFASBOT_LOG_FORMAT": "json",
        "COLUMNS": "200",
    }


class RecordedCli(Cli):
    """The CLI in-process, every output (stdout and stderr) kept for the scan."""

    outputs: list[str]

    def __call__(self, *args, env=None, input=None):
        result = super().__call__(*args, env=env, input=input)
        self.outputs.append(result.stdout + result.stderr)
        return result

    async def run(self, *args: str, env: dict[str, str] | None = None):
        """In a worker thread: the CLI runs its own event loop."""
        return await asyncio.wait_for(asyncio.to_thread(self, *args, env=env), CASE_SECONDS)

    async def add_async(self, name: str, *extra: str):
        return await asyncio.wait_for(asyncio.to_thread(self.add, name, *extra), CASE_SECONDS)


async def a_day(cli, runtime, bot, slack, scenario, key, secrets) -> None:
    """The bot's whole life for a few orgs, with tokens passing through every door."""
    assert (await cli.add_async("healthy", "--alert-channel", "C0ALERTS")).exit_code == 0
    assert (await cli.add_async("missing-connectors", "--alert-channel", "C0ALERTS")).exit_code == 0
    assert (await cli.add_async("revoked-token")).exit_code != 0  # refused: said, not shown
    for args in (
        ("org", "list"),
        ("org", "show", "healthy"),
        ("check", "healthy", "--json"),
        (
            "check",
            "--env",
            "10017",
            "--kind",
            "production",
            "--token-file",
            cli.token_file("english"),
        ),
        ("history", "healthy"),
        ("handover", "missing-connectors"),
    ):
        await cli.run(*args)

    # Slack: a registration with the token in its Base64 form, and a forged one with a token.
    opening = command(slack, "register")
    assert (await bot.post(opening, signed(opening))).status_code == 200
    (opened,) = await slack.wait_for_async("views.open", timeout=CASE_SECONDS)
    near_miss = scenario.by_name("near-miss")
    b64 = base64.b64encode(near_miss.token().xml.encode()).decode()
    body = registration(opened.response["view"]["id"], near_miss, token=b64)
    assert (await bot.post(body, signed(body))).status_code == 200
    await slack.wait_for_async("views.update", timeout=CASE_SECONDS)
    forged = registration("V0FAKE", scenario.by_name("english"))
    assert (await bot.post(forged, signed(forged, secret="not-it"))).status_code == 401
    pasted = command(slack, f"check {scenario.by_name('english').token().xml}")
    for text in ("check near-miss", "status", "history healthy", "handover healthy"):
        request = command(slack, text)
        assert (await bot.post(request, signed(request))).status_code == 200
    assert (await bot.post(pasted, signed(pasted))).status_code == 200  # a token pasted
    await wait_responses(slack, 5)

    # Sweeps: the failing orgs fail twice, their alerts go out, an agent acknowledges one.
    now = datetime.now(UTC)
    async with runtime.afas_client() as afas:
        for moment in (now, now + timedelta(minutes=15)):
            with runtime.session() as session:
                for org in session.exec(select(Org)):
                    schedule_check(session, org.id, at=moment)
            await asyncio.wait_for(
                sweep(runtime, afas, owner="replica-a", now=moment), CASE_SECONDS
            )
    client = web_client(BOT_TOKEN, base_url=slack.url, retry_rate_limits=False)
    delivery = Delivery(language="nl", default_channel=None)
    drained = drain_outbox(
        runtime, client, delivery, owner="replica-a", now=now + timedelta(minutes=15)
    )
    assert (await asyncio.wait_for(drained, CASE_SECONDS)).sent >= 1
    with runtime.session() as session:  # missing-connectors' and near-miss's
        incident = session.exec(select(Incident).order_by(Incident.id)).first()
    press = alert_press(slack, incident.id, incident.slack_ts)
    assert (await bot.post(press, signed(press))).status_code == 200
    await slack.wait_for_async("chat.update", timeout=CASE_SECONDS)

    # The operator rotates the key and removes an org.
    new = generate_key()
    secrets.add_key("the new Fernet key", new)
    both = {"AFASBOT_ENCRYPTION_KEYS": f"{new},{key}"}
    assert (await cli.run("keys", "rotate", env=both)).exit_code == 0
    assert (await cli.run("org", "remove", "healthy", "--yes", env=both)).exit_code == 0
    assert (await cli.run("org", "list", env={"AFASBOT_ENCRYPTION_KEYS": new})).exit_code == 0


@pytest.fixture
async def day(
    make_runtime,
    migrated_url,
    sandbox,
    scenario,
    serve_http,
    slack,
    logs,
    cli_env,
    key,
    tmp_path,
    secrets,
) -> Produced:
    runtime = make_runtime(migrated_url, sandbox.url_template)
    slack.add_channel("C0ALERTS", "alerts", is_member=True)
    bot = await serve_http(runtime, slack)
    cli = RecordedCli(cli_env, tmp_path, scenario)
    cli.outputs = []
    await asyncio.wait_for(a_day(cli, runtime, bot, slack, scenario, key, secrets), 90)
    return Produced(cli.outputs, dump_database(migrated_url, tmp_path))


async def test_a_day_of_work_leaves_no_secret_anywhere(day, logs, slack, secrets) -> None:
    # The scan looks at real material: the logs hold the work, the dump the ciphertexts.
    assert any(line.get("slack_request") for line in logs.lines())
    assert "checked org missing-connectors" in logs.text()
    assert day.database.count("gAAAAA") >= 2
    assert any("Registered healthy" in out for out in day.cli)
    assert len(slack.calls("chat.postMessage")) >= 1
    secrets.assert_clean(logs.text(), "the logs (DEBUG)")
    assert_slack_clean(slack, secrets)
    secrets.assert_clean(day.database, "the database dump")
    for number, output in enumerate(day.cli):
        secrets.assert_clean(output, f"the output of CLI command {number + 1}")


# --- afasbot serve, as a process ----------------------------------------------------------


@dataclass
class Served:
    key: str
    stdout: str
    stderr: str
    metrics_status: int
    metrics: str
    slack: str  # what the Slack fake received, Authorization apart
    authorizations: list[str]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_env(url: str, key: str, sandbox, slack, port: int) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AFASBOT_", "SLACK_"))}
    return {
        **inherited,
        "AFASBOT_DATABASE_URL": url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_ENCRYPTION_KEY_FILE": "",
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_SCHEDULER_TICK_SECONDS": "0.5",
        "AFASBOT_OUTBOX_TICK_SECONDS": "0.5",
        "AFASBOT_LOG_LEVEL": "DEBUG",
        "AFASBOT_LOG_FORMAT": "json",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "AFASBOT_PORT": str(port),
        "AFASBOT_HOST": "127.0.0.1",
    }


def _wait(condition, what: str, timeout: float = CASE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(sandbox, scenario, slack_server, sqlite_template, tmp_path_factory) -> Iterator[Served]:
    """``afasbot serve`` in HTTP mode at DEBUG, for an org with an alert waiting in the outbox:
    it sweeps, delivers the alert, answers a genuine command and refuses a forged
    registration carrying a token; then SIGTERM. Everything it wrote, and its /metrics."""
    from bot.runtime import open_runtime
    from bot.settings import Settings

    slack = slack_server
    slack.reset()
    slack.users["U0AGENT"] = {"id": "U0AGENT", "name": "sanne", "locale": "nl-NL"}
    slack.add_channel("C0ALERTS", "alerts", is_member=True)
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'afasbot.sqlite3'}"
    for file in sqlite_template.parent.glob(sqlite_template.name + "*"):
        (folder / ("afasbot.sqlite3" + file.name[len(sqlite_template.name) :])).write_bytes(
            file.read_bytes()
        )
    key = generate_key()
    runtime = open_runtime(
        Settings(
            _env_file=None,
            database_url=url,
            encryption_keys=key,
            encryption_key_file=None,
            afas_url_template=sandbox.url_template,
        )
    )
    try:
        seed_posted_alert(runtime, scenario)  # acme: registered, due, its alert not yet sent
    finally:
        runtime.close()
    port = free_port()
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "afasbot"), "serve"],
        env=_serve_env(url, key, sandbox, slack, port),
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=CASE_SECONDS) as http:

            def up() -> bool:
                try:
                    return http.get(base + "/healthz").status_code == 200
                except httpx.TransportError:
                    return process.poll() is not None

            _wait(up, "serve to listen")
            assert process.poll() is None, "serve did not start"
            forged = registration("V0FAKE", scenario.by_name("english"))
            refused = http.post(
                base + "/slack/events", content=forged, headers=signed(forged, secret="nope")
            )
            assert refused.status_code == 401
            genuine = command(slack, "check acme")
            answered = http.post(base + "/slack/events", content=genuine, headers=signed(genuine))
            assert answered.status_code == 200
            _wait(lambda: len(slack.responses) >= 2, "the check's answer")
            _wait(lambda: slack.messages("C0ALERTS"), "the alert to be delivered")
            metrics = http.get(base + "/metrics")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=CASE_SECONDS)
    finally:
        process.kill()
        process.wait(timeout=CASE_SECONDS)
    assert process.returncode == 0, stderr[-2000:]
    received, authorizations = slack_evidence(slack)
    yield Served(key, stdout, stderr, metrics.status_code, metrics.text, received, authorizations)


@pytest.fixture
def serve_secrets(served: Served, secrets: Secrets) -> Secrets:
    secrets.add_key("serve's Fernet key", served.key)
    return secrets


def test_afasbot_serve_writes_no_secret_to_its_output_logs_or_slack(served, serve_secrets) -> None:
    assert "listening on" in served.stdout
    assert "checked org acme" in served.stderr  # its logs at DEBUG, as JSON lines
    assert "slack_request" in served.stderr
    serve_secrets.assert_clean(served.stdout, "serve's stdout")
    serve_secrets.assert_clean(served.stderr, "serve's stderr (its logs at DEBUG)")
    serve_secrets.assert_clean(served.slack, "what serve sent Slack (Authorization apart)")
    assert set(served.authorizations) == {f"Bearer {BOT_TOKEN}"}


def test_afasbot_serve_metrics_hold_no_secret(served, serve_secrets) -> None:
    if served.metrics_status == 404:
        pytest.skip("serve has no /metrics route yet (404): metrics not scanned")
    assert served.metrics_status == 200
    assert "afasbot_checks" in served.metrics  # the scan reads the real figures
    serve_secrets.assert_clean(served.metrics, "/metrics")
