"""People first (afas/lanes.py): a person's request does not queue behind the sweep's, and
people's slots go round-robin per person."""

from __future__ import annotations

import asyncio
import time

from afas.client import AfasClient
from afas.lanes import SWEEP, Lanes, current_lane, person_lane, sweep_lane
from afas.sandbox.scenario import Scenario, generate_environments
from afas.sandbox.server import SandboxServer


async def acquire_as(lanes: Lanes, who: str) -> str:
    if who == SWEEP:
        with sweep_lane():
            return await lanes.acquire()
    with person_lane(who):
        return await lanes.acquire()


async def test_freed_slots_go_round_robin_per_person() -> None:
    lanes = Lanes(2, 1)
    for _ in range(2):
        await acquire_as(lanes, "a")  # a holds both slots (the sweep is idle)
    order: list[str] = []

    async def wait(who: str, label: str) -> None:
        await acquire_as(lanes, who)
        order.append(label)

    waiters = [
        asyncio.create_task(wait("a", "a2")),
        asyncio.create_task(wait("a", "a3")),
        asyncio.create_task(wait("a", "a4")),
        asyncio.create_task(wait("b", "b1")),
    ]
    await asyncio.sleep(0)
    for _ in waiters:
        lanes.release("a")
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == ["a2", "b1", "a3", "a4"]  # b's one request is not behind a's burst


async def test_people_may_use_every_free_slot_the_sweep_only_its_share() -> None:
    lanes = Lanes(4, 1)
    for _ in range(3):
        assert await acquire_as(lanes, SWEEP) == SWEEP
    fourth = asyncio.create_task(acquire_as(lanes, SWEEP))
    await asyncio.sleep(0)
    assert not fourth.done() and lanes.free == 1  # the sweep may hold 3 of 4
    assert await asyncio.wait_for(acquire_as(lanes, "U0ANNA"), 1) == "U0ANNA"
    lanes.release("U0ANNA")
    await asyncio.sleep(0)
    assert not fourth.done() and lanes.free == 1  # a person's freed slot is not the sweep's
    lanes.release(SWEEP)
    await asyncio.wait_for(fourth, 1)  # one of its own is
    assert lanes.free == 1


async def test_a_freed_slot_goes_to_a_waiting_person_before_the_sweep() -> None:
    lanes = Lanes(2, 1)
    await acquire_as(lanes, SWEEP)
    await acquire_as(lanes, "U0ANNA")
    sweep = asyncio.create_task(acquire_as(lanes, SWEEP))
    person = asyncio.create_task(acquire_as(lanes, "U0BOB"))
    await asyncio.sleep(0)
    lanes.release("U0ANNA")
    await asyncio.sleep(0)
    assert person.done() and not sweep.done()
    lanes.release(SWEEP)
    await asyncio.wait_for(sweep, 1)
    assert lanes.free == 0


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    lanes = Lanes(2, 1)
    for _ in range(2):
        await acquire_as(lanes, "a")
    gone = asyncio.create_task(acquire_as(lanes, "b"))
    stays = asyncio.create_task(acquire_as(lanes, "c"))
    await asyncio.sleep(0)
    gone.cancel()
    lanes.release("a")
    await asyncio.wait_for(stays, 1)
    assert gone.cancelled() and lanes.free == 0
    lanes.release("a")
    lanes.release("c")
    assert lanes.free == 2


async def test_the_lane_follows_the_context_into_tasks() -> None:
    async def lane() -> str:
        return current_lane()

    with sweep_lane():
        assert await asyncio.create_task(lane()) == SWEEP
    with person_lane("U0ANNA"):
        assert await asyncio.create_task(lane()) == "U0ANNA"
    assert Lanes(8, 100).people_slots == 7  # never all of them: the sweep keeps one


async def timed_person_request(people_slots: int) -> float:
    """The seconds a person's request takes while the sweep keeps every sweep slot busy."""
    envs = generate_environments(12, mix="healthy", latency_ms=500)
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        async with AfasClient(
            url_template=sandbox.url_template,
            per_environment_limit=4,
            total_limit=6,
            people_slots=people_slots,
            retries=0,
        ) as client:

            async def sweep_request(env) -> None:
                with sweep_lane():
                    await client.profit_version(env.environment(), env.token())

            sweeping = [
                asyncio.create_task(sweep_request(env)) for env in envs[1:] for _ in range(4)
            ]
            await asyncio.sleep(0.1)  # the sweep holds every slot it may
            person = envs[0]
            started = time.monotonic()
            with person_lane("U0ANNA"):
                outcome = await client.profit_version(person.environment(), person.token())
            took = time.monotonic() - started
            assert outcome.ok
            await asyncio.gather(*sweeping)
    return took


async def test_a_persons_request_does_not_wait_for_the_sweep() -> None:
    with_lane = await timed_person_request(people_slots=2)
    without = await timed_person_request(people_slots=0)
    # 44 sweep requests of 0.5 s on 4 (or 6) slots take ~4-6 s; the person's needs one round.
    # Without a reserve it goes first when a slot frees (at 0.5 s; it asked at 0.1 s).
    assert with_lane < 0.8, with_lane
    assert without >= 0.85, without


async def test_a_burst_of_people_has_every_slot_the_sweep_leaves_free() -> None:
    """With the sweep idle, people are not held to their reserve: 8 requests on 8 slots take
    one round, where 2 reserved slots would take four."""
    envs = generate_environments(8, mix="healthy", latency_ms=400)
    with SandboxServer(Scenario(environments=envs)) as sandbox:
        async with AfasClient(
            url_template=sandbox.url_template,
            per_environment_limit=4,
            total_limit=8,
            people_slots=2,
            retries=0,
        ) as client:

            async def person(index: int, env) -> bool:
                with person_lane(f"U{index}"):
                    return (await client.profit_version(env.environment(), env.token())).ok

            started = time.monotonic()
            answers = await asyncio.gather(*(person(i, env) for i, env in enumerate(envs)))
            took = time.monotonic() - started
    assert all(answers)
    assert took < 0.8 * 2, took  # one round (0.4 s), not four (1.6 s)
