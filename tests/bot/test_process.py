"""``afasbot serve``: scheduled checks on a timer, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from sqlmodel import select

from bot.process import BotProcess
from storage.models import CheckRun, Org
from storage.repository import add_org


def register(runtime, scenario, names) -> None:
    with runtime.session() as session:
        for name in names:
            env = scenario.by_name(name)
            add_org(
                session,
                key=name,
                display_name=name,
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="test",
            )  # a new org is due at once


def recorded(runtime) -> list[tuple[str, str]]:
    with runtime.session() as session:
        rows = session.exec(select(CheckRun.trigger, Org.key).join(Org)).all()
        return sorted((key, trigger) for trigger, key in rows)


def leases(runtime) -> list[str | None]:
    with runtime.session() as session:
        return [org.lease_owner for org in session.exec(select(Org))]


async def test_the_service_sweeps_on_its_timer_and_releases_its_leases(runtime, scenario):
    register(runtime, scenario, ["healthy", "near-miss"])
    runtime.settings.scheduler_tick_seconds = 0.2
    async with runtime.afas_client() as client:
        service = BotProcess(runtime, client, owner="replica-test")
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        deadline = time.monotonic() + 15
        while service.sweeps < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await running
    assert service.sweeps >= 3
    # Checked once each: after the first sweep they are not due for another interval.
    assert recorded(runtime) == [("healthy", "schedule"), ("near-miss", "schedule")]
    assert leases(runtime) == [None, None]


def test_afasbot_serve_checks_due_orgs_and_stops_cleanly_on_sigterm(
    runtime, scenario, sandbox, migrated_url, key, tmp_path
) -> None:
    register(runtime, scenario, ["healthy", "missing-connectors"])
    env = {
        **os.environ,
        "AFASBOT_DATABASE_URL": migrated_url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
        "AFASBOT_SCHEDULER_TICK_SECONDS": "0.5",
        "AFASBOT_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "afasbot"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(recorded(runtime)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "checking each org as it falls due (at most 28 at a time)" in out
    assert "Stopped after" in out
    assert "Slack app: off" in out
    assert recorded(runtime) == [("healthy", "schedule"), ("missing-connectors", "schedule")]
    assert leases(runtime) == [None, None]
    with runtime.session() as session:
        states = {o.key: o.current_state for o in session.exec(select(Org))}
        due = [o.next_check_at for o in session.exec(select(Org))]
    assert states == {"healthy": "healthy", "missing-connectors": "failing"}
    assert all(at > datetime.now(UTC) for at in due)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_the_slack_app_in_http_mode(
    runtime, scenario, sandbox, migrated_url, key, tmp_path
) -> None:
    """The whole process: scheduled checks and a signed /afas command on one event loop."""
    import httpx

    from tests.bot.slack.requests import command_body, signed
    from tests.fakes.slack import SlackWebApiFake

    register(runtime, scenario, ["healthy"])
    port = free_port()
    with SlackWebApiFake() as slack:
        env = {
            **os.environ,
            "AFASBOT_DATABASE_URL": migrated_url,
            "AFASBOT_ENCRYPTION_KEYS": key,
            "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
            "AFASBOT_SLACK_BOT_TOKEN": "xoxb-test",
            "AFASBOT_SLACK_MODE": "http",
            "AFASBOT_SLACK_SIGNING_SECRET": "test-signing-secret",
            "AFASBOT_SLACK_HOST": "127.0.0.1",
            "AFASBOT_SLACK_PORT": str(port),
            "AFASBOT_SLACK_API_URL": slack.url,
        }
        process = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "afasbot"), "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            body = command_body(slack, "check healthy", user="U0BOB")
            deadline = time.monotonic() + 20
            answer = None
            while time.monotonic() < deadline:
                try:
                    answer = httpx.post(
                        f"http://127.0.0.1:{port}/slack/events",
                        content=body,
                        headers=signed(body),
                        timeout=5,
                    )
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert answer is not None and answer.status_code == 200
            while len(slack.responses) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 0, err
        assert "Slack app: http mode" in out
        _checking, report = [payload for _label, payload in slack.responses][:2]
        assert "healthy" in str(report["blocks"])


def test_serve_says_what_slack_setting_is_missing(cli) -> None:
    result = cli(
        "serve", env={"AFASBOT_SLACK_BOT_TOKEN": "xoxb-test", "AFASBOT_SLACK_MODE": "socket"}
    )
    assert result.exit_code == 2
    assert "AFASBOT_SLACK_APP_TOKEN" in result.stderr
    assert "xoxb-test" not in result.stderr + result.output
