"""Running the check for one environment and token: the probe ladder, then the diagnosis.

Step 1 (concurrent): ``/profitversion``, ``/metainfo`` and each special connector's endpoint.
These are independent: together they say whether AFAS answers, whether the token and the App
Connector are good, and which connectors the App Connector holds (afas-api.md §9).
Step 2, deep mode only, when the token was accepted: each required GetConnector that is listed
is run with ``take=1`` and described with ``/metainfo/get``, each listed UpdateConnector with
``/metainfo/update``, all concurrently (bounded by the client's per-environment limit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from afas.client import AfasClient
from afas.diagnosis import ProbeResults, diagnose, parse_metainfo
from afas.environments import AfasEnvironment
from afas.outcomes import AfasOutcome
from afas.profile import Catalogue, Profile, RequirementKind, load_catalogue, load_profile
from afas.report import CheckReport
from afas.tokens import AfasToken

VERSION_ENDPOINT = "/profitversion"

#: ``asyncio.gather``, or the sequential baseline: awaitables in, their results in order out.
Gather = Callable[..., Awaitable[list[Any]]]


async def run_check(
    client: AfasClient,
    env: AfasEnvironment,
    token: AfasToken,
    *,
    profile: Profile | None = None,
    catalogue: Catalogue | None = None,
    deep: bool = False,
    now: datetime | None = None,
    expiry_warning: timedelta = timedelta(days=14),
    sequential: bool = False,
) -> CheckReport:
    """Check one environment against the profile and return the report.

    ``sequential`` makes the same requests one after another: the baseline of
    ``bench/check_latency.py``, never what the bot does.
    """
    profile = profile or load_profile()
    catalogue = catalogue or load_catalogue()
    started_at = now or datetime.now(UTC)
    clock = time.perf_counter()
    gather: Gather = _one_after_another if sequential else asyncio.gather
    probes = await _probe(client, env, token, profile, deep, gather)
    diagnosis = diagnose(
        profile, catalogue, env, probes, now=started_at, deep=deep, expiry_warning=expiry_warning
    )
    return CheckReport(
        environment=env.label,
        env_number=env.number,
        env_kind=env.kind.value,
        token_fingerprint=token.fingerprint,
        profile=profile.name,
        deep=deep,
        started_at=started_at,
        duration_ms=(time.perf_counter() - clock) * 1000,
        overall=diagnosis.overall,
        headline=diagnosis.headline,
        items=diagnosis.items,
        requests=sum(outcome.attempts for outcome in probes.all()),
        facts=diagnosis.facts,
    )


async def _probe(
    client: AfasClient,
    env: AfasEnvironment,
    token: AfasToken,
    profile: Profile,
    deep: bool,
    gather: Gather,
) -> ProbeResults:
    specials = {
        r.id: r.endpoint
        for r in profile.of_kind(RequirementKind.SPECIAL_CONNECTOR)
        if r.endpoint and r.endpoint != VERSION_ENDPOINT
    }
    version_ids = [
        r.id
        for r in profile.of_kind(RequirementKind.SPECIAL_CONNECTOR)
        if r.endpoint == VERSION_ENDPOINT
    ]
    version, metainfo, *special_outcomes = await gather(
        client.profit_version(env, token),
        client.metainfo(env, token),
        *(client.probe_special_endpoint(env, token, path) for path in specials.values()),
    )
    special = dict(zip(specials, special_outcomes, strict=True))
    special.update({rid: version for rid in version_ids})
    probes = ProbeResults(profit_version=version, metainfo=metainfo, special=special)
    meta = parse_metainfo(metainfo.data) if metainfo.ok else None
    if not deep or meta is None:
        return probes

    gets = [
        r.connector
        for r in profile.of_kind(RequirementKind.GET_CONNECTOR)
        if r.connector in meta.get_connectors
    ]
    updates = [
        r.connector
        for r in profile.of_kind(RequirementKind.UPDATE_CONNECTOR)
        if r.connector in meta.update_connectors
    ]
    rows, get_meta, update_meta = await gather(
        _each(gets, lambda c: client.get_connector(env, token, c, skip=0, take=1), gather),
        _each(gets, lambda c: client.metainfo_get(env, token, c), gather),
        _each(updates, lambda c: client.metainfo_update(env, token, c), gather),
    )
    return ProbeResults(
        profit_version=version,
        metainfo=metainfo,
        special=special,
        rows=rows,
        get_meta=get_meta,
        update_meta=update_meta,
    )


async def _each(
    ids: list[str], call: Callable[[str], Awaitable[AfasOutcome]], gather: Gather
) -> dict[str, AfasOutcome]:
    calls: list[Awaitable[AfasOutcome]] = [call(connector_id) for connector_id in ids]
    return dict(zip(ids, await gather(*calls), strict=True))


async def _one_after_another(*calls: Awaitable[Any]) -> list[Any]:
    return [await call for call in calls]
