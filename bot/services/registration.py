"""Registering an org: validate, verify the token live against AFAS, then store it encrypted;
and rotating a registered org's token (``rotate_token``) the same way.

Nothing is stored unless AFAS accepts the token. A setup that is incomplete (connectors
missing) is still registered: that is what the helpdesk then fixes, with the report in hand.
The registration's check is recorded like any other (``record_check``), and the org's first
scheduled check falls on its grid, at least half an interval away, not at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from afas.check import run_check
from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.report import CheckReport
from afas.tokens import AfasToken
from bot.runtime import Runtime
from bot.schedule import next_check_at
from bot.services.checks import record_check
from storage.errors import DuplicateOrgError, UnknownOrgError
from storage.models import CheckTrigger
from storage.orgs import effective_interval, validate_settings
from storage.repository import (
    add_org,
    find_org,
    get_org,
    normalize_org_key,
    replace_token,
    schedule_check,
)


class TokenNotVerified(Exception):
    """AFAS did not accept the token (or could not be asked): nothing was stored."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        self.access = report.access
        super().__init__(report.headline.en)


@dataclass(frozen=True)
class Registration:
    org_key: str
    replaced: bool
    previous_fingerprint: str | None
    report: CheckReport


@dataclass(frozen=True)
class NewOrg:
    """What the person gave (the token goes nowhere but into the cipher and AFAS)."""

    key: str
    display_name: str
    environment: AfasEnvironment
    token: AfasToken
    alert_channel: str | None = None
    cs_owner: str | None = None
    notes: str = ""
    check_interval_seconds: int | None = None  # None: the default (the setting)

    def __repr__(self) -> str:
        return f"NewOrg(key={self.key!r}, environment={self.environment.label!r})"


async def register_org(
    runtime: Runtime,
    client: AfasClient,
    *,
    key: str,
    display_name: str,
    environment: AfasEnvironment,
    token: AfasToken,
    actor: str,
    alert_channel: str | None = None,
    cs_owner: str | None = None,
    notes: str = "",
    check_interval_seconds: int | None = None,
    replace: bool = False,
) -> Registration:
    """Register (or, with ``replace``, re-register: rotate the token of) an org.

    Without ``check_interval_seconds`` the org follows the default interval (the setting).
    Raises ``InvalidOrgError`` before calling AFAS; ``DuplicateOrgError`` for a known key
    without ``replace`` and ``UnknownOrgError`` for an unknown one with it;
    ``TokenNotVerified`` when AFAS does not accept the token.
    """
    runtime.require_cipher()
    org_key = normalize_org_key(key)
    invalid = validate_settings(
        display_name=display_name,
        alert_channel=alert_channel,
        cs_owner=cs_owner,
        notes=notes,
        check_interval_seconds=check_interval_seconds,
    )
    if invalid:  # AFAS is not asked about an org that could not be stored
        raise next(iter(invalid.values()))
    exists = await asyncio.to_thread(_exists, runtime, org_key)
    if exists and not replace:
        raise DuplicateOrgError(org_key)
    if replace and not exists:
        raise UnknownOrgError(org_key, [], known=-1)
    report = await run_check(
        client,
        environment,
        token,
        profile=runtime.profile,
        expiry_warning=runtime.expiry_warning,
    )
    if not report.token_accepted:
        raise TokenNotVerified(report)
    org = NewOrg(
        org_key,
        display_name,
        environment,
        token,
        alert_channel,
        cs_owner,
        notes,
        check_interval_seconds,
    )
    return await asyncio.to_thread(_store, runtime, org, actor, replace, report)


def _exists(runtime: Runtime, key: str) -> bool:
    with runtime.session() as session:
        return find_org(session, key) is not None


def _store(
    runtime: Runtime, new: NewOrg, actor: str, replace: bool, report: CheckReport
) -> Registration:
    now = datetime.now(UTC)
    with runtime.session() as session:
        registration = add_org(
            session,
            key=new.key,
            display_name=new.display_name,
            environment=new.environment,
            token=new.token,
            cipher=runtime.require_cipher(),
            actor=actor,
            alert_channel=new.alert_channel,
            cs_owner=new.cs_owner,
            notes=new.notes,
            check_interval_seconds=new.check_interval_seconds,
            replace_token=replace,
            now=now,
        )
        org = registration.org
        record_check(session, org, report, CheckTrigger.REGISTRATION)
        interval = effective_interval(org, runtime.settings)
        schedule_check(session, org.id, at=next_check_at(org.id, interval, now))
    return Registration(new.key, registration.replaced, registration.previous_fingerprint, report)


# --- rotation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    """A token replaced: the fingerprints (never a token) and what the check found."""

    org_key: str
    display_name: str
    environment: AfasEnvironment
    previous_fingerprint: str
    fingerprint: str
    report: CheckReport


async def rotate_token(
    runtime: Runtime, client: AfasClient, *, key: str, token: AfasToken, actor: str
) -> Rotation:
    """Replace a registered org's token, after AFAS accepted the new one.

    The token is tried on the org's own environment as stored (never one given with it), so
    it goes nowhere else. ``UnknownOrgError`` for an unknown key (also when the org is removed
    while AFAS is asked); ``TokenNotVerified`` when AFAS does not accept it: then nothing
    changed. The old ciphertext is destroyed when the replacement commits
    (``storage.orgs.replace_token``); the check is recorded like a registration's, and the
    next scheduled one falls on the org's grid.
    """
    runtime.require_cipher()
    org_key, environment = await asyncio.to_thread(_environment_of, runtime, key)
    report = await run_check(
        client,
        environment,
        token,
        profile=runtime.profile,
        expiry_warning=runtime.expiry_warning,
    )
    if not report.token_accepted:
        raise TokenNotVerified(report)
    return await asyncio.to_thread(
        _store_rotation, runtime, org_key, environment, token, actor, report
    )


def _environment_of(runtime: Runtime, key: str) -> tuple[str, AfasEnvironment]:
    with runtime.session() as session:
        org = get_org(session, key)
        return org.key, org.environment


def _store_rotation(
    runtime: Runtime,
    key: str,
    environment: AfasEnvironment,
    token: AfasToken,
    actor: str,
    report: CheckReport,
) -> Rotation:
    now = datetime.now(UTC)
    with runtime.session() as session:
        replaced = replace_token(
            session, key, token=token, cipher=runtime.require_cipher(), actor=actor, now=now
        )
        org = replaced.org
        record_check(session, org, report, CheckTrigger.REGISTRATION)
        interval = effective_interval(org, runtime.settings)
        schedule_check(session, org.id, at=next_check_at(org.id, interval, now))
        return Rotation(
            org.key,
            org.display_name,
            environment,
            replaced.previous_fingerprint or "",
            org.token_fingerprint,
            report,
        )
