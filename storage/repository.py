"""The storage API the rest of afasbot calls, in one place.

Every function takes a ``Session`` (from ``storage.db.session_scope``) and works in its
transaction; it flushes but does not commit, so a change and its audit event commit together
when the caller's scope ends. Exceptions, because their effect must be visible to other
replicas at once: ``claim_due_orgs`` and ``claim_outbox`` commit; ``rotate_tokens`` commits per
batch. State-changing functions used by people take an ``actor`` and write an audit event.
"""

from storage.audit import add_audit_event, audit_events
from storage.checks import (
    claim_due_orgs,
    finish_org_check,
    org_history,
    record_check_run,
    release_leases,
    schedule_check,
)
from storage.incidents import (
    acknowledge_incident,
    close_incident,
    get_incident,
    open_incident,
    open_incidents,
    org_incidents,
    set_incident_message,
)
from storage.keys import (
    KeyCheck,
    RotationProgress,
    RotationResult,
    rotate_tokens,
    verify_keys_against_database,
)
from storage.orgs import (
    DEFAULT_CHECK_INTERVAL_SECONDS,
    UNSET,
    OrgRegistration,
    RemovedOrg,
    add_org,
    decrypt_token,
    find_org,
    get_org,
    list_orgs,
    mute_org,
    normalize_org_key,
    remove_org,
    replace_token,
    suggest_keys,
    update_org,
)
from storage.outbox import (
    OutboxEnqueued,
    claim_outbox,
    enqueue_outbox,
    mark_outbox_failed,
    mark_outbox_sent,
    pending_outbox,
)

__all__ = [
    "DEFAULT_CHECK_INTERVAL_SECONDS",
    "UNSET",
    "KeyCheck",
    "OrgRegistration",
    "OutboxEnqueued",
    "RemovedOrg",
    "RotationProgress",
    "RotationResult",
    "acknowledge_incident",
    "add_audit_event",
    "add_org",
    "audit_events",
    "claim_due_orgs",
    "claim_outbox",
    "close_incident",
    "decrypt_token",
    "enqueue_outbox",
    "find_org",
    "finish_org_check",
    "get_incident",
    "get_org",
    "list_orgs",
    "mark_outbox_failed",
    "mark_outbox_sent",
    "mute_org",
    "normalize_org_key",
    "open_incident",
    "open_incidents",
    "org_history",
    "org_incidents",
    "pending_outbox",
    "record_check_run",
    "release_leases",
    "remove_org",
    "replace_token",
    "rotate_tokens",
    "schedule_check",
    "set_incident_message",
    "suggest_keys",
    "update_org",
    "verify_keys_against_database",
]
