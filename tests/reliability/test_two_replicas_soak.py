"""Two ``afasbot serve`` processes on one PostgreSQL database, for well over 100 sweeps, while
orgs break and recover in the AFAS sandbox, Slack answers 429 (``Retry-After``) and 500, the
database's connections are cut and each process is SIGKILLed at random moments and started
again. At the moment the known duplicate paths start from, right after Slack accepted a call,
the soak also loses Slack's answer, SIGKILLs the sender, or takes the database away
(``soak_harness.SlackDoor``). Then the faults stop, the orgs mend, both replicas run until the
outbox is empty, and the Slack fake's calls are held against the database: every announced
incident has exactly one root message, every resolved one exactly one recovery edit and one
recovery reply, no outbox message is in Slack twice or missing (by its metadata tag), and the
replies of an incident are in order (``soak_harness.judge``). The counts are printed (``-s``)
and are the assertion's message; the timeline and each process's log stay in ``tmp_path``.

The orgs check every second: the product's minimum interval is 5 minutes
(``storage.orgs.MIN_CHECK_INTERVAL_SECONDS``), so the soak writes 1 s into the database itself,
past the validation (a stored value is used as it is). Seeded (the plan; kills are drawn as
each process comes up). About 60 s on a quiet machine; the chaos phase runs until the soak has
done enough (``LEAST``), 35 to 55 s, so a loaded machine that starts processes slowly gets
longer, not a weaker proof.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from afas.sandbox.server import SandboxServer
from storage.repository import add_org
from tests.conftest import PG_HOST, PG_PORT
from tests.reliability.conftest import BOT_TOKEN, SIGNING_SECRET, assert_slack_clean
from tests.reliability.soak_harness import (
    Outage,
    Replica,
    SoakDatabase,
    SoakOrg,
    SoakRun,
    SoakSlack,
    Timeline,
    chaos_plan,
    judge,
    pace,
    soak_orgs,
    soak_scenario,
)

pytestmark = pytest.mark.postgres

SEED = 20261201
ORGS = 10
#: The chaos phase lasts until the soak has done enough (see ``enough``), 35 to 55 s.
CHAOS_SECONDS = (35.0, 55.0)
#: What the soak must have done to prove anything.
LEAST = {"sweeps": 100, "kills per replica": 2, "resolved": 3, "cuts": 3, "429s": 1, "500s": 1}
SETTLE_SECONDS = 30.0
OPS_CHANNEL = "C0SOAKOPS"
#: How long the database refuses connections after Slack accepted a call (``SlackDoor``).
OUTAGE_SECONDS = 1.5
#: Each org is checked every second; two bad checks open an incident, one good one closes it;
#: an open incident nobody acknowledged is reminded every 5.4 s (a reply in its thread).
SERVE_SETTINGS = {
    "AFASBOT_SCHEDULER_TICK_SECONDS": "0.2",
    "AFASBOT_OUTBOX_TICK_SECONDS": "0.2",
    "AFASBOT_CHECK_LEASE_SECONDS": "5",
    "AFASBOT_ALERT_REMIND_HOURS": "0.0015",
    "AFASBOT_AFAS_RETRIES": "0",
    "AFASBOT_AFAS_TIMEOUT_SECONDS": "5",
    "AFASBOT_DRIFT_CHECK_HOURS": "0",
    "AFASBOT_LOG_FORMAT": "json",
    "AFASBOT_LOG_LEVEL": "INFO",
}


def serve_env(database_url: str, key: str, url_template: str, slack_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AFASBOT_"))}
    return {
        **base,
        "AFASBOT_DATABASE_URL": database_url,
        "AFASBOT_ENCRYPTION_KEYS": key,
        "AFASBOT_ENCRYPTION_KEY_FILE": "",
        "AFASBOT_AFAS_URL_TEMPLATE": url_template,
        "AFASBOT_SLACK_DEFAULT_ALERT_CHANNEL": OPS_CHANNEL,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        **SERVE_SETTINGS,
    }


def register(runtime, scenario, orgs: list[SoakOrg]) -> None:
    with runtime.session() as session:
        for org in orgs:
            env = scenario.by_name(org.env)
            add_org(
                session,
                key=org.key,
                display_name=f"{org.key} BV",
                environment=env.environment(),
                token=env.token(),
                cipher=runtime.require_cipher(),
                actor="soak",
                alert_channel=org.channel,
            )
    runtime.close()


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.1)


def test_two_replicas_under_faults_send_every_alert_and_edit_exactly_once(
    postgres_db, make_runtime, key, secrets, tmp_path
) -> None:
    rng = random.Random(SEED)
    scenario = soak_scenario(ORGS)
    orgs = soak_orgs(scenario)
    secrets.add_scenario(scenario)
    timeline = Timeline()
    channels = [org.channel for org in orgs] + [OPS_CHANNEL]
    replicas: dict[str, Replica] = {}
    db = SoakDatabase(postgres_db.name, PG_HOST, PG_PORT)
    outage = Outage(
        postgres_db.name,
        PG_HOST,
        PG_PORT,
        spare=db.backend_pid,
        seconds=OUTAGE_SECONDS,
        timeline=timeline,
    )
    with (
        SandboxServer(scenario) as sandbox,
        SoakSlack(
            bot_token=BOT_TOKEN,
            channels=channels,
            pids=lambda: [pid for r in list(replicas.values()) if (pid := r.pid()) is not None],
            on_outage=outage.begin,
            timeline=timeline,
        ) as slack,
    ):
        register(make_runtime(postgres_db.url, sandbox.url_template), scenario, orgs)
        # Past the 5-minute minimum (see the module docstring): every second, due now.
        db.execute("UPDATE orgs SET check_interval_seconds = 1, next_check_at = now()")
        env = serve_env(postgres_db.url, key, sandbox.url_template, slack.url)
        replicas.update({name: Replica(name, env, tmp_path, timeline) for name in ("a", "b")})
        soak = SoakRun(
            scenario=scenario,
            orgs=orgs,
            slack=slack,
            db=db,
            outage=outage,
            replicas=replicas,
            timeline=timeline,
            rng=rng,
        )
        try:
            for replica in replicas.values():
                replica.start()
            wait_until(lambda: all(r.ready() for r in replicas.values()), 40, "both serve ready")
            plan = chaos_plan(
                rng,
                seconds=CHAOS_SECONDS[1],
                orgs=orgs,
                slack_methods=["chat.postMessage", "chat.update", "*"],  # "*": whatever is next
            )
            chaos_began = time.monotonic()

            def enough() -> bool:
                kills = min(r.kills for r in replicas.values())
                return (
                    kills >= LEAST["kills per replica"]
                    and db.sweeps() >= LEAST["sweeps"]
                    and db.resolved_incidents() >= LEAST["resolved"]
                )

            soak.chaos(plan, least=CHAOS_SECONDS[0], most=CHAOS_SECONDS[1], enough=enough)
            settle_began = time.monotonic()
            settled = soak.settle(SETTLE_SECONDS)
            settle_took = time.monotonic() - settle_began
            exits = {name: replica.stop() for name, replica in replicas.items()}
            state = db.snapshot()
        finally:
            for replica in replicas.values():
                if replica.alive():
                    replica.kill()
            outage.close()
            db.close()
            timeline.write(tmp_path / "soak-timeline.txt")
        counts = {
            "seed": SEED,
            "orgs": len(orgs),
            "chaos s": round(settle_began - chaos_began, 1),
            "settle s": round(settle_took, 1),
            "kills": sum(r.kills for r in replicas.values()),
            "kills per replica": {n: r.kills for n, r in replicas.items()},
            "restarts": sum(len(r.incarnations) - 1 for r in replicas.values()),
            "failed starts": sum(len(r.start_failures) for r in replicas.values()),
            "slowest start s": round(
                max(
                    (i.up - i.started for r in replicas.values() for i in r.incarnations if i.up),
                    default=0.0,
                ),
                1,
            ),
            **soak.counts,
            "database away": outage.begun,
            "dead leases run out": soak.leases.dead_expired,
            "stale leases run out": soak.leases.stale_expired,
        }
        counts["terminated connections"] += outage.cut
        verdict = judge(state, slack.fake, timeline=timeline, door=slack.door.events, counts=counts)
        shortest = pace(slack.fake)
        verdict.counts["shortest gap per channel s"] = (
            round(shortest, 3) if shortest is not None else None
        )
        problems = verdict.problems
        if not settled:
            problems.insert(0, f"did not settle within {SETTLE_SECONDS:g} s")
        for name, replica in replicas.items():
            if replica.crashes:
                problems.append(f"replica {name} crashed once up: (pid, exit) {replica.crashes}")
            if exits[name] != 0:
                problems.append(
                    f"replica {name} did not stop cleanly on SIGTERM (exit {exits[name]})"
                )
        # The soak proves something only if the faults happened (a check of the harness).
        c = {**verdict.counts, "kills per replica": min(r.kills for r in replicas.values())}
        for what, least in LEAST.items():
            if c[what] < least:
                problems.append(f"only {c[what]} {what} (the soak needs at least {least})")
        leaks = secrets.leaks("".join(r.log_text() for r in replicas.values()))
        if leaks:
            problems.append(f"secrets in the replicas' logs: {', '.join(leaks)}")
        assert_slack_clean(slack.fake, secrets)
    print("\n" + verdict.report() if problems else f"\nsoak: {verdict.counts_line()}")
    assert not problems, verdict.report()
