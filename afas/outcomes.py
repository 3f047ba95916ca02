"""Every answer from AFAS, turned into one typed outcome (afas-api.md §7, §9)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OutcomeKind(StrEnum):
    OK = "ok"
    TOKEN_REJECTED = "token_rejected"  # 401 on the token itself
    APP_CONNECTOR_BLOCKED = "app_connector_blocked"  # where AFAS says so in the answer
    IP_NOT_ALLOWED = "ip_not_allowed"  # 403
    CONNECTOR_NOT_AUTHORISED = (
        "connector_not_authorised"  # 401 on a connector, or 500 "niet ondersteund"
    )
    DEFINITION_BLOCKED = "definition_blocked"  # 500 "GetConnector (definitie) is geblokkeerd"
    NOT_FOUND = "not_found"  # 404: unknown route, query too long, file missing
    MAINTENANCE = "maintenance"  # 503, with retry_after
    FUNCTIONAL_ERROR = "functional_error"  # 500 with externalMessage
    TRANSPORT_ERROR = "transport_error"  # no HTTP answer: DNS, TLS, connect, timeout, reset
    MALFORMED_ANSWER = "malformed_answer"  # an answer we cannot read


#: Outcomes that say AFAS (or the way to it) is not answering normally, not that the setup is wrong.
AFAS_SIDE = frozenset(
    {OutcomeKind.MAINTENANCE, OutcomeKind.TRANSPORT_ERROR, OutcomeKind.MALFORMED_ANSWER}
)


@dataclass(frozen=True, slots=True)
class AfasOutcome:
    """What one request to AFAS came to. Never holds the token or the Authorization header."""

    kind: OutcomeKind
    status: int | None = None
    message: str | None = None  # AFAS's externalMessage, or a short description of our own
    error_number: int | None = None
    profit_log_reference: str | None = None
    retry_after: float | None = None  # seconds, from a 503
    trace_id: str | None = None  # X-Trace-Identifier
    data: Any = None  # the parsed JSON body of a successful answer
    elapsed_ms: float = 0.0
    attempts: int = 1
    reason: str | None = None  # for transport errors: dns, tls, reset, timeout, connect, ...

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.OK

    @property
    def afas_side(self) -> bool:
        return self.kind in AFAS_SIDE

    def summary(self) -> str:
        """One line for people: status, AFAS's message and log reference, no data."""
        parts = [self.kind.value]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.message:
            parts.append(self.message)
        if self.profit_log_reference:
            parts.append(f"profitLogReference {self.profit_log_reference}")
        return ": ".join(parts[:1]) + (" (" + "; ".join(parts[1:]) + ")" if parts[1:] else "")
