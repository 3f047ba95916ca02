"""Registering an org: validate, verify the token live against AFAS, then store it encrypted.

Nothing is stored unless AFAS accepts the token. A setup that is incomplete (connectors
missing) is still registered: that is what the helpdesk then fixes, with the report in hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from afas.check import run_check
from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.report import CheckReport
from afas.tokens import AfasToken
from bot.runtime import Runtime
from bot.services.org_checks import record_report
from storage.errors import DuplicateOrgError
from storage.models import CheckTrigger
from storage.repository import add_org, find_org, normalize_org_key

#: The diagnosis's gate when AFAS let us in with this token.
ACCEPTED = "open"


class TokenNotVerified(Exception):
    """AFAS did not accept the token (or could not be asked): nothing was stored."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        self.access = report.facts.get("access")
        super().__init__(report.headline.en)


@dataclass(frozen=True)
class Registration:
    org_key: str
    replaced: bool
    previous_fingerprint: str | None
    report: CheckReport


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
    replace: bool = False,
) -> Registration:
    """Register (or, with ``replace``, re-register: rotate the token of) an org.

    Raises ``InvalidOrgError``/``DuplicateOrgError`` before calling AFAS, ``TokenNotVerified``
    when AFAS does not accept the token.
    """
    cipher = runtime.require_cipher()
    org_key = normalize_org_key(key)
    with runtime.session() as session:
        if find_org(session, org_key) is not None and not replace:
            raise DuplicateOrgError(org_key)
    report = await run_check(
        client,
        environment,
        token,
        profile=runtime.profile,
        expiry_warning=runtime.expiry_warning,
    )
    if report.facts.get("access") != ACCEPTED:
        raise TokenNotVerified(report)
    with runtime.session() as session:
        registration = add_org(
            session,
            key=org_key,
            display_name=display_name,
            environment=environment,
            token=token,
            cipher=cipher,
            actor=actor,
            alert_channel=alert_channel,
            cs_owner=cs_owner,
            notes=notes,
            replace_token=replace,
        )
        record_report(session, registration.org, report, CheckTrigger.REGISTRATION)
    return Registration(org_key, registration.replaced, registration.previous_fingerprint, report)
