"""People first (afas/lanes.py): a person's request does not queue behind the sweep's, and
people's slots go round-robin per person."""

from __future__ import annotations

import asyncio
import time

from afas.client import AfasClient
from afas.lanes import SWEEP, FairSlots, Lanes, current_lane, person_lane, sweep_lane
from afas.sandbox.scenario import Scenario, generate_environments
from afas.sandbox.server import SandboxServer


async def test_fair_slots_go_round_robin_per_party() -> None:
    slots = FairSlots(1)
    await slots.acquire("a")  # a holds the one slot
    order: list[str] = []

    async def wait(who: str, label: str) -> None:
        await slots.acquire(who)
        order.append(label)

    waiters = [
        asyncio.create_task(wait("a", "a2")),
        asyncio.create_task(wait("a", "a3")),
        asyncio.create_task(wait("a", "a4")),
        asyncio.create_task(wait("b", "b1")),
    ]
    await asyncio.sleep(0)
    for _ in waiters:
        slots.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == ["a2", "b1", "a3", "a4"]  # b's one request is not behind a's burst


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    slots = FairSlots(1)
    await slots.acquire("a")
    gone = asyncio.create_task(slots.acquire("b"))
    stays = asyncio.create_task(slots.acquire("c"))
    await asyncio.sleep(0)
    gone.cancel()
    slots.release()
    await asyncio.wait_for(stays, 1)
    assert gone.cancelled() and slots.free == 0
    slots.release()
    assert slots.free == 1


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
    envs = generate_environments(12, mix="healthy", latency_ms=300)
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
    # 44 sweep requests of 0.3 s on 4 (or 6) slots take ~2-3 s; the person's needs one round.
    assert with_lane < 0.9, with_lane
    assert without > 1.2, without
