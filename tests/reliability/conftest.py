"""The fault and abuse suite's fixtures: the bot as ``serve`` runs it (HTTP mode on a free
port, the bot's own logging at DEBUG as JSON), the Slack fake with a bot token of Slack's
real shape, databases of their own (SQLite; PostgreSQL for the database-away cases), and the
secret scan.

The scan is not only a test of its own (``test_secret_scan.py``): every test here that captures
logs or talks to the Slack fake has what it produced scanned when it ends, so a secret that
reaches a log or a Slack call anywhere in the suite fails the test that put it there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx
import psycopg
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import inspect, text

from afas.client import AfasClient
from afas.sandbox.scenario import Scenario
from afas.tokens import AfasToken, contains_token
from bot.alerting.delivery import Delivery, drain_outbox
from bot.health import Readiness
from bot.logging_setup import configure_logging, library_logger
from bot.runtime import Runtime, open_runtime
from bot.serving import Server
from bot.settings import Settings
from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from storage import schema
from storage.crypto import generate_key
from storage.models import metadata
from storage.repository import add_org, enqueue_outbox, open_incident
from tests.conftest import PG_HOST, PG_PORT
from tests.fakes.slack import SlackWebApiFake

#: Credentials of Slack's real shapes (the redaction must not get by on short test values).
BOT_TOKEN = "xoxb-2718281828-3141592653-Zq8RtY4uW1sPk7LmN0vBc3Xd"
SIGNING_SECRET = "5f1c9b0e7a3d24c68e0b1f29a7d4c3e8"
#: The longest any single case may take before it counts as a hang.
CASE_SECONDS = 20.0
FORM = "application/x-www-form-urlencoded"
OPENED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# --- the secret scan ------------------------------------------------------------------------

_SLACK_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{8,}")


@dataclass
class Secrets:
    """Everything that must never leave where it belongs, and every form it could take. A leak
    is reported by name and form only, never by value (the report itself would leak it)."""

    afas: dict[str, AfasToken] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)  # name -> exact value

    def add_scenario(self, scenario: Scenario) -> None:
        for env in scenario.environments:
            self.afas[env.name] = env.token()
            for i, extra in enumerate(env.extra_tokens):
                self.afas[f"{env.name}+{i}"] = AfasToken(extra)

    def add_key(self, name: str, key: str) -> None:
        """A Fernet key: as configured, unpadded, in standard Base64, and its raw bytes."""
        self.others[name] = key
        self.others[f"{name} (unpadded)"] = key.rstrip("=")
        self.others[f"{name} (standard Base64)"] = key.translate(str.maketrans("-_", "+/"))
        raw = base64.urlsafe_b64decode(key)
        self.others[f"{name} (raw bytes, hex)"] = raw.hex()

    def forms(self) -> Iterator[tuple[str, str]]:
        """(description, value) for every literal form searched for."""
        for name, token in self.afas.items():
            data = token.reveal_data()
            b64 = base64.b64encode(token.xml.encode()).decode()
            for form, value in (
                ("data string", data),
                ("data string, lower case", data.lower()),
                ("first 20 digits of its data", data[:20]),
                ("last 20 digits of its data", data[-20:]),
                ("XML", token.xml),
                ("XML, URL-encoded", quote(token.xml, safe="")),
                ("Base64", b64),
                ("Base64, first 24 characters", b64[:24]),
                ("Base64, URL-encoded", quote_plus(b64)),
                ("Base64, URL-safe", b64.translate(str.maketrans("+/", "-_"))),
            ):
                yield f"AFAS token of {name} ({form})", value
        for name, value in self.others.items():
            yield name, value
            if quote_plus(value) != value:
                yield f"{name} (URL-encoded)", quote_plus(value)

    def leaks(self, text: str) -> list[str]:
        """What of the secrets ``text`` holds, by description; empty when clean."""
        found = [name for name, value in self.forms() if value and value in text]
        if contains_token(text):
            found.append("something token-shaped (afas.tokens.contains_token)")
        if _SLACK_TOKEN.search(text):
            found.append("a Slack token (xoxb-/xoxp-/xapp-…)")
        return sorted(set(found))

    def assert_clean(self, text: str, where: str) -> None:
        leaks = self.leaks(text)
        if leaks:
            pytest.fail(f"secrets in {where}: {', '.join(leaks)}", pytrace=False)


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def secrets(scenario: Scenario, key: str) -> Secrets:
    """The built-in scenario's tokens, the Slack credentials and the Fernet key; a test adds
    the tokens of a scenario of its own (``secrets.add_scenario``)."""
    found = Secrets()
    found.add_scenario(scenario)
    found.others["the Slack bot token"] = BOT_TOKEN
    found.others["the Slack signing secret"] = SIGNING_SECRET
    found.add_key("the Fernet key", key)
    return found


def slack_evidence(slack: SlackWebApiFake) -> tuple[str, list[str]]:
    """Everything the fake received, as one text (the ``Authorization`` header apart), and the
    ``Authorization`` headers themselves."""
    calls = slack.calls()
    outside = [
        {
            "method": c.method,
            "params": c.params,
            "headers": {k: v for k, v in c.headers.items() if k != "authorization"},
        }
        for c in calls
    ]
    with slack.lock:  # messages, views, responses, uploaded files...: all but the raw calls
        held = repr({k: v for k, v in vars(slack.recorded).items() if k != "calls"})
    text = json.dumps(outside, default=str, ensure_ascii=False) + held
    return text, [c.headers["authorization"] for c in calls if "authorization" in c.headers]


def assert_slack_clean(slack: SlackWebApiFake, secrets: Secrets) -> None:
    """No secret in any call's parameters, body or headers, the bot token only as the bearer
    of ``Authorization``."""
    outside, authorizations = slack_evidence(slack)
    secrets.assert_clean(outside, "what the Slack fake received (Authorization apart)")
    wrong = {a for a in authorizations if a != f"Bearer {BOT_TOKEN}"}
    assert not wrong, "an Authorization header that is not the bot token as bearer"


# --- logs as serve writes them ---------------------------------------------------------------


class Logs:
    """What the bot's logging wrote (``configure_logging("DEBUG", fmt="json")``, as ``serve``
    with AFASBOT_LOG_LEVEL=DEBUG sets it up), read from the process's stderr as it came."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._written: list[str] = []

    def text(self) -> str:
        captured = self._capsys.readouterr()
        self._written += [captured.err, captured.out]
        return "".join(self._written)

    def lines(self) -> list[dict[str, Any]]:
        parsed = []
        for line in self.text().splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"level": "RAW", "logger": "-", "message": line})
        return parsed

    def at_least(self, level: str) -> list[dict[str, Any]]:
        rank = logging.getLevelName(level)
        return [
            line
            for line in self.lines()
            if isinstance(logging.getLevelName(line.get("level", "")), int)
            and logging.getLevelName(line["level"]) >= rank
        ]


@pytest.fixture
def logs(secrets: Secrets, key: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    """The process's logging at DEBUG as JSON, with the secrets ``serve`` registers (the Slack
    credentials and the key); scanned for secrets when the test ends."""
    root = logging.getLogger()
    chatty = ("slack_bolt", "slack_sdk", "aiohttp", "httpx", "httpcore", "urllib3")
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in chatty})
    configure_logging("DEBUG", fmt="json", secrets=[BOT_TOKEN, SIGNING_SECRET, key])
    library_logger()
    captured = Logs(capsys)
    logging.getLogger("tests.reliability").debug("capturing the logs at DEBUG")
    assert "capturing the logs at DEBUG" in captured.text()  # the capture itself works
    yield captured
    text = captured.text()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
    secrets.assert_clean(text, "the logs (DEBUG)")


# --- databases and the bot's runtime ---------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per run; each test gets a copy."""
    path = tmp_path_factory.mktemp("reliability") / "template.sqlite3"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite database of the test's own, at the head revision, empty."""
    for file in sqlite_template.parent.glob(sqlite_template.name + "*"):
        suffix = file.name[len(sqlite_template.name) :]
        shutil.copyfile(file, tmp_path / f"afasbot.sqlite3{suffix}")
    return f"sqlite:///{tmp_path / 'afasbot.sqlite3'}"


@dataclass(frozen=True)
class PostgresDatabase:
    """A migrated PostgreSQL database of the test's own, and a way to take it away."""

    url: str
    name: str

    def connect(self) -> psycopg.Connection:
        """A separate admin connection to this database (autocommit)."""
        return psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user="postgres",
            dbname=self.name,
            autocommit=True,
            connect_timeout=3,
            options="-c statement_timeout=10s -c lock_timeout=10s",  # nothing here may hang
        )

    def terminate_others(self, admin: psycopg.Connection) -> int:
        """End every other connection to this database, as a restart or failover would."""
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return len(rows)


@pytest.fixture
def postgres_db(postgres_admin: psycopg.Connection) -> Iterator[PostgresDatabase]:
    """A new database, migrated to head, dropped afterwards (its connections are cut on
    purpose, so it is not the run's shared one)."""
    name = f"afasbot_test_{uuid.uuid4().hex[:12]}"
    postgres_admin.execute(f'CREATE DATABASE "{name}"')
    try:
        database = PostgresDatabase(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}", name)
        schema.upgrade(database.url)
        yield database
    finally:
        postgres_admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        postgres_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_runtime(key: str):
    """Opens the bot's runtime on a database for an AFAS URL template; closes them after."""
    opened: list[Runtime] = []

    def make(database_url: str, url_template: str, **settings: Any) -> Runtime:
        # No pacing between posts to one channel here: these cases count messages, not time.
        settings = {"encryption_keys": key, "slack_channel_pace_seconds": 0, **settings}
        runtime = open_runtime(
            Settings(
                _env_file=None,
                database_url=database_url,
                encryption_key_file=None,
                afas_url_template=url_template,
                **settings,
            )
        )
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


def snapshot(runtime: Runtime) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: compared before and after a request
    that must change nothing."""
    rows: dict[str, list[tuple]] = {}
    with runtime.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        for table in metadata.sorted_tables:
            if table.name not in present:
                continue
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "1"
            result = connection.execute(text(f'SELECT * FROM "{table.name}" ORDER BY {order}'))
            rows[table.name] = [tuple(row) for row in result]
    return rows


# --- Slack: the fake, and the bot serving it over HTTP -----------------------------------------


@pytest.fixture(scope="session")
def slack_server() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake(valid_tokens=(BOT_TOKEN,)) as fake:
        yield fake


@pytest.fixture
def slack(slack_server: SlackWebApiFake, secrets: Secrets) -> Iterator[SlackWebApiFake]:
    """The Slack Web API fake, as new (one server for the run, reset for each test); what it
    received is scanned for secrets when the test ends."""
    fake = slack_server
    fake.reset()
    fake.users["U0AGENT"] = {"id": "U0AGENT", "name": "sanne", "locale": "nl-NL"}
    fake.users["U0GUEST"] = {"id": "U0GUEST", "name": "guest", "locale": "en-US"}
    fake.usergroups["S0AGENTS"] = ["U0AGENT"]
    yield fake
    assert_slack_clean(fake, secrets)


def signed(
    body: str | bytes,
    *,
    secret: str = SIGNING_SECRET,
    age: int = 0,
    timestamp: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Slack's headers for ``body``: signed with ``secret`` at ``age`` seconds ago."""
    stamp = timestamp if timestamp is not None else str(int(time.time()) - age)
    raw = body if isinstance(body, str) else body.decode("latin-1")
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=raw)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }


class HttpBot:
    """The Bolt app behind ``bot.serving.Server`` in HTTP mode, as ``serve`` runs it, on a
    free loopback port; requests are bounded in time."""

    def __init__(self, server: Server, http: httpx.AsyncClient) -> None:
        self.server, self.http = server, http

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def post(
        self, body: str | bytes, headers: dict[str, str], path: str = "/slack/events"
    ) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else body
        return await asyncio.wait_for(
            self.http.post(self.base + path, content=content, headers=headers), CASE_SECONDS
        )

    async def get(self, path: str) -> httpx.Response:
        return await asyncio.wait_for(self.http.get(self.base + path), CASE_SECONDS)


@pytest.fixture
async def serve_http():
    """Starts the bot's HTTP server for a runtime (and its AFAS client); stops it after."""
    started: list[tuple[Server, AfasClient, httpx.AsyncClient]] = []

    async def start(runtime: Runtime, slack: SlackWebApiFake) -> HttpBot:
        afas = runtime.afas_client()
        client = web_client(BOT_TOKEN, base_url=slack.url)
        app = create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
        )
        readiness = Readiness(runtime, tick_seconds=runtime.settings.scheduler_tick_seconds)
        server = Server(readiness, host="127.0.0.1", port=0, app=app, mode="http")
        await asyncio.wait_for(server.start(), CASE_SECONDS)
        http = httpx.AsyncClient(timeout=CASE_SECONDS)
        started.append((server, afas, http))
        return HttpBot(server, http)

    yield start
    for server, afas, http in started:
        await http.aclose()
        await asyncio.wait_for(server.stop(), CASE_SECONDS)
        await afas.aclose()


async def settle(slack: SlackWebApiFake, seconds: float = 0.2) -> None:
    """Give work started after an acknowledgement the time to show (a request that must do
    nothing has to be watched for a while, not only until its answer)."""
    await asyncio.sleep(seconds)


# --- what Slack would send, and an alert to press -------------------------------------------


def command(slack, text: str, *, user: str = "U0AGENT", name: str = "sanne") -> str:
    return urlencode(
        {
            "command": "/afas",
            "text": text,
            "user_id": user,
            "user_name": name,
            "team_id": "T0TEAM",
            "channel_id": "C0HELPDESK",
            "response_url": slack.response_url("cmd"),
            "trigger_id": f"1337.42.{uuid.uuid4().hex[:8]}",
        }
    )


def interaction(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def alert_press(slack, incident_id: int | str, ts: str, *, user: str = "U0AGENT") -> str:
    return interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "username": "sanne", "team_id": "T0TEAM"},
            "team": {"id": "T0TEAM", "domain": "team"},
            "api_app_id": "A0APP",
            "token": "legacy",
            "container": {"type": "message", "message_ts": ts, "channel_id": "C0ALERTS"},
            "trigger_id": "1337.42.jkl",
            "channel": {"id": "C0ALERTS", "name": "alerts"},
            "message": {"ts": ts, "text": "alert"},
            "response_url": slack.response_url("alert"),
            "actions": [
                {
                    "action_id": "alert_ack",
                    "block_id": "alert_actions",
                    "value": str(incident_id),
                    "type": "button",
                    "action_ts": "1700000000.000200",
                }
            ],
        }
    )


def registration(
    view_id: str,
    env,
    *,
    notes: str = "from Slack",
    user: str = "U0AGENT",
    token: str | None = None,
) -> str:
    """A ``view_submission`` of the registration form for a sandbox environment (its token as
    XML unless ``token`` gives another form)."""
    values = {
        "key": ("plain_text_input", env.name),
        "name": ("plain_text_input", f"{env.name} BV"),
        "environment": ("plain_text_input", env.number),
        "kind": ("static_select", env.kind.value),
        "token": ("plain_text_input", token or env.token().xml),
        "replace": ("checkboxes", None),
        "channel": ("conversations_select", "C0ALERTS"),
        "owner": ("users_select", "U0AGENT"),
        "notes": ("plain_text_input", notes),
    }
    state = {}
    for block, (kind, value) in values.items():
        if kind == "static_select":
            entry = {"type": kind, "selected_option": {"value": value}}
        elif kind == "checkboxes":
            entry = {"type": kind, "selected_options": []}
        elif kind == "conversations_select":
            entry = {"type": kind, "selected_conversation": value}
        elif kind == "users_select":
            entry = {"type": kind, "selected_user": value}
        else:
            entry = {"type": kind, "value": value}
        state[block] = {"value": entry}
    return interaction(
        {
            "type": "view_submission",
            "team": {"id": "T0TEAM", "domain": "team"},
            "user": {"id": user, "username": "sanne", "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "token": "legacy",
            "trigger_id": "1337.42.ghi",
            "view": {
                "id": view_id,
                "team_id": "T0TEAM",
                "type": "modal",
                "callback_id": "register_org",
                "private_metadata": json.dumps({"language": "nl"}),
                "state": {"values": state},
                "hash": "1700000000.abc",
            },
        }
    )


def home_opened(canary: str, user: str = "U0AGENT") -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{canary}",
            "event_time": 1700000000,
            "event": {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"},
        }
    )


def seed_posted_alert(runtime, scenario) -> int:
    """An org with an open incident whose alert is in the outbox: returns the incident id."""
    env = scenario.by_name("missing-connectors")
    with runtime.session() as session:
        org = add_org(
            session,
            key="acme",
            display_name="Acme BV",
            environment=env.environment(),
            token=env.token(),
            cipher=runtime.require_cipher(),
            actor="test",
            alert_channel="C0ALERTS",
        ).org
        incident, _ = open_incident(session, org, kind="org", opened_at=OPENED)
        enqueue_outbox(
            session,
            kind="incident.opened",
            payload={
                "org_key": "acme",
                "display_name": "Acme BV",
                "environment": "10002 (production)",
                "channel": "C0ALERTS",
                "overall": "failing",
                "headline": {"nl": "Fout", "en": "Failing"},
                "problems": [],
                "opened_at": OPENED.isoformat(),
            },
            dedup_key=f"incident:{incident.id}:open",
            org_id=org.id,
            incident_id=incident.id,
        )
        return incident.id


async def post_the_alert(runtime, slack) -> str:
    """Deliver the outbox as the bot does; the alert's ts."""
    client = web_client(BOT_TOKEN, base_url=slack.url, retry_rate_limits=False)
    delivery = Delivery(language="nl", default_channel=None)
    result = await asyncio.wait_for(
        drain_outbox(runtime, client, delivery, owner="replica-a", now=datetime.now(UTC)),
        CASE_SECONDS,
    )
    assert result.sent == 1
    (root,) = slack.messages("C0ALERTS")
    return root["ts"]


async def wait_responses(slack, count: int, timeout: float = CASE_SECONDS):
    deadline = asyncio.get_running_loop().time() + timeout
    while len(slack.responses) < count:
        assert asyncio.get_running_loop().time() < deadline, slack.responses
        await asyncio.sleep(0.02)
    return slack.responses
