"""Checking registered orgs: decrypt the token for one call, run the check, record the run.

Used by the CLI (``afasbot check KEY``, the demo) and, later, by the Slack commands and the
scheduler, so every path records checks the same way.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlmodel import Session

from afas.check import run_check
from afas.client import AfasClient
from afas.report import CheckReport, ItemStatus
from bot.runtime import Runtime
from storage.models import CheckTrigger, Org
from storage.repository import add_audit_event, decrypt_token, get_org, record_check_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrgCheck:
    org_key: str
    display_name: str
    report: CheckReport


def summary_line(report: CheckReport) -> str:
    """A short English summary for the check run row (no secrets: counts and ids only)."""
    counts = report.counts()
    failing = [i.requirement_id for i in report.items if i.status is ItemStatus.FAILING]
    text = f"{report.overall.value}: {counts['failing']} failing, {counts['warning']} warnings"
    if failing:
        text += " (" + ", ".join(failing[:5]) + ("…" if len(failing) > 5 else "") + ")"
    return text


def record_report(session: Session, org: Org, report: CheckReport, trigger: CheckTrigger) -> None:
    """Store a check report as a check run (and the org's current state)."""
    record_check_run(
        session,
        org,
        trigger=trigger,
        started_at=report.started_at,
        duration_ms=int(report.duration_ms),
        overall_state=report.overall.value,
        items=[item.to_dict() for item in report.items],
        summary=summary_line(report),
    )


async def check_org(
    runtime: Runtime,
    client: AfasClient,
    key: str,
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
) -> OrgCheck:
    """Check one registered org and record the run (and, for a person's check, an audit event).

    The database work runs in worker threads; no session is held across the AFAS calls.
    """
    org = await asyncio.to_thread(_load_org, runtime, key)
    report = await run_check(
        client,
        org.environment,
        decrypt_token(org, runtime.require_cipher()),  # decrypted for this call only
        profile=runtime.profile,
        deep=deep,
        expiry_warning=runtime.expiry_warning,
    )
    await asyncio.to_thread(_record, runtime, org.key, report, trigger, actor, deep)
    log.info("checked org %s: %s", org.key, report.overall.value)
    return OrgCheck(org.key, org.display_name, report)


def _load_org(runtime: Runtime, key: str) -> Org:
    with runtime.session() as session:
        return get_org(session, key)


def _record(
    runtime: Runtime,
    key: str,
    report: CheckReport,
    trigger: CheckTrigger,
    actor: str | None,
    deep: bool,
) -> None:
    with runtime.session() as session:
        record_report(session, get_org(session, key), report, trigger)
        if actor is not None:
            add_audit_event(
                session,
                actor=actor,
                action="org.checked",
                org_key=key,
                details={"trigger": trigger.value, "deep": deep, "state": report.overall.value},
            )


async def check_orgs(
    runtime: Runtime,
    keys: list[str],
    *,
    trigger: CheckTrigger,
    actor: str | None = None,
    deep: bool = False,
) -> list[OrgCheck]:
    """Check several orgs concurrently (at most ``check_concurrency`` at a time)."""
    limit = asyncio.Semaphore(runtime.settings.check_concurrency)
    async with runtime.afas_client() as client:

        async def one(key: str) -> OrgCheck:
            async with limit:
                return await check_org(
                    runtime, client, key, trigger=trigger, actor=actor, deep=deep
                )

        return list(await asyncio.gather(*(one(key) for key in keys)))
