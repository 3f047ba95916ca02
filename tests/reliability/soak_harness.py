"""The pieces of the two-replica soak (``test_two_replicas_soak.py``): the AFAS sandbox whose orgs
break and recover, the Slack fake behind a door that acts right after Slack accepted a call
(loses the answer, SIGKILLs the sender, or takes the database away), the ``afasbot serve``
processes that are killed and restarted, the database that is cut and read, the seeded plan of
all of it, the driver (``SoakRun``), and the judge that reads the Slack fake's calls against
the database.

The judge is the point: it counts what Slack accepted (``chat.postMessage`` and ``chat.update``
answered ``ok``, whatever the bot saw of the answer) against the outbox rows the database says
were sent, by the outbox tag each message carries in its metadata
(``event_payload.outbox_id``/``part``), and per incident by its root message and thread. A
duplicate or a loss is named with its row, its incident, what the door did to each call and
what happened just before it (a kill, a cut connection...), so a failure says which path
doubled.

Time: the plan is seeded; where the bot's own timers are far longer than a soak can wait (a
killed replica's outbox lease: 120 s; a 5xx retry: 30 s and more), the harness moves the
clock for those rows only, as the passing of time would: it expires the leases of processes it
killed (and leases a live process has held for ``STALE_LEASE_SECONDS``: its attempt is over),
and, once the faults are off, makes waiting retries due. A lease a live replica may still be
using is never touched.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from afas.sandbox.scenario import SandboxEnvironment, Scenario, scenario_from_dict
from afas.sandbox.serving import ServerThread
from tests.fakes.slack import SlackWebApiFake

#: Slack's metadata event type the outbox tags its messages with (bot/alerting/slack_post.py).
OUTBOX_EVENT = "afasbot_outbox"
OPENED = "incident.opened"
RESOLVED = "incident.resolved"
#: A lease a live replica has held this long belongs to an attempt that is over (its database
#: connection was cut after Slack answered, say): as if its 120 s had passed.
STALE_LEASE_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- what happened, when ------------------------------------------------------------------------


class Timeline:
    """Every action of the harness with its time since the start (monotonic), for the report
    and for explaining a duplicate by what happened just before it."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.events: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.start

    def add(self, what: str, at: float | None = None) -> None:
        with self._lock:
            self.events.append((self.now() if at is None else at, what))

    def write(self, path: Path) -> None:
        """The whole timeline, one event a line (kept beside the replicas' logs)."""
        with self._lock:
            path.write_text("".join(f"t={t:8.2f}s {what}\n" for t, what in sorted(self.events)))

    def around(self, start: float, end: float) -> list[str]:
        """The events between two moments (monotonic clock), as ``t=12.3s what``."""
        lo, hi = start - self.start, end - self.start
        with self._lock:
            return [f"t={t:.2f}s {what}" for t, what in sorted(self.events) if lo <= t <= hi]


# --- AFAS: orgs that break and recover -----------------------------------------------------------


@dataclass(frozen=True)
class SoakOrg:
    key: str
    env: str  # the sandbox environment's name
    channel: str
    breaks_by: str  # "token" (revoked) or "ip" (refused)


def soak_scenario(count: int, *, latency_ms: int = 20, first_number: int = 50001) -> Scenario:
    """``count`` healthy environments ``soak-01``…, each its own number."""
    return scenario_from_dict(
        {
            "environments": [
                {"name": f"soak-{i + 1:02d}", "number": first_number + i, "latency_ms": latency_ms}
                for i in range(count)
            ]
        },
        "soak",
    )


def soak_orgs(scenario: Scenario) -> list[SoakOrg]:
    """One org per environment, each alerting in a channel of its own (Slack paces per
    channel), half breaking by a revoked token, half by a refused IP address: one cause each,
    so an incident's root is edited only when it recovers."""
    return [
        SoakOrg(
            key=env.name,
            env=env.name,
            channel=f"C0SOAK{i + 1:02d}",
            breaks_by="token" if i % 2 == 0 else "ip",
        )
        for i, env in enumerate(scenario.environments)
    ]


def set_broken(env: SandboxEnvironment, org: SoakOrg, broken: bool) -> None:
    """Break or mend the org's environment in the running sandbox (read per request)."""
    if org.breaks_by == "token":
        env.token_revoked = broken
    else:
        env.app_connector.ip_restricted = broken


# --- Slack: the fake, behind a door that can lose an answer ----------------------------------


@dataclass(frozen=True)
class DoorEvent:
    """Slack accepted a call, and then the door did ``action`` (see ``SlackDoor``)."""

    at: float  # monotonic
    action: str  # "lose", "kill" or "outage"
    method: str
    channel: str | None
    ts: str | None  # the message Slack made or edited
    pid: int | None = None  # the replica killed ("kill")


#: How a door event reads in a report.
DOOR_NOTES = {
    "lose": "answer lost",
    "kill": "its sender SIGKILLed once Slack accepted",
    "outage": "the database went away once Slack accepted",
}


class SlackDoor:
    """ASGI middleware before the Slack fake, for the moment right after Slack accepted a call
    (a message posted, an edit made), the one the known duplicate paths start from. ``arm``
    chooses what happens to the next accepted call of a method:

    - ``lose``: the sender is answered HTTP 500 (Slack accepted; the sender cannot know it);
    - ``kill``: the replica that sent it is SIGKILLed before it reads the answer;
    - ``outage``: the database refuses connections (``on_outage``) before the sender reads
      the answer, so it cannot record what Slack said.

    A call Slack did not accept (a queued 429, say) leaves the action armed for the next one.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        pids: Callable[[], list[int]] = list,
        on_outage: Callable[[], None] | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self.app = app
        self.pids = pids
        self.on_outage = on_outage
        self.timeline = timeline
        self.events: list[DoorEvent] = []
        self._armed: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def arm(self, method: str, action: str) -> None:
        with self._lock:
            self._armed[method].append(action)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def armed(self, method: str) -> bool:
        with self._lock:
            return bool(self._armed.get(method))

    def _take(self, method: str) -> str | None:
        with self._lock:
            queue = self._armed.get(method)
            return queue.pop(0) if queue else None

    def _rearm(self, method: str, action: str) -> None:
        with self._lock:
            self._armed[method].insert(0, action)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        method = scope.get("path", "").removeprefix("/api/").strip("/")
        action = self._take(method) if scope["type"] == "http" else None
        if action is None:
            await self.app(scope, receive, send)
            return
        messages: list[dict] = []

        async def keep(message: dict) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {}
        if not answer.get("ok"):
            self._rearm(method, action)
            for message in messages:
                await send(message)
            return
        pid = None
        if action == "kill":
            client, server = scope.get("client"), scope.get("server")
            pid = client_pid(client[1], server[1], self.pids()) if client and server else None
            if pid is None:  # not found (no /proc): the answer is lost instead
                action = "lose"
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        elif action == "outage" and self.on_outage is not None:
            self.on_outage()
        event = DoorEvent(
            time.monotonic(), action, method, answer.get("channel"), answer.get("ts"), pid
        )
        self.events.append(event)
        if self.timeline is not None:
            self.timeline.add(
                f"Slack accepted {method} ts {event.ts}, then: {DOOR_NOTES[action]}"
                + (f" (pid {pid})" if pid else "")
            )
        with contextlib.suppress(Exception):  # a killed sender reads nothing
            if action == "lose":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b'{"ok":false,"error":"internal_error"}'}
                )
            else:
                for message in messages:
                    await send(message)


def client_pid(client_port: int, server_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the TCP connection from ``client_port`` to ``server_port`` on
    this machine (Linux ``/proc``); None when none does or ``/proc`` cannot tell."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == client_port
                    and int(remote.rsplit(":", 1)[1], 16) == server_port
                ):
                    inodes.add(f"socket:[{inode}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


class SoakSlack:
    """The Slack Web API fake (its workspace records every call) served through a
    ``SlackDoor`` on a free port; ``url`` is the base URL for SLACK_API_URL."""

    def __init__(
        self,
        *,
        bot_token: str,
        channels: list[str],
        pids: Callable[[], list[int]] = list,
        on_outage: Callable[[], None] | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self.fake = SlackWebApiFake(valid_tokens=(bot_token,))  # the workspace; served below
        for channel in channels:
            self.fake.add_channel(channel, channel.lower())
        self.door = SlackDoor(self.fake.app, pids=pids, on_outage=on_outage, timeline=timeline)
        self._server = ServerThread(self.door, name="Slack Web API fake (soak)")

    @property
    def url(self) -> str:
        return f"{self._server.origin}/api/"

    def __enter__(self) -> SoakSlack:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def faults_off(self) -> None:
        with self.fake.lock:
            self.fake.recorded.faults.clear()
        self.door.clear()


# --- the serve processes -------------------------------------------------------------------------


@dataclass
class Incarnation:
    pid: int
    port: int
    log: Path
    started: float  # monotonic
    up: float | None = None  # when /healthz first answered
    ended: float | None = None
    exit_status: int | None = None

    @property
    def owner_prefix(self) -> str:
        """The start of its replica id (bot/replica.py: host, pid, a random part)."""
        return f"{socket.gethostname()}:{self.pid}:"


class Replica:
    """One ``afasbot serve`` slot: started, SIGKILLed and started again as a new process, as an
    orchestrator restarts a container. A process that ends without our kill is *reaped*: by
    SIGKILL (the door's), during its start-up (``serve`` refuses to start on a database error,
    exit 2: the orchestrator tries again), or after it was up (a crash: ``crashes``)."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path, timeline: Timeline) -> None:
        self.name, self.env, self.workdir, self.timeline = name, env, workdir, timeline
        self.process: subprocess.Popen | None = None
        self.incarnations: list[Incarnation] = []
        self.kills = 0
        self.start_failures: list[tuple[int, int]] = []  # (pid, exit status)
        self.crashes: list[tuple[int, int]] = []  # (pid, exit status): ended by itself once up

    @property
    def current(self) -> Incarnation | None:
        return self.incarnations[-1] if self.process is not None else None

    def start(self) -> Incarnation:
        port = free_port()
        log = self.workdir / f"serve-{self.name}-{len(self.incarnations) + 1}.log"
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    os.path.join(os.path.dirname(sys.executable), "afasbot"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        incarnation = Incarnation(self.process.pid, port, log, time.monotonic())
        self.incarnations.append(incarnation)
        self.timeline.add(f"replica {self.name} started (pid {incarnation.pid})")
        return incarnation

    def is_up(self) -> bool:
        """Whether it serves (``/healthz``: up, whatever the database); remembered once seen."""
        incarnation = self.current
        if incarnation is None or not self.alive():
            return False
        if incarnation.up is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{incarnation.port}/healthz", timeout=0.3)
            except httpx.HTTPError:
                return False
            if answer.status_code != 200:
                return False
            incarnation.up = time.monotonic()
            self.timeline.add(f"replica {self.name} up (pid {incarnation.pid})")
        return True

    def kill(self) -> Incarnation | None:
        """SIGKILL, at whatever it is doing; the incarnation killed (None if none ran)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        incarnation = self._ended()
        self.kills += 1
        self.timeline.add(f"replica {self.name} SIGKILLed (pid {incarnation.pid})")
        return incarnation

    def reap(self) -> Incarnation | None:
        """The incarnation that ended without our ``kill`` (once); None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        incarnation = self._ended()
        code, pid = incarnation.exit_status, incarnation.pid
        if code == -signal.SIGKILL:
            self.kills += 1
            self.timeline.add(f"replica {self.name} SIGKILLed by the door (pid {pid})")
        elif incarnation.up is None:
            self.start_failures.append((pid, code))
            self.timeline.add(f"replica {self.name} failed to start (exit {code}, pid {pid})")
        else:
            self.crashes.append((pid, code))
            self.timeline.add(f"replica {self.name} CRASHED (exit {code}, pid {pid})")
        return incarnation

    def _ended(self) -> Incarnation:
        incarnation = self.incarnations[-1]
        incarnation.ended, incarnation.exit_status = time.monotonic(), self.process.returncode
        self.process = None
        return incarnation

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait: the clean stop; its exit status (None if it was not running)."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        incarnation = self._ended()
        self.timeline.add(f"replica {self.name} stopped (SIGTERM, exit {incarnation.exit_status})")
        return incarnation.exit_status

    def pid(self) -> int | None:
        return self.process.pid if self.alive() else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        """``/readyz``: the database answers and the scheduler ticks."""
        incarnation = self.current
        if incarnation is None or not self.alive():
            return False
        try:
            answer = httpx.get(f"http://127.0.0.1:{incarnation.port}/readyz", timeout=3.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def dead_owner_prefixes(self) -> list[str]:
        return [i.owner_prefix for i in self.incarnations if i.ended is not None]

    def log_text(self) -> str:
        return "".join(
            i.log.read_text(errors="replace") for i in self.incarnations if i.log.exists()
        )


# --- the database: cut, nudged, read ---------------------------------------------------------


class SoakDatabase:
    """One autocommit connection to the soak's database, never itself cut (it is the one that
    cuts the others)."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.connection = psycopg.connect(
            host=host,
            port=port,
            user="postgres",
            dbname=name,
            autocommit=True,
            connect_timeout=3,
            row_factory=dict_row,
            options="-c statement_timeout=10s -c lock_timeout=10s",
        )
        self._columns: dict[str, set[str]] = {}

    def close(self) -> None:
        self.connection.close()

    @property
    def backend_pid(self) -> int:
        """This connection's server process (spared when the others are cut)."""
        return self.connection.info.backend_pid

    def execute(self, sql: str, params: tuple | dict | None = None) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def count(self, sql: str, params: tuple | None = None) -> int:
        cursor = self.connection.execute(sql, params)
        return cursor.rowcount

    def has_column(self, table: str, column: str) -> bool:
        if table not in self._columns:
            rows = self.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
            self._columns[table] = {r["column_name"] for r in rows}
        return column in self._columns[table]

    def terminate_others(self) -> int:
        """End every other connection to this database (a failover, a restart of PostgreSQL)."""
        return len(
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )

    def expire_leases(self, owner_prefix: str) -> int:
        """The leases a dead process held, run out now (as they would in their own time)."""
        pattern = owner_prefix.replace("%", r"\%").replace("_", r"\_") + "%"
        expired = 0
        for table in ("orgs", "outbox"):
            expired += self.count(
                f"UPDATE {table} SET lease_until = now() - interval '1 second'"
                " WHERE lease_owner LIKE %s AND lease_until > now()",
                (pattern,),
            )
        return expired

    def outbox_leases(self) -> list[dict[str, Any]]:
        return self.execute(
            "SELECT id, lease_owner, lease_until FROM outbox"
            " WHERE lease_owner IS NOT NULL AND lease_until > now()"
        )

    def expire_outbox_lease(self, row_id: int, owner: str, until: datetime) -> int:
        return self.count(
            "UPDATE outbox SET lease_until = now() - interval '1 second'"
            " WHERE id = %s AND lease_owner = %s AND lease_until = %s",
            (row_id, owner, until),
        )

    def hurry_retries(self) -> int:
        """Unsent, unleased messages waiting for a retry time: due now (the faults are off;
        the bot's backoff would make the soak wait minutes)."""
        given_up = " AND given_up_at IS NULL" if self.has_column("outbox", "given_up_at") else ""
        return self.count(
            "UPDATE outbox SET not_before = now() WHERE sent_at IS NULL AND not_before > now()"
            " AND (lease_until IS NULL OR lease_until <= now())" + given_up
        )

    def unsent(self) -> list[dict[str, Any]]:
        return self.execute("SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id")

    def resolved_incidents(self) -> int:
        return len(self.execute("SELECT id FROM incidents WHERE closed_at IS NOT NULL"))

    def open_incidents(self) -> int:
        return len(self.execute("SELECT id FROM incidents WHERE closed_at IS NULL"))

    def latest_checks(self) -> dict[int, dict[str, Any]]:
        rows = self.execute(
            "SELECT DISTINCT ON (org_id) org_id, started_at, overall_state FROM check_runs"
            " ORDER BY org_id, started_at DESC"
        )
        return {r["org_id"]: r for r in rows}

    def sweeps(self) -> int:
        """Sweeps that checked something: each sweep checks its orgs at one ``now``."""
        (row,) = self.execute(
            "SELECT count(DISTINCT started_at) AS n FROM check_runs WHERE trigger = 'schedule'"
        )
        return row["n"]

    def snapshot(self) -> DatabaseState:
        return DatabaseState(
            orgs=self.execute("SELECT id, key, alert_channel FROM orgs ORDER BY id"),
            incidents=self.execute("SELECT * FROM incidents ORDER BY id"),
            outbox=self.execute("SELECT * FROM outbox ORDER BY id"),
            check_runs=len(self.execute("SELECT id FROM check_runs")),
            sweeps=self.sweeps(),
        )


class Outage:
    """The database refusing connections for ``seconds`` (new ones refused, open ones cut), as
    in a failover; the harness's own connection (``spare``) is left alone. Called from the
    door's thread; a second outage while one lasts extends it."""

    def __init__(
        self, name: str, host: str, port: int, *, spare: int, seconds: float, timeline: Timeline
    ) -> None:
        self.name, self.spare, self.seconds, self.timeline = name, spare, seconds, timeline
        self.connection = psycopg.connect(
            host=host, port=port, user="postgres", dbname="postgres", autocommit=True
        )
        self.begun = 0
        self.cut = 0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            self.connection.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
            cut = self.connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> %s",
                (self.name, self.spare),
            ).fetchall()
            self.begun += 1
            self.cut += len(cut)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.seconds, self.end)
            self._timer.daemon = True
            self._timer.start()
        self.timeline.add(f"database away for {self.seconds:g} s ({len(cut)} connection(s) cut)")

    def end(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.connection.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')

    def close(self) -> None:
        self.end()
        self.connection.close()


@dataclass(frozen=True)
class DatabaseState:
    orgs: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    check_runs: int
    sweeps: int


class LeaseWatch:
    """Runs out the leases nobody will release: those of killed processes (after a short
    while), and those a live process has held for ``STALE_LEASE_SECONDS``."""

    def __init__(self, db: SoakDatabase, timeline: Timeline) -> None:
        self.db, self.timeline = db, timeline
        self.dead_expired = 0
        self.stale_expired = 0
        self._seen: dict[tuple[int, str, datetime], float] = {}

    def expire_dead(self, prefixes: list[str]) -> None:
        for prefix in prefixes:
            expired = self.db.expire_leases(prefix)
            if expired:
                self.dead_expired += expired
                self.timeline.add(f"{expired} lease(s) of dead {prefix} run out")

    def expire_stale(self) -> None:
        now = time.monotonic()
        current = set()
        for row in self.db.outbox_leases():
            key = (row["id"], row["lease_owner"], row["lease_until"])
            current.add(key)
            first = self._seen.setdefault(key, now)
            if now - first >= STALE_LEASE_SECONDS and self.db.expire_outbox_lease(*key):
                self.stale_expired += 1
                self.timeline.add(
                    f"stale lease on outbox {row['id']} ({row['lease_owner']}) run out"
                )
        self._seen = {k: v for k, v in self._seen.items() if k in current}


# --- the plan ---------------------------------------------------------------------------------


@dataclass(order=True)
class Step:
    at: float  # seconds since the chaos began
    order: int
    kind: str = field(compare=False)
    arg: Any = field(compare=False, default=None)


def chaos_plan(
    rng: random.Random, *, seconds: float, orgs: list[SoakOrg], slack_methods: list[str]
) -> list[Step]:
    """The chaos phase's actions that do not depend on the processes, from the seed: org
    flips, Slack faults (the door's among them) and cut connections. Kills are drawn from the
    same seed as each replica comes up (``SoakRun``)."""
    steps: list[Step] = []

    def add(at: float, kind: str, arg: Any = None) -> None:
        if at < seconds:
            steps.append(Step(at, len(steps), kind, arg))

    for org in orgs:
        at, broken = rng.uniform(0.5, 6.0), False
        while at < seconds - 2:
            broken = not broken
            add(at, "break" if broken else "mend", org.key)
            at += rng.uniform(5.0, 12.0) if broken else rng.uniform(2.5, 7.0)
    at = rng.uniform(0.5, 2.0)
    while at < seconds:
        kind = rng.choices(["429", "500", *ACCEPTED_THEN], weights=[3, 2, 2, 2, 2])[0]
        method = rng.choices(slack_methods, weights=_method_weights(slack_methods))[0]
        if kind in ACCEPTED_THEN and method not in ("chat.postMessage", "chat.update"):
            method = "chat.postMessage"  # a lookup changes nothing in Slack
        add(at, f"slack-{kind}", (method, rng.randint(1, 2)))
        at += rng.uniform(0.8, 2.2)
    at = rng.uniform(1.5, 4.0)
    while at < seconds:
        add(at, "cut-database")
        at += rng.uniform(2.0, 5.0)
    return sorted(steps)


#: What the door may do once Slack accepted a call (``SlackDoor``).
ACCEPTED_THEN = ("lose", "kill", "outage")


def _method_weights(methods: list[str]) -> list[int]:
    weights = {"chat.postMessage": 5, "chat.update": 3, "*": 2}
    return [weights.get(m, 1) for m in methods]


class SoakRun:
    """Drives the chaos phase and the settling over the sandbox, Slack, the database and the
    replicas. Kills: each replica, once up (``/healthz``), is SIGKILLed at a random moment
    ``KILL_AFTER`` seconds later, started again ``RESTART_AFTER`` later, and its leases run out
    ``LEASES_RUN_OUT`` after the kill; a process that ended otherwise is started again too."""

    KILL_AFTER = (1.5, 6.0)
    RESTART_AFTER = (0.1, 1.2)
    LEASES_RUN_OUT = (0.5, 2.5)

    def __init__(
        self,
        *,
        scenario: Scenario,
        orgs: list[SoakOrg],
        slack: SoakSlack,
        db: SoakDatabase,
        outage: Outage,
        replicas: dict[str, Replica],
        timeline: Timeline,
        rng: random.Random,
    ) -> None:
        self.scenario, self.orgs, self.slack, self.db = scenario, orgs, slack, db
        self.outage, self.replicas, self.timeline, self.rng = outage, replicas, timeline, rng
        self.leases = LeaseWatch(db, timeline)
        self.counts = {"cuts": 0, "terminated connections": 0, "flips": 0, "hurried retries": 0}
        self._steps: list[Step] = []
        self._order = 0
        self._kill_planned: set[int] = set()  # pids whose kill is on the plan

    def _push(self, at: float, kind: str, arg: Any = None) -> None:
        self._order += 1
        heapq.heappush(self._steps, Step(at, 100_000 + self._order, kind, arg))

    def chaos(
        self, plan: list[Step], *, least: float, most: float, enough: Callable[[], bool]
    ) -> float:
        """The plan (drawn for ``most`` seconds) until ``enough()`` says the soak has done what
        it must (kills, sweeps, incidents: a loaded machine starts a process slowly), but for
        ``least`` seconds at least and ``most`` at most. How long it ran."""
        self._steps = list(plan)
        heapq.heapify(self._steps)
        began, next_watch = time.monotonic(), 0.0
        while (elapsed := time.monotonic() - began) < most:
            while self._steps and self._steps[0].at <= elapsed:
                self.do(heapq.heappop(self._steps), elapsed)
            for name, replica in self.replicas.items():
                if replica.reap() is not None:
                    self._after_death(name, elapsed)
                elif self._unplanned(replica) and replica.is_up() and elapsed < most - 2:
                    pid = replica.process.pid
                    self._kill_planned.add(pid)
                    self._push(elapsed + self.rng.uniform(*self.KILL_AFTER), "kill", (name, pid))
            if elapsed >= next_watch:
                self.leases.expire_stale()
                next_watch = elapsed + 0.5
                if elapsed >= least and enough():
                    break
            time.sleep(0.02)
        return time.monotonic() - began

    def _fault_pending(self, method: str) -> bool:
        fake = self.slack.fake
        with fake.lock:
            queued = bool(fake.recorded.faults.get(method))
        return queued or self.slack.door.armed(method)

    def _unplanned(self, replica: Replica) -> bool:
        return replica.process is not None and replica.process.pid not in self._kill_planned

    def _after_death(self, name: str, elapsed: float) -> None:
        self._push(elapsed + self.rng.uniform(*self.RESTART_AFTER), "start", name)
        self._push(elapsed + self.rng.uniform(*self.LEASES_RUN_OUT), "leases-run-out", name)

    def do(self, step: Step, elapsed: float) -> None:
        fake = self.slack.fake
        if step.kind in ("break", "mend"):
            org = next(o for o in self.orgs if o.key == step.arg)
            set_broken(self.scenario.by_name(org.env), org, step.kind == "break")
            self.counts["flips"] += 1
            self.timeline.add(f"{org.key} {step.kind}s ({org.breaks_by})")
        elif step.kind.startswith("slack-"):
            method, times = step.arg
            fault = step.kind.removeprefix("slack-")
            if self._fault_pending(method):
                return  # one at a time per method: faults nobody met would pile up
            if fault == "429":
                fake.rate_limit(method, times=times, retry_after=1)
            elif fault == "500":
                fake.fail(method, "internal_error", status=500, times=times)
            else:
                self.slack.door.arm(method, fault)
            self.timeline.add(f"Slack: next {method}: {fault}")
        elif step.kind == "cut-database":
            cut = self.db.terminate_others()
            self.counts["cuts"] += 1
            self.counts["terminated connections"] += cut
            self.timeline.add(f"database: {cut} connection(s) terminated")
        elif step.kind == "kill":
            name, pid = step.arg
            replica = self.replicas[name]
            if replica.pid() == pid:  # not an incarnation started since
                replica.kill()
                self._after_death(name, elapsed)
        elif step.kind == "start":
            replica = self.replicas[step.arg]
            replica.reap()
            if replica.process is None:
                replica.start()
        elif step.kind == "leases-run-out":
            self.leases.expire_dead(self.replicas[step.arg].dead_owner_prefixes())

    def settle(self, seconds: float) -> bool:
        """Faults off, every org mended, both replicas running (started again if they end):
        until the outbox is empty, no incident is open and every org was checked healthy since,
        three polls in a row. Waiting retries are made due (the faults are off)."""
        self.slack.faults_off()
        self.outage.end()
        for org in self.orgs:
            set_broken(self.scenario.by_name(org.env), org, False)
        self.timeline.add("settling: faults off, every org mended")
        mended = datetime.now(UTC) + timedelta(seconds=1.5)
        deadline, quiet = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            for replica in self.replicas.values():
                replica.reap()
                if replica.process is None:
                    replica.start()
            prefixes = [p for r in self.replicas.values() for p in r.dead_owner_prefixes()]
            self.leases.expire_dead(prefixes)
            self.leases.expire_stale()
            self.counts["hurried retries"] += self.db.hurry_retries()
            latest = self.db.latest_checks()
            done = (
                all(r.ready() for r in self.replicas.values())
                and not self.db.unsent()
                and self.db.open_incidents() == 0
                and len(latest) == len(self.orgs)
                and all(
                    c["started_at"] > mended and c["overall_state"] == "healthy"
                    for c in latest.values()
                )
            )
            quiet = quiet + 1 if done else 0
            if quiet >= 3:
                return True
            time.sleep(0.3)
        self.timeline.add(
            "not settled: "
            f"ready {[r.ready() for r in self.replicas.values()]}, "
            f"unsent {self.db.unsent()}, open incidents {self.db.open_incidents()}, "
            "latest "
            + ", ".join(
                f"{key}={c['overall_state']}@{c['started_at'] > mended}"
                for key, c in sorted(self.db.latest_checks().items())
            )
        )
        return False


# --- the judge --------------------------------------------------------------------------------


def outbox_tag(params: dict[str, Any]) -> tuple[int, int] | None:
    """(outbox id, part) of a message's metadata tag, None if untagged."""
    metadata = params.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != OUTBOX_EVENT:
        return None
    payload = metadata.get("event_payload") or {}
    try:
        return int(payload["outbox_id"]), int(payload.get("part", 0))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class Accepted:
    """One call Slack accepted (``ok``), whatever the bot saw of its answer."""

    method: str
    channel: str
    ts: str  # the message posted, or edited
    thread_ts: str | None
    tag: tuple[int, int] | None
    at: float  # monotonic


@dataclass
class Verdict:
    counts: dict[str, Any]
    problems: list[str]

    def counts_line(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.counts.items())

    def report(self) -> str:
        shown = self.problems[:40]
        more = len(self.problems) - len(shown)
        return (
            f"soak: {self.counts_line()}\n"
            + f"{len(self.problems)} problem(s):\n  - "
            + "\n  - ".join(shown)
            + (f"\n  ... and {more} more" if more > 0 else "")
        )


def accepted_calls(fake: SlackWebApiFake, method: str) -> list[Accepted]:
    found = []
    for call in fake.calls(method):
        answer = call.response
        if call.status != 200 or not answer.get("ok"):
            continue
        thread = call.params.get("thread_ts") or None
        found.append(
            Accepted(
                method=method,
                channel=str(answer.get("channel")),
                ts=str(answer.get("ts")),
                thread_ts=str(thread) if thread else None,
                tag=outbox_tag(call.params),
                at=call.at,
            )
        )
    return found


def judge(
    state: DatabaseState,
    fake: SlackWebApiFake,
    *,
    timeline: Timeline,
    door: list[DoorEvent],
    counts: dict[str, Any],
) -> Verdict:
    """Every alert and every edit exactly once, in order per incident; see the module docstring.
    ``counts`` (the harness's own: kills, cuts...) is completed with what Slack and the
    database hold."""
    problems: list[str] = []
    posts = accepted_calls(fake, "chat.postMessage")
    edits = accepted_calls(fake, "chat.update")
    roots = [p for p in posts if p.thread_ts is None]
    replies = [p for p in posts if p.thread_ts is not None]
    rows = {row["id"]: row for row in state.outbox}
    sent = {i: r for i, r in rows.items() if r["sent_at"] is not None}
    org_channel = {o["id"]: o["alert_channel"] for o in state.orgs}
    calls = fake.calls()

    def where(row_id: int) -> str:
        row = rows.get(row_id)
        if row is None:
            return f"outbox {row_id} (no such row)"
        return f"outbox {row_id} ({row['kind']}, incident {row['incident_id']})"

    def explain(found: list[Accepted]) -> str:
        """Each call: its message, its time, what the door did to it, what happened just
        before (a kill, a cut...)."""
        parts = []
        for call in found:
            note = door_note(door, call)
            before = timeline.around(call.at - 1.5, call.at + 0.05)
            parts.append(
                f"[{call.method} ts {call.ts} at t={call.at - timeline.start:.2f}s"
                + (f", {note}" if note else "")
                + (f"; just before: {', '.join(before)}" if before else "")
                + "]"
            )
        return " ".join(parts)

    # 1. No message twice, no edit twice, by the outbox tag.
    for name, accepted in (("posted", posts), ("edited with", edits)):
        by_tag: dict[tuple[int, int], list[Accepted]] = defaultdict(list)
        for call in accepted:
            if call.tag is not None:
                by_tag[call.tag].append(call)
        for (row_id, part), found in sorted(by_tag.items()):
            if len(found) > 1:
                problems.append(
                    f"DUPLICATE: {where(row_id)} part {part} {name} {len(found)} times: "
                    + explain(found)
                )
    untagged = [p for p in posts if p.tag is None]
    if untagged:
        problems.append(
            f"{len(untagged)} of {len(posts)} accepted chat.postMessage calls carry no outbox "
            f"tag (metadata event_type {OUTBOX_EVENT!r}): duplicates cannot be told by tag"
        )

    # 2. Every sent row is in Slack; nothing is left unsent or given up.
    tagged_rows = {p.tag[0] for p in posts if p.tag is not None}
    for row_id in sorted(sent):
        if untagged:
            break  # without tags this cannot be told row by row (counted per thread below)
        if row_id not in tagged_rows:
            problems.append(f"LOST: {where(row_id)} marked sent, but no message carries its tag")
    for row in state.outbox:
        if row["sent_at"] is None:
            problems.append(
                f"NOT DELIVERED: {where(row['id'])} still unsent after settling "
                f"(attempts {row['attempts']}, last error {row['last_error']!r}"
                + (", given up" if row.get("given_up_at") else "")
                + ")"
            )

    # 3. Per incident: one root, its replies in order, one recovery edit.
    rows_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in state.outbox:
        if row["incident_id"] is not None:
            rows_of[row["incident_id"]].append(row)
    known_roots: set[tuple[str, str]] = set()
    announced = resolved = 0
    roots_expected: Counter[str] = Counter()
    for incident in state.incidents:
        iid = incident["id"]
        mine = sorted(rows_of.get(iid, []), key=lambda r: r["id"])
        opened = [r for r in mine if r["kind"] == OPENED]
        if not opened:
            continue
        announced += 1
        channel = incident["slack_channel"] or org_channel.get(incident["org_id"])
        roots_expected[channel] += 1
        root_ts = incident["slack_ts"]
        if root_ts is None:
            problems.append(f"incident {iid}: announced, but no root message is recorded")
            continue
        known_roots.add((channel, root_ts))
        if not untagged:
            mine_roots = [r for r in roots if r.tag is not None and r.tag[0] == opened[0]["id"]]
            if len(mine_roots) != 1:
                problems.append(
                    f"incident {iid}: {len(mine_roots)} root messages carry the tag of "
                    f"{where(opened[0]['id'])}, not 1"
                )
            elif mine_roots[0].ts != root_ts:
                problems.append(
                    f"incident {iid}: the database's root is ts {root_ts}, Slack's tagged root "
                    f"is ts {mine_roots[0].ts}"
                )
        followers = [r for r in mine if r["kind"] != OPENED and r["sent_at"] is not None]
        thread = [p for p in replies if (p.channel, p.thread_ts) == (channel, root_ts)]
        if len(thread) != len(followers):
            problems.append(
                f"incident {iid}: {len(thread)} replies in its thread for {len(followers)} sent "
                f"messages ({', '.join(r['kind'] for r in followers) or 'none'})"
                + (": " + explain(thread) if thread else "")
            )
        tags = [p.tag[0] for p in thread if p.tag is not None]
        if tags != sorted(tags):
            problems.append(
                f"incident {iid}: replies out of order: outbox ids {tags} in posting order"
            )
        closing = [r for r in mine if r["kind"] == RESOLVED]
        if thread and closing and tags and tags[-1] != closing[0]["id"]:
            problems.append(f"incident {iid}: the recovery reply is not the thread's last")
        on_root = [e for e in edits if (e.channel, e.ts) == (channel, root_ts)]
        if incident["closed_at"] is not None and closing:
            resolved += 1
            recovery = [e for e in on_root if e.tag is None or e.tag[0] == closing[0]["id"]]
            if len(recovery) != 1:
                problems.append(
                    f"incident {iid}: {len(recovery)} recovery edits of its root, not 1"
                    + (": " + explain(recovery) if recovery else "")
                )
        elif incident["closed_at"] is None and [e for e in on_root if e.tag is None]:
            problems.append(f"incident {iid}: open, but its root was edited")

    # 4. Per channel: no root beyond the incidents' own (catches untagged duplicates too).
    roots_by_channel = Counter(r.channel for r in roots)
    for channel in sorted(set(roots_by_channel) | set(roots_expected)):
        if roots_by_channel[channel] != roots_expected[channel]:
            extra = [
                r for r in roots if r.channel == channel and (r.channel, r.ts) not in known_roots
            ]
            problems.append(
                f"channel {channel}: {roots_by_channel[channel]} root messages for "
                f"{roots_expected[channel]} announced incidents"
                + (": not a recorded root: " + explain(extra) if extra else "")
            )
    strays = [p for p in replies if (p.channel, p.thread_ts) not in known_roots]
    if strays:
        problems.append(
            f"{len(strays)} replies in threads of no incident's root: {explain(strays)}"
        )
    strays = [e for e in edits if (e.channel, e.ts) not in known_roots]
    if strays:
        problems.append(f"{len(strays)} edits of messages that are no incident's root")
    if fake.errors:
        problems.append(f"the Slack fake itself failed: {fake.errors[:3]}")

    counts.update(
        {
            "incidents": len(state.incidents),
            "announced": announced,
            "resolved": resolved,
            "outbox rows": len(state.outbox),
            "root posts": len(roots),
            "replies": len(replies),
            "edits": len(edits),
            "429s": sum(1 for c in calls if c.status == 429),
            "500s": sum(1 for c in calls if c.status == 500),
            "answers lost": sum(1 for e in door if e.action == "lose"),
            "kills once Slack accepted": sum(1 for e in door if e.action == "kill"),
            "database away once Slack accepted": sum(1 for e in door if e.action == "outage"),
            "sweeps": state.sweeps,
            "check runs": state.check_runs,
        }
    )
    counts["kinds"] = dict(Counter(row["kind"] for row in state.outbox))
    return Verdict(counts, problems)


def door_note(door: list[DoorEvent], call: Accepted) -> str | None:
    """What the door did to this accepted call, if anything."""
    for event in door:
        if (event.method, event.channel, event.ts) == (call.method, call.channel, call.ts) and abs(
            event.at - call.at
        ) < 1.0:
            return DOOR_NOTES[event.action]
    return None


def pace(fake: SlackWebApiFake) -> float | None:
    """The shortest time between two accepted posts in one channel (seconds), None if no
    channel had two: how well the senders keep Slack's one message per second per channel."""
    by_channel: dict[str, list[float]] = defaultdict(list)
    for post in accepted_calls(fake, "chat.postMessage"):
        by_channel[post.channel].append(post.at)
    gaps = [b - a for times in by_channel.values() for a, b in itertools.pairwise(times)]
    return min(gaps) if gaps else None
