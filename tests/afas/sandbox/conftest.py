"""Fixtures: the built-in scenario served over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from afas.sandbox.server import SandboxServer

from .helpers import Afas


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def afas(sandbox: SandboxServer, http: httpx.Client) -> Afas:
    return Afas(sandbox, http)
