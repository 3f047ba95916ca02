"""Routing, AFAS's response headers, the server helpers and ``python -m afas.sandbox``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from afas.sandbox import describe, generate_environments
from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer

from .helpers import Afas, assert_empty, custom_afas


def test_url_template_and_port(sandbox: SandboxServer) -> None:
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/\{host\}/\{env\}/ProfitRestServices", sandbox.url_template
    )
    assert str(sandbox.port) in sandbox.url_template
    assert sandbox.base_url("healthy").endswith("/rest/10001/ProfitRestServices")


@pytest.mark.parametrize(
    "path",
    [
        "/rest/10001/profitrestservices/profitversion",
        "/rest/10001/ProfitRestServices/ProfitVersion",
        "/REST/10001/PROFITRESTSERVICES/PROFITVERSION",
    ],
)
def test_endpoint_paths_are_case_insensitive(afas: Afas, path: str) -> None:
    url = f"http://127.0.0.1:{afas.server.port}{path}"
    assert afas.client.get(url, headers=afas.auth("healthy")).status_code == 200


@pytest.mark.parametrize(
    "prefix",
    [
        "/rest/99999/ProfitRestServices",  # unknown environment
        "/restcursus/10001/ProfitRestServices",
        "/rest/1000l/ProfitRestServices",
        "/rest/10001/OtherServices",
    ],
)
def test_unknown_host_or_environment_is_404(afas: Afas, prefix: str) -> None:
    url = f"http://127.0.0.1:{afas.server.port}{prefix}/metainfo"
    response = afas.client.get(url, headers=afas.auth("healthy"))
    assert response.status_code == 404
    assert "x-trace-identifier" not in response.headers


def test_a_known_number_under_another_host_is_an_auth_failure(afas: Afas) -> None:
    url = f"http://127.0.0.1:{afas.server.port}/resttest/10001/ProfitRestServices/metainfo"
    response = afas.client.get(url, headers=afas.auth("healthy"))
    assert response.status_code == 401
    assert response.content == b""


def test_acceptance_environment_is_served_under_restaccept() -> None:
    with custom_afas([{"name": "acc", "number": 7, "kind": "acceptatie"}]) as afas:
        assert "/restaccept/7/" in afas.url("acc")
        response = afas.get("acc", "/metainfo")
        assert response.json()["info"]["envid"] == "A7AA"


def test_unknown_endpoint_is_404_and_wrong_method_405(afas: Afas) -> None:
    assert_empty(afas.get("healthy", "/nothing"), 404)
    assert_empty(afas.get("healthy", "/connectors/SBQ_BTW/extra"), 404)
    response = afas.request("POST", "healthy", "/metainfo")
    assert response.status_code == 405


def test_afas_response_headers(afas: Afas) -> None:
    response = afas.get("healthy", "/metainfo")
    headers = response.headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["cache-control"] == "no-store, no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "deny"
    assert headers["access-control-allow-origin"] == "*"
    uuid.UUID(headers["x-trace-identifier"])
    assert "\n" not in response.text  # one line, as from Profit 7


def test_trace_identifier_is_new_per_answer_and_on_errors(afas: Afas) -> None:
    first = afas.get("healthy", "/profitversion").headers["x-trace-identifier"]
    second = afas.get("healthy", "/profitversion").headers["x-trace-identifier"]
    assert first != second
    assert "x-trace-identifier" in afas.get("healthy", "/metainfo", authorised=False).headers


def test_cors_preflight_needs_no_token(afas: Afas) -> None:
    response = afas.request("OPTIONS", "healthy", "/metainfo", authorised=False)
    assert response.status_code == 200
    assert "GET" in response.headers["access-control-allow-methods"]


def test_describe_lists_environments_with_token_xml(sandbox: SandboxServer) -> None:
    entries = describe(sandbox.scenario, sandbox.url_template)
    healthy = entries[0]
    assert healthy["name"] == "healthy"
    assert healthy["number"] == "10001"
    assert healthy["kind"] == "production"
    assert healthy["token"].startswith("<token><version>1</version><data>")
    assert healthy["base_url"] == sandbox.base_url("healthy")
    assert "base_url" not in describe(sandbox.scenario)[0]


def test_module_entry_point_prints_the_url_template_first() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "afas.sandbox", "--port", "0", "--generate", "3", "--list"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        template = process.stdout.readline().strip()
        assert template.endswith("/{host}/{env}/ProfitRestServices")
        first = json.loads(process.stdout.readline())
        assert first["name"] == "healthy-20001"
        (env,) = generate_environments(1, mix="healthy")
        url = env.base_url(template) + "/profitversion"
        headers = {"Authorization": env.token().authorization_header()}
        assert httpx.get(url, headers=headers, timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_module_entry_point_reports_a_bad_scenario(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[environments]]\nname = "x"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "afas.sandbox", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "environments[0] (x).number: Field required" in result.stderr


def test_scenario_changes_apply_to_a_running_sandbox() -> None:
    scenario = Scenario.model_validate({"environments": [{"name": "live", "number": 1}]})
    with SandboxServer(scenario) as server, httpx.Client(timeout=5) as client:
        env = scenario.by_name("live")
        url = env.base_url(server.url_template) + "/metainfo"
        headers = {"Authorization": env.token().authorization_header()}
        assert client.get(url, headers=headers).status_code == 200
        env.maintenance_retry_after = 5
        assert client.get(url, headers=headers).status_code == 503
