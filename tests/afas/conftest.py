from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from afas.client import AfasClient
from afas.sandbox.server import SandboxServer


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AfasClient]:
    async with AfasClient(url_template=sandbox.url_template, timeout=10.0) as afas_client:
        yield afas_client
