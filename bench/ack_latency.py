"""``/afas check`` under a burst: 200 signed slash commands sent at once to the bot's HTTP
endpoint while AFAS answers every call after 5 s. How soon is each acknowledged (Slack's limit
is 3 s), and how soon does its report arrive, against the bound the AFAS latency sets?

Three processes, as in production each side has its own: the bot (this process: the real
``create_slack_app`` served by ``bot.serving.Server`` in HTTP mode on 127.0.0.1, a real
``Runtime`` on a temporary SQLite database, one org per sandbox environment); the AFAS sandbox
(a child process answering after ``--latency-ms``); and "Slack" (a spawned child: the Web API
fake of ``tests/fakes/slack``, a small receiver for the ``response_url`` posts that stamps
their arrival, and the sender of the signed commands). Times are taken in that child, on one
clock: send to HTTP answer (the acknowledgement), send to the "checking…" notice, send to the
report.

In the same run, before the burst: one check straight through ``run_check`` (its requests and
depth), a warm-up through Slack (unmeasured), and one ``/afas check`` alone (the single-check
time every burst report is compared with). The bound for the burst: a report cannot come
before one check's depth × latency, and the AFAS client lets at most ``afas_total_limit``
requests be in flight, so the k-th report cannot come before ceil(k × requests / total_limit)
× latency.

    python bench/ack_latency.py                  # 200 commands at 5 s, about a minute and a half
    python bench/ack_latency.py --cold           # the burst as the bot's first traffic
    python -m bench.ack_latency --quick          # a smoke run: 10 commands at 200 ms
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.table import Table

from bench._common import (
    REPO_ROOT,
    SandboxEntry,
    SandboxProcess,
    apply_defaults,
    default_output,
    machine_facts,
    make_console,
    percentiles,
    write_results,
)

SCRIPT = "ack_latency"
FULL = {"commands": 200, "latency_ms": 5000}
QUICK = {"commands": 10, "latency_ms": 200}
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test"
USERGROUP = "S0AGENTS"
ACK_TARGET_MS = 100.0
SLACK_ACK_LIMIT_MS = 3000.0
NOTICE_PREFIX = ":hourglass_flowing_sand:"
LAG_TICK_S = 0.005
WARM_UP_CHECKS = 1


# -- the Slack side, in a child process ------------------------------------------------------


@dataclass
class Sent:
    """One command as the Slack side sent it and saw it answered (perf_counter seconds)."""

    key: str
    user: str
    text: str
    started: float = 0.0
    acked: float | None = None
    status: int | None = None
    ack_body: str = ""
    posts: list[tuple[float, str]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self) -> dict[str, Any]:
        notice = next((at for at, text in self.posts if text.startswith(NOTICE_PREFIX)), None)
        report = next(((at, t) for at, t in self.posts if not t.startswith(NOTICE_PREFIX)), None)

        def since(at: float | None) -> float | None:
            return None if at is None else round((at - self.started) * 1000, 2)

        return {
            "key": self.key,
            "user": self.user,
            "status": self.status,
            "ack_body": self.ack_body[:200],
            "started_at": self.started,
            "acked_at": self.acked,
            "ack_ms": since(self.acked),
            "notice_ms": since(notice),
            "report_ms": since(report[0] if report else None),
            "report_state": _state_of(report[1]) if report else None,
            "posts": len(self.posts),
        }


def _state_of(text: str) -> str:
    """The check state a report's text starts with (its emoji); ``other`` for anything else
    (an error message, whose warning sign is the degraded emoji too: the mix is healthy)."""
    from bot.blocks.common import STATE_EMOJI

    for state, emoji in STATE_EMOJI.items():
        if state and text.startswith(emoji + " "):
            return state
    return "other"


class SlackSide:
    """The Web API fake, the ``response_url`` receiver and the command sender, driven by the
    bot's process with one JSON line per request on stdin and one per answer on stdout:
    ``["send", {...}]`` -> the records, ``["calls", {}]`` -> counts by method, ``["stop", {}]``."""

    def __init__(self, users: list[str]) -> None:
        self.users = users
        self.waiting: dict[str, Sent] = {}
        self.counter = 0
        self.receiver = ""

    async def serve(self) -> None:
        from aiohttp import web

        from tests.fakes.slack import SlackWebApiFake

        with SlackWebApiFake(valid_tokens=(BOT_TOKEN,)) as fake:
            for n, user in enumerate(self.users):
                locale = "nl-NL" if n % 2 == 0 else "en-US"
                fake.users[user] = {"id": user, "name": f"agent{n}", "locale": locale}
            fake.usergroups[USERGROUP] = list(self.users)
            app = web.Application()
            app.router.add_post("/response/{n}", self._response)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            self.receiver = f"http://127.0.0.1:{runner.addresses[0][1]}/response/"
            _answer({"api_url": fake.url})
            reader = ThreadPoolExecutor(1, thread_name_prefix="stdin")
            loop = asyncio.get_running_loop()
            try:
                while line := await loop.run_in_executor(reader, sys.stdin.readline):
                    kind, data = json.loads(line)
                    if kind == "stop":
                        break
                    if kind == "send":
                        _answer(await self.send(**data))
                    elif kind == "calls":
                        _answer(_call_counts(fake))
            finally:
                reader.shutdown(wait=False)
                await runner.cleanup()

    async def _response(self, request: Any) -> Any:
        from aiohttp import web

        at = time.perf_counter()
        payload = await request.json()
        sent = self.waiting.get(request.match_info["n"])
        if sent is not None:
            text = str(payload.get("text") or "")
            sent.posts.append((at, text))
            if not text.startswith(NOTICE_PREFIX):
                sent.done.set()  # the report, or an error in its place: this one is answered
        return web.json_response({"ok": True})

    async def send(
        self, bot_url: str, commands: list[list[str]], timeout: float
    ) -> list[dict[str, Any]]:
        """Post every command at once (each on a connection of its own, as separate
        deliveries from Slack arrive), then wait for each one's report."""
        import aiohttp

        prepared = []
        for key, user, text in commands:
            self.counter += 1
            number = str(self.counter)
            sent = self.waiting[number] = Sent(key, user, text)
            body = _command_body(text, user, self.receiver + number, number)
            prepared.append((sent, body))
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

            async def post(sent: Sent, body: str) -> None:
                headers = _signed(body)
                sent.started = time.perf_counter()
                try:
                    async with session.post(bot_url, data=body, headers=headers) as answer:
                        sent.ack_body = await answer.text()
                        sent.acked, sent.status = time.perf_counter(), answer.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    sent.ack_body = type(exc).__name__
                    sent.done.set()

            await asyncio.gather(*(post(sent, body) for sent, body in prepared))
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(sent.done.wait() for sent, _ in prepared))
        await asyncio.sleep(0.05)  # a stray post after the report would show in ``posts``
        return [sent.record() for sent, _ in prepared]


def _command_body(text: str, user: str, response_url: str, number: str) -> str:
    return urlencode(
        {
            "command": "/afas",
            "text": text,
            "user_id": user,
            "user_name": "agent",
            "team_id": "T0TEAM",
            "channel_id": "C0HELPDESK",
            "response_url": response_url,
            "trigger_id": f"1337.{number}.bench",
        }
    )


def _signed(body: str) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def _call_counts(fake: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method in fake.methods():
        counts[method] = counts.get(method, 0) + 1
    return counts


def _answer(data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def slack_side_main(users: list[str]) -> int:
    """The child's entry point: ``python -m bench.ack_latency --slack-side U1,U2``."""
    with suppress(KeyboardInterrupt):
        asyncio.run(SlackSide(users).serve())
    return 0


class SlackSideProcess:
    """Starts the Slack side in a fresh interpreter (no state or GIL shared with the bot), asks
    it over its stdin and stdout without blocking the bot's event loop, stops it on exit."""

    def __init__(self, users: list[str], start_timeout: float = 60.0) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        command = [sys.executable, "-m", "bench.ack_latency", "--slack-side", ",".join(users)]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="slack-side")
        watchdog = threading.Timer(start_timeout, self.process.kill)  # readline() sees EOF
        watchdog.start()
        try:
            self.api_url: str = self._read()["api_url"]
        except BaseException:
            self.stop()
            raise
        finally:
            watchdog.cancel()

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:]
            raise RuntimeError(f"The Slack side stopped. Its stderr:\n{tail}")
        return json.loads(line)

    def _write(self, kind: str, data: dict[str, Any]) -> None:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps([kind, data]) + "\n")
        stdin.flush()

    async def ask(self, kind: str, **data: Any) -> Any:
        self._write(kind, data)
        return await asyncio.get_running_loop().run_in_executor(self.reader, self._read)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(OSError, ValueError):
                self._write("stop", {})
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()
        self.reader.shutdown(wait=False)
        self._stderr.close()


# -- the bot, in this process --------------------------------------------------------------


class LoopWatch:
    """What the bot's process does meanwhile: every 5 ms, how late the event loop woke up (a
    blocked or busy loop wakes late) and the process's CPU time; and each garbage collection's
    pause (``gc.callbacks``). All on perf_counter's clock, which on Linux (CLOCK_MONOTONIC) is
    the Slack side's process's clock too, so its send and answer times bound the windows."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, float]] = []  # (at, lag s, process cpu s)
        self.collections: list[tuple[float, float, int]] = []  # (ended at, pause s, generation)
        self._task: asyncio.Task[None] | None = None
        self._collecting = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._gc)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._collecting = now
        else:
            self.collections.append((now, now - self._collecting, info["generation"]))

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            now = time.perf_counter()
            self.samples.append((now, now - before - LAG_TICK_S, time.process_time()))

    async def stop(self) -> None:
        with suppress(ValueError):
            gc.callbacks.remove(self._gc)
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Loop lag, CPU use and garbage collection between two instants."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        pauses = [c for c in self.collections if start <= c[0] <= end]
        figures: dict[str, Any] = {
            "gc_collections": len(pauses),
            "gc_pause_max_ms": round(max((c[1] for c in pauses), default=0.0) * 1000, 1),
            "gc_pause_sum_ms": round(sum(c[1] for c in pauses) * 1000, 1),
            "gc_full_collections": sum(1 for c in pauses if c[2] == 2),
            "samples": len(inside),
        }
        if len(inside) < 2:
            return figures
        lags = [s[1] * 1000 for s in inside]
        cpu_ms = (inside[-1][2] - inside[0][2]) * 1000
        wall_ms = (inside[-1][0] - inside[0][0]) * 1000
        return figures | {
            "lag_p50_ms": round(statistics.median(lags), 2),
            "lag_max_ms": round(max(lags), 2),
            "cpu_ms": round(cpu_ms, 1),
            "wall_ms": round(wall_ms, 1),
            "cpu_share": round(cpu_ms / wall_ms, 2) if wall_ms else None,
        }


def _register(runtime: Any, entries: Sequence[SandboxEntry]) -> None:
    from storage.repository import add_org

    with runtime.session() as session:
        for entry in entries:
            add_org(
                session,
                key=entry.name,
                display_name=f"{entry.name} BV",
                environment=entry.environment,
                token=entry.token,
                cipher=runtime.require_cipher(),
                actor="bench",
            )


def _recorded(runtime: Any, keys: Sequence[str]) -> int:
    """How many of the orgs have a check run recorded (every command's check must have)."""
    from storage.repository import org_history

    with runtime.session() as session:
        return sum(1 for key in keys if org_history(session, key, limit=1))


async def _direct_check(runtime: Any, entry: SandboxEntry) -> dict[str, Any]:
    """One check through ``run_check`` alone: its requests, and the time without Slack (the
    second one: the first on a new client pays for its TLS trust store and connections)."""
    from afas.check import run_check

    async with runtime.afas_client() as client:
        await run_check(client, entry.environment, entry.token, profile=runtime.profile)
        started = time.perf_counter()
        report = await run_check(client, entry.environment, entry.token, profile=runtime.profile)
        wall = (time.perf_counter() - started) * 1000
    return {"wall_ms": round(wall, 1), "requests": report.requests, "state": report.overall.value}


def _settings(args: argparse.Namespace, database_url: str, url_template: str) -> Any:
    from bot.settings import Settings
    from storage.crypto import generate_key

    limits = {"afas_total_limit": args.afas_total_limit} if args.afas_total_limit else {}
    return Settings(
        _env_file=None,
        database_url=database_url,
        encryption_keys=generate_key(),
        encryption_key_file=None,
        afas_url_template=url_template,
        **limits,
    )


async def measure(
    args: argparse.Namespace, sandbox: SandboxProcess, slack: SlackSideProcess, users: list[str]
) -> dict[str, Any]:
    """Set the bot up as ``afasbot serve`` would in HTTP mode, then send the commands."""
    from bot.health import Readiness
    from bot.runtime import open_runtime
    from bot.serving import Server
    from bot.slack.app import create_slack_app, web_client
    from bot.slack.permissions import Roles
    from storage import schema

    keys = [entry.name for entry in sandbox.entries]
    watch = LoopWatch()
    with tempfile.TemporaryDirectory(prefix="ack-latency-") as folder:
        url = f"sqlite:///{Path(folder) / 'afasbot.sqlite3'}"
        await asyncio.to_thread(schema.upgrade, url)
        settings = _settings(args, url, sandbox.url_template)
        runtime = open_runtime(settings)
        try:
            await asyncio.to_thread(_register, runtime, sandbox.entries)
            direct = await _direct_check(runtime, sandbox.entries[0])
            client = web_client(BOT_TOKEN, base_url=slack.api_url)
            async with runtime.afas_client() as afas:
                app = create_slack_app(
                    runtime,
                    afas,
                    client=client,
                    signing_secret=SIGNING_SECRET,
                    roles=Roles(client, usergroup=USERGROUP),
                )
                runner = Server(
                    Readiness(runtime, tick_seconds=settings.scheduler_tick_seconds),
                    host="127.0.0.1",
                    port=0,
                    app=app,
                    mode="http",
                )
                await runner.start()
                watch.start()
                try:
                    bot_url = f"http://127.0.0.1:{runner.port}/slack/events"
                    figures = await _send(args, slack, bot_url, users, keys, direct, settings)
                finally:
                    await watch.stop()
                    await runner.stop()
            figures["calls"] = await slack.ask("calls")
            figures["recorded"] = await asyncio.to_thread(_recorded, runtime, keys)
        finally:
            runtime.close()
    burst = figures["burst"]
    started = min(r["started_at"] for r in burst)
    acked = [r["acked_at"] for r in burst if r["acked_at"] is not None]
    reported = [r["started_at"] + r["report_ms"] / 1000 for r in burst if r["report_ms"]]
    figures["bot_process"] = {
        "ack_window": watch.window(started, max(acked, default=started)),
        "report_window": watch.window(started, max(reported, default=started)),
    }
    figures["direct"] = direct
    figures["settings"] = {
        "afas_total_limit": settings.afas_total_limit,
        "afas_per_environment_limit": settings.afas_per_environment_limit,
        "afas_timeout_seconds": settings.afas_timeout_seconds,
    }
    return figures


async def _send(
    args: argparse.Namespace,
    slack: SlackSideProcess,
    bot_url: str,
    users: list[str],
    keys: list[str],
    direct: dict[str, Any],
    settings: Any,
) -> dict[str, Any]:
    """Warm-up, unmeasured, as a bot that has been running a while is warm: ``/afas help``
    (Bolt's one ``auth.test``, the first user's locale and user group), then one check (the
    AFAS client's first request loads its TLS trust store, about 55 ms with the loop blocked).
    Then one check alone, and the burst: one org per command, the users taking turns."""
    timeout = 60 + 4 * args.latency_ms / 1000
    alone = [[keys[1], users[0], f"check {keys[1]}"]]
    if not args.cold:
        warm_up = [["", users[0], "help"], [keys[0], users[0], f"check {keys[0]}"]]
        for command in warm_up:
            await slack.ask("send", bot_url=bot_url, commands=[command], timeout=timeout)
        single = await slack.ask("send", bot_url=bot_url, commands=alone, timeout=timeout)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    commands = [[key, users[n % len(users)], f"check {key}"] for n, key in enumerate(keys[2:])]
    bound = _bounds(
        len(commands),
        direct["requests"],
        settings.afas_per_environment_limit,
        settings.afas_total_limit,
        args.latency_ms,
    )["max_bound_ms"]
    burst = await slack.ask(
        "send", bot_url=bot_url, commands=commands, timeout=60 + 3 * bound / 1000
    )
    if args.cold:  # the burst met empty caches; the check alone comes after it
        single = await slack.ask("send", bot_url=bot_url, commands=alone, timeout=timeout)
    return {"single": single[0], "burst": burst}


# -- figures ---------------------------------------------------------------------------------


def _bounds(
    commands: int, requests: int, per_environment: int, total: int, latency_ms: int
) -> dict[str, Any]:
    """What the AFAS latency allows. One check: its requests go out in rounds of at most
    ``per_environment`` (its depth), each a latency. A burst: at most ``total`` requests are in
    flight across all environments, so the k-th report needs ceil(k × requests / total)
    latencies, and never fewer than one check's depth."""
    depth = math.ceil(requests / per_environment)

    def kth(k: int) -> int:
        return max(depth, math.ceil(k * requests / total)) * latency_ms

    return {
        "requests_per_check": requests,
        "depth": depth,
        "single_bound_ms": depth * latency_ms,
        "p50_bound_ms": kth(math.ceil(commands * 0.50)),
        "p99_bound_ms": kth(math.ceil(commands * 0.99)),
        "max_bound_ms": kth(commands),
    }


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    cuts = percentiles(values, (50, 99))
    return {
        "count": len(values),
        "min": round(min(values), 1),
        "p50": round(cuts["p50"], 1),
        "p99": round(cuts["p99"], 1),
        "max": round(max(values), 1),
    }


def _ratios(stats: dict[str, Any], references: Sequence[float], name: str) -> dict[str, float]:
    """``{"p50_over_<name>": ..., "p99_over_...", "max_over_..."}``, one reference each."""
    if not stats.get("count"):
        return {}
    points = ("p50", "p99", "max")
    return {
        f"{point}_over_{name}": round(stats[point] / reference, 2)
        for point, reference in zip(points, references, strict=True)
        if reference
    }


def _problems(args: argparse.Namespace, figures: dict[str, Any]) -> list[str]:
    """What went wrong: a command not acknowledged or answered, a report not the healthy one
    it must be, a check not recorded. Never a timing (those vary with the machine)."""
    problems: list[str] = []
    for record in [figures["single"], *figures["burst"]]:
        if record["status"] != 200:
            problems.append(f"{record['key']}: acknowledged with {record['status']}")
        elif record["report_ms"] is None:
            problems.append(f"{record['key']}: no report posted")
        elif record["report_state"] != "healthy":
            problems.append(f"{record['key']}: report is {record['report_state']}, not healthy")
        elif record["notice_ms"] is None or record["posts"] != 2:
            problems.append(f"{record['key']}: {record['posts']} posts, not notice + report")
    if figures["direct"]["state"] != "healthy":
        problems.append(f"the direct check is {figures['direct']['state']}, not healthy")
    expected = args.commands + (0 if args.cold else WARM_UP_CHECKS) + 1
    if figures["recorded"] != expected:
        problems.append(f"{figures['recorded']} of {expected} orgs have their check recorded")
    return problems


def summarise(args: argparse.Namespace, figures: dict[str, Any]) -> tuple[dict, list[str]]:
    """The percentiles, the bounds and the ratios; and the problems."""
    burst, single, direct = figures["burst"], figures["single"], figures["direct"]
    settings = figures["settings"]
    bounds = _bounds(
        len(burst),
        direct["requests"],
        settings["afas_per_environment_limit"],
        settings["afas_total_limit"],
        args.latency_ms,
    )
    ack = _stats([r["ack_ms"] for r in burst if r["ack_ms"] is not None])
    notice = _stats([r["notice_ms"] for r in burst if r["notice_ms"] is not None])
    report = _stats([r["report_ms"] for r in burst if r["report_ms"] is not None])
    single_ms = single["report_ms"] or 0.0
    burst_bounds = [bounds[f"{p}_bound_ms"] for p in ("p50", "p99", "max")]
    ratios = {
        **_ratios(ack, [ACK_TARGET_MS] * 3, "target"),
        **{f"report_{k}": v for k, v in _ratios(report, [single_ms] * 3, "single").items()},
        **{f"report_{k}": v for k, v in _ratios(report, burst_bounds, "bound").items()},
    }
    if single_ms:
        ratios["single_over_bound"] = round(single_ms / bounds["single_bound_ms"], 2)
        ratios["single_over_direct"] = round(single_ms / direct["wall_ms"], 2)
    summary = {
        "commands": len(burst),
        "acknowledged": sum(1 for r in burst if r["status"] == 200),
        "reported": sum(1 for r in burst if r["report_ms"] is not None),
        "ack_ms": ack,
        "notice_ms": notice,
        "report_ms": report,
        "acks_over_target": sum(1 for r in burst if (r["ack_ms"] or 0) > ACK_TARGET_MS),
        "acks_over_slack_limit": sum(
            1 for r in burst if r["ack_ms"] is None or r["ack_ms"] > SLACK_ACK_LIMIT_MS
        ),
        "single": {k: single[k] for k in ("ack_ms", "notice_ms", "report_ms")},
        "direct_ms": direct["wall_ms"],
        "bounds": bounds,
        "ratios": ratios,
        "settings": settings,
    }
    return summary, _problems(args, figures)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def burst_table(args: argparse.Namespace, summary: dict[str, Any]) -> Table:
    out = Table(
        title=f"/afas check: {summary['commands']} signed commands at once, AFAS answering in "
        f"{args.latency_ms:,} ms; times from sending a command"
    )
    out.add_column("time to")
    for name in ("count", "p50 ms", "p99 ms", "max ms"):
        out.add_column(name, justify="right")
    out.add_column("compared with")
    for name in ("ms", "p50", "p99", "max"):
        out.add_column(name, justify="right")
    ratios, bounds = summary["ratios"], summary["bounds"]

    def row(label: str, stats: dict, against: str = "", ms: str = "", ratio: str = "") -> None:
        found = [ratios.get(ratio.format(p)) if ratio else None for p in ("p50", "p99", "max")]
        cells = [_ms(stats.get(k)) for k in ("p50", "p99", "max")]
        out.add_row(label, str(stats["count"]), *cells, against, ms, *map(_x, found))

    report = summary["report_ms"]
    row(
        "acknowledgement",
        summary["ack_ms"],
        "target (Slack allows 3,000)",
        "100",
        "{}_over_target",
    )
    row('"checking…" notice', summary["notice_ms"])
    single = summary["single"]["report_ms"]
    row("report", report, "one check alone", _ms(single), "report_{}_over_single")
    in_flight = summary["settings"]["afas_total_limit"]
    limits = " / ".join(f"{bounds[f'{p}_bound_ms']:,}" for p in ("p50", "p99", "max"))
    row(
        "report",
        report,
        f"AFAS bound, ≤{in_flight} in flight",
        limits,
        "report_{}_over_bound",
    )
    return out


def baseline_table(args: argparse.Namespace, summary: dict[str, Any]) -> Table:
    bounds, ratios, single = summary["bounds"], summary["ratios"], summary["single"]
    out = Table(title="The baseline, in the same run: one check alone")
    out.add_column("one check")
    for name in ("ack ms", "notice ms", "report ms", "bound ms", "report / bound"):
        out.add_column(name, justify="right")
    bound = bounds["single_bound_ms"]
    depth = f"{bound:,} ({bounds['requests_per_check']} requests, depth {bounds['depth']})"
    out.add_row(
        "/afas check",
        _ms(single["ack_ms"]),
        _ms(single["notice_ms"]),
        _ms(single["report_ms"]),
        depth,
        _x(ratios.get("single_over_bound")),
    )
    direct = summary["direct_ms"]
    out.add_row("run_check, no Slack", "", "", _ms(direct), f"{bound:,}", _x(direct / bound))
    return out


# -- options and main ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{SCRIPT}", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--commands", type=int, help="commands sent at once (default 200)")
    parser.add_argument("--latency-ms", type=int, help="the sandbox's answer time (default 5000)")
    parser.add_argument("--users", type=int, default=20, help="agents the commands come from")
    parser.add_argument(
        "--afas-total-limit", type=int, help="AFASBOT_AFAS_TOTAL_LIMIT (default: the setting's)"
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() in the bot before the burst (a what-if: the bot does not do it)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no warm-up: the burst is the bot's first traffic (auth.test, locales and user "
        "groups not yet cached; the Slack calls show each looked up once)",
    )
    parser.add_argument("--json", type=Path, default=default_output(SCRIPT), help="figures")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 commands at 200 ms")
    parser.add_argument("--slack-side", metavar="USERS", help=argparse.SUPPRESS)  # the child
    args = apply_defaults(parser.parse_args(argv), FULL, QUICK)
    if args.commands < 1 or args.latency_ms < 1 or args.users < 1:
        parser.error("--commands, --latency-ms and --users must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.slack_side:
        return slack_side_main(args.slack_side.split(","))
    console = make_console()
    users = [f"U0BENCH{n:03d}" for n in range(min(args.users, args.commands))]
    load_before = os.getloadavg()
    try:
        with SandboxProcess(
            args.commands + WARM_UP_CHECKS + 1, latency_ms=args.latency_ms
        ) as sandbox:
            console.print(
                f"[dim]sandbox pid {sandbox.pid}: {len(sandbox.entries)} environments, "
                f"{args.latency_ms} ms per call[/dim]"
            )
            slack = SlackSideProcess(users)
            try:
                console.print(f"[dim]Slack side pid {slack.pid}: {slack.api_url}[/dim]")
                figures = asyncio.run(measure(args, sandbox, slack, users))
            finally:
                slack.stop()
    except KeyboardInterrupt:
        console.print("[red]interrupted; the sandbox and the Slack side were stopped[/red]")
        return 130
    summary, problems = summarise(args, figures)
    parameters = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    parameters.pop("slack_side")
    results = {
        "benchmark": SCRIPT,
        "machine": machine_facts(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "parameters": parameters,
        "summary": summary,
        "bot_process": figures["bot_process"],
        "slack_calls": figures["calls"],
        "single": figures["single"],
        "burst": figures["burst"],
        "problems": problems,
        "ok": not problems,
    }
    path = write_results(args.json, results)
    console.print(burst_table(args, summary))
    console.print(baseline_table(args, summary))
    window = figures["bot_process"]["ack_window"]
    machine = results["machine"]
    console.print(
        f"Acknowledged {summary['acknowledged']} of {summary['commands']} "
        f"({summary['acks_over_target']} over {ACK_TARGET_MS:.0f} ms, "
        f"{summary['acks_over_slack_limit']} over Slack's 3 s), reports {summary['reported']}. "
        f"The bot while acknowledging: {window.get('cpu_share', '-')} of a core, loop lag "
        f"p50 {window.get('lag_p50_ms', '-')} ms / max {window.get('lag_max_ms', '-')} ms, "
        f"{window['gc_collections']} garbage collections ({window['gc_full_collections']} "
        f"full), longest {window['gc_pause_max_ms']} ms."
        + (" gc.freeze() before the burst." if args.gc_freeze else "")
    )
    console.print(f"Slack Web API calls: {figures['calls']}")
    console.print(
        f"{machine['cpus_usable']} CPUs, Python {machine['python']}, {machine['platform']}, "
        f"load average {load_before[0]:.2f} before. Figures: {path}"
    )
    for problem in problems:
        console.print(f"[bold red]{problem}[/]")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
