"""``serve`` like a Slack app is expected to: Slack's own variable names, the mode from what
is set, ``--host``/``--port``, ``/healthz`` and ``/readyz``, and Socket Mode that never blocks
the checks when Slack cannot be reached."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.health import Readiness
from bot.process import SlackConfig
from bot.serving import ServeError, Server
from bot.settings import Settings
from bot.slack.config import SlackSettingsError
from tests.bot.test_process import free_port, recorded, register

SECRET_VALUES = ("xoxb-one", "xoxb-two", "xapp-1-secret", "s3cret")


def config(env: dict[str, str]) -> SlackConfig | None:
    return SlackConfig.from_settings(Settings(_env_file=None, **_fields(env)), environ=env)


def _fields(env: dict[str, str]) -> dict[str, str]:
    """Settings read from exactly ``env`` (not from this process's environment)."""
    names = {
        "SLACK_BOT_TOKEN": "slack_bot_token",
        "AFASBOT_SLACK_BOT_TOKEN": "slack_bot_token",
        "SLACK_SIGNING_SECRET": "slack_signing_secret",
        "AFASBOT_SLACK_SIGNING_SECRET": "slack_signing_secret",
        "SLACK_APP_TOKEN": "slack_app_token",
        "AFASBOT_SLACK_APP_TOKEN": "slack_app_token",
        "AFASBOT_SLACK_MODE": "slack_mode",
    }
    fields: dict[str, str] = {}
    for name in sorted(env, key=lambda n: not n.startswith("AFASBOT_")):  # ours first
        fields.setdefault(names[name], env[name])
    return fields


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-one", "SLACK_APP_TOKEN": "xapp-1-secret"}, "socket"),
        ({"SLACK_BOT_TOKEN": "xoxb-one", "SLACK_SIGNING_SECRET": "s3cret"}, "http"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-one",
                "SLACK_SIGNING_SECRET": "s3cret",
                "SLACK_APP_TOKEN": "xapp-1-secret",
            },
            "socket",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-one",
                "SLACK_SIGNING_SECRET": "s3cret",
                "SLACK_APP_TOKEN": "xapp-1-secret",
                "AFASBOT_SLACK_MODE": "http",
            },
            "http",
        ),
        ({"AFASBOT_SLACK_BOT_TOKEN": "xoxb-one", "SLACK_SIGNING_SECRET": "s3cret"}, "http"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-one",
                "AFASBOT_SLACK_BOT_TOKEN": "xoxb-one",
                "SLACK_APP_TOKEN": "xapp-1-secret",
            },
            "socket",
        ),
    ],
)
def test_the_mode_follows_from_what_is_set(env, mode) -> None:
    slack = config(env)
    assert slack is not None and slack.mode == mode


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {
                "AFASBOT_SLACK_BOT_TOKEN": "xoxb-one",
                "SLACK_BOT_TOKEN": "xoxb-two",
                "SLACK_APP_TOKEN": "xapp-1-secret",
            },
            ["AFASBOT_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"],
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-one",
                "AFASBOT_SLACK_MODE": "http",
                "SLACK_APP_TOKEN": "xapp-1-secret",
            },
            ["AFASBOT_SLACK_MODE=http", "SLACK_SIGNING_SECRET"],
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-one",
                "AFASBOT_SLACK_MODE": "socket",
                "SLACK_SIGNING_SECRET": "s3cret",
            },
            ["AFASBOT_SLACK_MODE=socket", "SLACK_APP_TOKEN"],
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-one"}, ["SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"]),
        (
            {"SLACK_BOT_TOKEN": "xoxb-one", "SLACK_APP_TOKEN": "s3cret"},
            ["must start with xapp-"],
        ),
    ],
)
def test_a_contradiction_is_an_error_naming_both_and_no_value(env, named) -> None:
    with pytest.raises(SlackSettingsError) as raised:
        config(env)
    message = str(raised.value)
    assert all(name in message for name in named), message
    assert not any(value in message for value in SECRET_VALUES)


def test_no_bot_token_means_no_slack_app() -> None:
    assert config({}) is None


async def test_healthz_and_readyz_say_what_is_wrong(runtime) -> None:
    readiness = Readiness(runtime, tick_seconds=0.05)
    server = Server(readiness, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            assert (await http.get("/healthz")).json() == {"alive": True}
            readiness.ticked()
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json() == {"ready": True, "checks": {"database": "ok", "scheduler": "ok"}}
            readiness.last_tick = time.monotonic() - 60  # the scheduler stopped ticking
            stale = await http.get("/readyz")
            assert stale.status_code == 503
            assert "no scheduler tick for" in stale.json()["checks"]["scheduler"]
    finally:
        await server.stop()


async def test_readyz_is_503_when_the_database_does_not_answer(make_runtime, sandbox) -> None:
    runtime = make_runtime(sandbox.url_template)
    runtime.engine.dispose()
    readiness = Readiness(runtime, tick_seconds=30)
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    from storage.db import make_engine

    runtime.engine = make_engine(closed)
    server = Server(readiness, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["database"].startswith("the database did not answer")
        assert "postgres@" not in answer.text
    finally:
        await server.stop()


async def test_an_address_in_use_is_a_clear_error(runtime) -> None:
    first = Server(Readiness(runtime, tick_seconds=30), host="127.0.0.1", port=0)
    await first.start()
    try:
        second = Server(Readiness(runtime, tick_seconds=30), host="127.0.0.1", port=first.port)
        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            await second.start()
    finally:
        await first.stop()


def _serve(env: dict[str, str], tmp_path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "afasbot"), "serve", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _base_env(migrated_url, key, sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFASBOT_"))}
    return {
        **env,
        "AFASBOT_DATABASE_URL": migrated_url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_SCHEDULER_TICK_SECONDS": "0.5",
    }


def test_socket_mode_with_slack_unreachable_still_checks_and_stops_on_sigterm(
    runtime, scenario, sandbox, migrated_url, key, tmp_path
) -> None:
    """Slack's variable names, Socket Mode, Slack unreachable: the checks run, /readyz says
    the socket is not connected, SIGTERM stops everything within seconds."""
    register(runtime, scenario, ["healthy"])
    port = free_port()
    env = {
        **_base_env(migrated_url, key, sandbox),
        "SLACK_BOT_TOKEN": "xoxb-one",
        "SLACK_APP_TOKEN": "xapp-1-secret",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nobody listens there
    }
    process = _serve(env, tmp_path, "--port", str(port), "--host", "127.0.0.1")
    try:
        deadline = time.monotonic() + 30
        while not recorded(runtime) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recorded(runtime) == [("healthy", "schedule")]
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert answer.status_code == 503
        assert answer.json()["checks"]["slack_socket"] == "not connected to Slack"
        assert answer.json()["checks"]["database"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
        assert time.monotonic() - stopping < 10
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"listening on 127.0.0.1:{port}" in out and "Slack app: socket mode" in out
    assert not any(value in out + err for value in SECRET_VALUES)


def test_serve_on_a_port_in_use_says_so_in_one_line(sandbox, migrated_url, key, tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _serve(
            _base_env(migrated_url, key, sandbox),
            tmp_path,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        )
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", ["70000", "-1", "x"])
def test_serve_refuses_a_port_out_of_range(cli, port) -> None:
    result = cli("serve", "--port", port)
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
