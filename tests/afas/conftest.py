from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from afas.client import AfasClient
from afas.sandbox.scenario import Scenario, default_scenario
from afas.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return default_scenario()


@pytest.fixture(scope="session")
def sandbox(scenario: Scenario) -> Iterator[SandboxServer]:
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AfasClient]:
    async with AfasClient(url_template=sandbox.url_template, timeout=10.0) as afas_client:
        yield afas_client
