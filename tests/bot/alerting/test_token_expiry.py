"""A token about to expire (issue 10 §3): warned at 14, 7 and 1 days, once each, across
replicas; a rotated token starts over; a muted org's warning is held, not dropped. Scheduled
checks against the AFAS sandbox at chosen moments, the outbox, and the Slack fake."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from afas.check import run_check
from afas.sandbox.scenario import derive_token_data, scenario_from_dict
from afas.sandbox.server import SandboxServer
from afas.tokens import AfasToken
from bot.alerting.expiry import TOKEN_EXPIRING, TokenExpiring, expiry_stage, warn_token_expiry
from storage.repository import get_org, replace_token
from tests.bot.alerting.warnings_world import T0, Outbox, World, add_acme, text_of, top_level
from tests.fakes.slack import SlackWebApiFake

EXPIRES = T0 + timedelta(days=15)


@pytest.fixture
def acme_sandbox() -> Iterator[SandboxServer]:
    environment = {
        "name": "acme",
        "number": 40001,
        "token_expiry": EXPIRES.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    with SandboxServer(scenario_from_dict({"environments": [environment]})) as server:
        yield server


@pytest.fixture
def world(make_runtime, acme_sandbox) -> Iterator[World]:
    runtime = make_runtime(acme_sandbox.url_template, afas_retries=0, drift_check_hours=0)
    add_acme(runtime, acme_sandbox)
    with SlackWebApiFake() as slack:
        yield World(runtime, acme_sandbox, slack)


def stages(world) -> list[int]:
    return [TokenExpiring.model_validate(r.payload).stage for r in world.outbox(TOKEN_EXPIRING)]


def before_expiry(days: float = 0, hours: float = 0):
    return EXPIRES - timedelta(days=days, hours=hours)


@pytest.mark.parametrize(
    ("left", "stage"),
    [
        (timedelta(days=15), None),  # outside the 14 days
        (timedelta(days=14, hours=1), None),
        (timedelta(days=14), 14),
        (timedelta(days=13, hours=5), 14),
        (timedelta(days=8), 14),
        (timedelta(days=7, hours=23), 7),  # whole days left, as the check and the message say
        (timedelta(days=7), 7),
        (timedelta(days=6), 7),
        (timedelta(days=1, hours=5), 1),
        (timedelta(hours=20), 1),  # less than a day: the token still works
        (timedelta(0), None),  # expired: the check fails, that is an incident, not a warning
        (-timedelta(days=2), None),
    ],
)
def test_the_stage_is_the_first_of_14_7_1_days_that_has_come(left, stage) -> None:
    assert expiry_stage(left, within=timedelta(days=14)) == stage


def test_a_wider_window_is_a_stage_of_its_own() -> None:
    assert expiry_stage(timedelta(days=20), within=timedelta(days=30)) == 30
    assert expiry_stage(timedelta(days=13), within=timedelta(days=30)) == 14
    assert expiry_stage(timedelta(days=5), within=timedelta(days=5)) == 5


async def test_warned_at_14_7_and_1_days_once_each(world: World) -> None:
    moments = [
        before_expiry(days=15),  # not yet
        before_expiry(days=14),  # stage 14
        before_expiry(days=13, hours=23),
        before_expiry(days=10),
        before_expiry(days=7),  # stage 7
        before_expiry(days=6, hours=12),
        before_expiry(days=3),
        before_expiry(days=1),  # stage 1
        before_expiry(hours=10),
        before_expiry(hours=-1),  # expired: failing, no warning
    ]
    for moment in moments:
        await world.check_at(moment)
    assert stages(world) == [14, 7, 1]
    keys = [r.dedup_key for r in world.outbox(TOKEN_EXPIRING)]
    org, fingerprint, day = world.org().id, world.acme.token().fingerprint, EXPIRES.date()
    assert keys == [f"expiry:{org}:{fingerprint}:{day.isoformat()}:{s}" for s in (14, 7, 1)]

    assert await world.deliver(before_expiry(hours=-1)) == 3
    fourteen, seven, one = top_level(world.slack)
    assert "Acme BV (acme): het AFAS-token verloopt over 14 dagen (2026-12-11)" in text_of(fourteen)
    assert "verloopt over 7 dagen" in text_of(seven)
    assert "verloopt over 1 dag (2026-12-11)" in text_of(one)
    assert "`/afas vervang acme`" in text_of(fourteen)  # what to do
    assert "handleiding §1.2.5" in text_of(fourteen)  # where in the guide
    assert "Gebruikerstokens" in text_of(fourteen)
    assert world.acme.token().reveal_data() not in str(world.slack.calls())  # never the token
    assert await world.deliver(before_expiry(hours=-1)) == 0  # each posted once


async def test_a_token_first_seen_five_days_ahead_is_warned_once(world: World) -> None:
    await world.check_at(before_expiry(days=5))
    await world.check_at(before_expiry(days=4))
    assert stages(world) == [7]
    await world.check_at(before_expiry(hours=12))
    assert stages(world) == [7, 1]


async def test_two_replicas_writing_at_once_write_each_stage_once(
    make_runtime, acme_sandbox
) -> None:
    replicas = [make_runtime(acme_sandbox.url_template, afas_retries=0) for _ in range(2)]
    add_acme(replicas[0], acme_sandbox)
    env = acme_sandbox.scenario.by_name("acme")
    async with replicas[0].afas_client() as afas:
        report = await run_check(afas, env.environment(), env.token(), deep=False)
    written: list[bool] = []

    def write(runtime, moment, start: threading.Barrier) -> None:
        with runtime.session() as session:
            org = get_org(session, "acme")
            start.wait()
            written.append(
                warn_token_expiry(session, org, report, now=moment, within=runtime.expiry_warning)
            )

    for moment in (before_expiry(days=13), before_expiry(days=6), before_expiry(hours=20)):
        for _attempt in range(3):  # each replica checks, and checks again: still once
            start = threading.Barrier(2)
            await asyncio.gather(
                *(asyncio.to_thread(write, runtime, moment, start) for runtime in replicas)
            )
    assert stages(Outbox(replicas[1])) == [14, 7, 1]
    assert written.count(True) == 3 and len(written) == 18


async def test_a_rotated_token_starts_over(world: World) -> None:
    await world.check_at(before_expiry(days=10))
    assert stages(world) == [14]
    # The customer made a new token (it expires later); the helpdesk replaced it.
    new = AfasToken(derive_token_data("acme-new"))
    world.acme.extra_tokens = [new.reveal_data()]
    world.acme.token_expiry = (EXPIRES + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with world.runtime.session() as session:
        replace_token(session, "acme", token=new, cipher=world.runtime.require_cipher(), actor="t")
    await world.check_at(before_expiry(days=9))
    await world.check_at(before_expiry(days=8))
    rows = [TokenExpiring.model_validate(r.payload) for r in world.outbox(TOKEN_EXPIRING)]
    assert [(r.token_fingerprint, r.stage) for r in rows] == [
        (world.acme.token().fingerprint, 14),
        (new.fingerprint, 14),
    ]
    assert rows[1].expires_at == EXPIRES + timedelta(days=3)


async def test_a_muted_orgs_warning_is_held_not_dropped(world: World) -> None:
    world.mute(before_expiry(days=12), now=before_expiry(days=15))
    await world.check_at(before_expiry(days=14))
    await world.check_at(before_expiry(days=13))
    assert stages(world) == []  # held while muted
    await world.check_at(before_expiry(days=11, hours=23))  # the mute has ended
    assert stages(world) == [14]
    assert await world.deliver(before_expiry(days=11, hours=23)) == 1


async def test_a_mute_over_a_stage_gives_the_stage_it_is_in_then(world: World) -> None:
    world.mute(before_expiry(days=5), now=before_expiry(days=15))
    for days in (14, 10, 7, 6):
        await world.check_at(before_expiry(days=days))
    assert stages(world) == []
    await world.check_at(before_expiry(days=4, hours=23))
    assert stages(world) == [7]  # the 14-day warning is past: only the current stage


async def test_an_org_without_a_channel_uses_the_default_one(make_runtime, acme_sandbox) -> None:
    runtime = make_runtime(acme_sandbox.url_template, afas_retries=0)
    add_acme(runtime, acme_sandbox, channel=None)
    with SlackWebApiFake() as slack:
        world = World(runtime, acme_sandbox, slack)
        await world.check_at(before_expiry(days=6))
        assert await world.deliver(before_expiry(days=6)) == 0  # nowhere to post: said in the log
        await world.check_at(before_expiry(hours=6))
        assert await world.deliver(before_expiry(hours=6), default_channel="C0GENERAL") == 1
        (posted,) = top_level(slack, "C0GENERAL")
    assert "binnen een dag" in text_of(posted)
