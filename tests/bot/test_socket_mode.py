"""``afasbot serve`` in Socket Mode, end to end: the real process, with Slack's own variable
names, against the Web API fake (``apps.connections.open`` included), the Socket Mode fake (a
local websocket server speaking Slack's envelope protocol) and the AFAS sandbox.

What an operator relies on: a slash command arriving over the socket is acknowledged at once
and answered through its ``response_url``; ``/readyz`` says whether the socket is connected; a
``disconnect`` from Slack or a dropped connection is followed by a new URL and a new
connection; a wrong app token never stops the checks; SIGTERM stops everything in seconds.

Timings come from slack_sdk's client, which Bolt's ``AsyncSocketModeHandler`` runs with a ping
interval of 10 s: it notices a dead connection and retries a refused one on that beat, so the
waits below allow 30 s where the client has to find something out by itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any, TypeVar

import httpx
import pytest

from tests.bot.test_process import free_port, recorded, register
from tests.fakes.slack import SlackWebApiFake
from tests.fakes.slack.socket_mode import SocketModeFake

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-1-A0TEST-1-appsecret"
WRONG_APP_TOKEN = "xapp-1-A0TEST-1-revoked"
SECRETS = (BOT_TOKEN, APP_TOKEN, WRONG_APP_TOKEN)
CLIENT_BEAT = 30.0  # what the client must notice by itself (see the module docstring)
T = TypeVar("T")


@pytest.fixture
def backend() -> str:
    """The socket is what these tests are about: SQLite only (serve's database work on
    PostgreSQL is covered by tests/bot/test_process.py and test_serving.py)."""
    return "sqlite"


@pytest.fixture
def fakes() -> Iterator[tuple[SlackWebApiFake, SocketModeFake]]:
    with SlackWebApiFake(valid_tokens=(BOT_TOKEN, APP_TOKEN)) as slack, SocketModeFake() as socket:
        slack.socket_mode = socket
        yield slack, socket


class Bot:
    """``afasbot serve`` as a child process, with its health endpoints on ``port``."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process, self.port = process, port
        self.out = self.err = ""

    def readyz(self) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=5)

    def wait_ready(self, ready: bool, timeout: float = CLIENT_BEAT) -> dict[str, Any]:
        """Poll ``/readyz`` until it answers 200 (ready) or 503 (not); its JSON."""
        wanted = 200 if ready else 503

        def answer() -> dict[str, Any] | None:
            try:
                response = self.readyz()
            except httpx.TransportError:  # not listening yet
                return None
            return response.json() if response.status_code == wanted else None

        return until(answer, timeout, f"/readyz {wanted}")

    def stop(self, within: float = 10.0) -> None:
        """SIGTERM; the process must end by itself within ``within`` seconds, with status 0."""
        stopping = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.out, self.err = self.process.communicate(timeout=within + 5)
        took = time.monotonic() - stopping
        assert took < within, f"stopping took {took:.1f} s"
        assert self.process.returncode == 0, self.err
        assert not any(secret in self.out + self.err for secret in SECRETS)


@contextmanager
def serving(env_extra: dict[str, str], *, migrated_url, key, sandbox, tmp_path) -> Iterator[Bot]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFASBOT_"))}
    env.update(
        AFASBOT_DATABASE_URL=migrated_url,
        AFASBOT_ENCRYPTION_KEYS=key,
        AFASBOT_AFAS_URL_TEMPLATE=sandbox.url_template,
        AFASBOT_SCHEDULER_TICK_SECONDS="0.5",
        AFASBOT_PORT=str(port),
        AFASBOT_SLACK_HOST="127.0.0.1",
        **env_extra,
    )
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "afasbot"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bot = Bot(process, port)
    try:
        yield bot
    finally:
        if process.poll() is None:
            process.kill()
            bot.out, bot.err = process.communicate(timeout=10)


def until(found: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while (value := found()) is None:
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {what} within {timeout:g} s")
        time.sleep(0.05)
    return value


def slack_env(slack: SlackWebApiFake, app_token: str = APP_TOKEN) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": app_token, "SLACK_API_URL": slack.url}


def check_over_the_socket(slack: SlackWebApiFake, socket: SocketModeFake, org: str) -> int:
    """``/afas check <org>`` as an envelope: acknowledged over the socket within a second,
    answered through its response URL ("checking", then the report). The connection used."""
    response_url = slack.response_url("cmd")
    envelope_id = socket.send_slash_command(f"check {org}", response_url=response_url)
    ack = socket.wait_for_ack(envelope_id, timeout=5)
    assert ack.data == {"envelope_id": envelope_id}  # ack() with nothing, as Slack expects
    latency = ack.at - socket.sent_envelope(envelope_id).at
    assert latency < 1.0, f"acknowledged after {latency:.2f} s"
    assert ack.connection == socket.sent_envelope(envelope_id).connection

    def answers() -> list[dict[str, Any]] | None:
        mine = slack.responses_to(response_url)
        return mine if len(mine) >= 2 else None

    checking, report = until(answers, 20, f"two answers at {response_url}")[:2]
    assert "blocks" in checking
    assert org in str(report["blocks"])
    return ack.connection


def test_a_command_over_the_socket_is_acked_answered_and_survives_a_refresh(
    runtime, scenario, sandbox, migrated_url, key, tmp_path, fakes
) -> None:
    slack, socket = fakes
    register(runtime, scenario, ["healthy"])
    with serving(
        slack_env(slack), migrated_url=migrated_url, key=key, sandbox=sandbox, tmp_path=tmp_path
    ) as bot:
        first = socket.wait_for_connection(1, timeout=30)
        assert socket.sent[0].data["type"] == "hello"
        opened = slack.calls("apps.connections.open")
        assert [call.token for call in opened] == [APP_TOKEN]
        assert bot.wait_ready(True)["checks"]["slack_socket"] == "ok"

        assert check_over_the_socket(slack, socket, "healthy") == first.number

        socket.disconnect("refresh_requested", close_after=2.0)
        second = socket.wait_for_connection(2, timeout=10)
        socket.wait_for_close(first.number, timeout=10)
        assert len(slack.calls("apps.connections.open")) == 2  # a new URL for the new link
        assert [f.data["type"] for f in socket.sent if f.connection == second.number] == ["hello"]
        assert check_over_the_socket(slack, socket, "healthy") == second.number
        assert bot.wait_ready(True)["checks"]["slack_socket"] == "ok"
        assert ("healthy", "schedule") in recorded(runtime)
        bot.stop()
    assert socket.connections[-1].closed_by == "app"  # it said goodbye on SIGTERM
    assert "Slack app: socket mode" in bot.out
    assert not slack.errors


def test_a_dropped_socket_makes_readyz_503_until_the_bot_reconnects(
    runtime, scenario, sandbox, migrated_url, key, tmp_path, fakes
) -> None:
    """No ``disconnect``, no close frame: the TCP connection just dies, and Slack refuses new
    connections for a while."""
    slack, socket = fakes
    register(runtime, scenario, ["healthy"])
    with serving(
        slack_env(slack), migrated_url=migrated_url, key=key, sandbox=sandbox, tmp_path=tmp_path
    ) as bot:
        socket.wait_for_connection(1, timeout=30)
        bot.wait_ready(True)

        socket.refuse()
        socket.drop()
        socket.wait_for_close(1)
        not_ready = bot.wait_ready(False, timeout=5)
        assert not_ready["checks"]["slack_socket"] == "not connected to Slack"
        assert not_ready["checks"]["scheduler"] == "ok"
        until(lambda: socket.refused or None, CLIENT_BEAT, "attempt to reconnect")
        assert bot.readyz().status_code == 503

        socket.refuse(False)
        second = socket.wait_for_connection(2, timeout=CLIENT_BEAT)
        assert bot.wait_ready(True, timeout=5)["checks"]["slack_socket"] == "ok"
        assert check_over_the_socket(slack, socket, "healthy") == second.number

        socket.refuse()  # SIGTERM while the socket is down and reconnecting stops as fast
        socket.drop()
        socket.wait_for_close(second.number)
        bot.stop()
    assert [c.closed_by for c in socket.connections] == ["dropped", "dropped"]


def test_a_wrong_app_token_keeps_retrying_while_the_checks_run(
    runtime, scenario, sandbox, migrated_url, key, tmp_path, fakes
) -> None:
    slack, socket = fakes
    register(runtime, scenario, ["healthy"])
    with serving(
        slack_env(slack, WRONG_APP_TOKEN),
        migrated_url=migrated_url,
        key=key,
        sandbox=sandbox,
        tmp_path=tmp_path,
    ) as bot:
        until(lambda: recorded(runtime) or None, 30, "scheduled check")
        assert recorded(runtime) == [("healthy", "schedule")]
        not_ready = bot.wait_ready(False)
        assert not_ready["checks"] == {
            "database": "ok",
            "scheduler": "ok",
            "slack_socket": "not connected to Slack",
        }
        refused = slack.wait_for("apps.connections.open", 2, timeout=CLIENT_BEAT)
        assert {call.response["error"] for call in refused} == {"invalid_auth"}
        assert bot.readyz().status_code == 503
        bot.stop()
    assert socket.connections == []


def test_a_wrong_app_token_is_retried_with_growing_delays_in_one_line_each(
    runtime, scenario, sandbox, migrated_url, key, tmp_path, fakes
) -> None:
    """apps.connections.open is rate limited (Tier 1): a revoked app token must not be tried
    on a fixed beat forever, nor fill the log with a traceback every time."""
    slack, _socket = fakes
    with serving(
        slack_env(slack, WRONG_APP_TOKEN),
        migrated_url=migrated_url,
        key=key,
        sandbox=sandbox,
        tmp_path=tmp_path,
    ) as bot:
        calls = slack.wait_for("apps.connections.open", 4, timeout=12)
        gaps = [later.at - earlier.at for earlier, later in pairwise(calls)]
        assert gaps[0] < 3
        assert all(b > a for a, b in pairwise(gaps)), gaps
        bot.stop()
    assert "Traceback" not in bot.err
    assert "cannot connect to Slack" in bot.err
