"""Who this process is, for leases (orgs, outbox messages, exports, watches)."""

from __future__ import annotations

import os
import socket
import uuid


def replica_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is new)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
