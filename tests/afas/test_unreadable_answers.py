"""One unreadable answer, over real HTTP against the sandbox: a cut-off ``/metainfo`` leaves
unknown only what depended on it, and the report says which answer it was."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from afas.check import run_check
from afas.client import AfasClient
from afas.report import ItemStatus, OverallState
from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer

ENVIRONMENTS = [
    {
        "name": "cut-off-metainfo",
        "number": 20001,
        "fault": "garbage",
        "garbage_body": "truncated-json",
        "fault_paths": ["/metainfo"],
    },
    {
        "name": "cut-off-metainfo-no-subject",
        "number": 20002,
        "fault": "garbage",
        "garbage_body": "truncated-json",
        "fault_paths": ["/metainfo"],
        "app_connector": {
            "special_connectors": ["AppConnectorVersion", "AppConnectorReport", "GetXMLSchema"]
        },
    },
]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate({"environments": ENVIRONMENTS})


@pytest.fixture(scope="module")
def sandbox(scenario: Scenario) -> Iterator[SandboxServer]:
    with SandboxServer(scenario) as server:
        yield server


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[AfasClient]:
    async with AfasClient(url_template=sandbox.url_template, timeout=10.0) as afas_client:
        yield afas_client


async def test_a_cut_off_metainfo_keeps_what_other_answers_showed(client, scenario) -> None:
    env = scenario.by_name("cut-off-metainfo")
    report = await run_check(client, env.environment(), env.token())
    assert report.overall is OverallState.UNREACHABLE
    assert report.item("token").status is ItemStatus.OK
    for special in ("AppConnectorVersion", "AppConnectorSubject", "AppConnectorReport"):
        assert report.item(f"special.{special}").status is ItemStatus.OK, special
    assert report.item("get.SBQ_BTW").status is ItemStatus.UNKNOWN
    assert "/metainfo" in report.item("get.SBQ_BTW").found.en
    assert "/metainfo" in report.headline.en and "/metainfo" in report.headline.nl
    assert report.facts["unanswered"] == ["/metainfo"]


async def test_a_cut_off_metainfo_still_shows_a_missing_special_connector(client, scenario) -> None:
    env = scenario.by_name("cut-off-metainfo-no-subject")
    report = await run_check(client, env.environment(), env.token())
    assert report.item("special.AppConnectorSubject").status is ItemStatus.FAILING
    assert report.item("special.AppConnectorReport").status is ItemStatus.OK
    assert report.overall is OverallState.FAILING
    assert report.headline.en.startswith("Failing: 1 connector is missing from the App Connector")
    assert "/metainfo" in report.headline.en
