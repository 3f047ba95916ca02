"""Scenario loading, validation and the built-in environments (no HTTP)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.sandbox.get_connectors import GET_CONNECTORS, REQUIRED_GET_CONNECTORS
from afas.sandbox.scenario import (
    SandboxEnvironment,
    Scenario,
    ScenarioError,
    default_scenario,
    generate_environments,
    load_scenario,
    scenario_from_dict,
)
from afas.sandbox.update_connectors import (
    REQUIRED_UPDATE_CONNECTORS,
    SPECIAL_CONNECTORS,
    UPDATE_CONNECTORS,
)
from afas.tokens import AfasToken

DEFAULT_NAMES = [
    ("healthy", "10001"),
    ("missing-connectors", "10002"),
    ("near-miss", "10003"),
    ("revoked-token", "10004"),
    ("blocked-app-connector", "10005"),
    ("blocked-app-connector-message", "10006"),
    ("ip-restricted", "10007"),
    ("maintenance", "10008"),
    ("slow", "10009"),
    ("flaky", "10010"),
    ("broken-definition", "10011"),
    ("not-supported-500", "10012"),
    ("test-token-as-production", "10013"),
    ("token-expiring", "10014"),
    ("garbage", "10015"),
    ("unreachable", "10016"),
    ("english", "10017"),
    ("test-environment", "10018"),
]
EXPORT_NAMES = [
    ("export-unbalanced", "10020"),
    ("export-unknown-account", "10021"),
    ("export-blocked-period", "10022"),
    ("export-all-periods-blocked", "10023"),
    ("export-wrong-journal", "10024"),
    ("export-destination-not-allowed", "10025"),
    ("export-delete-refused", "10026"),
    ("export-timeout-after-write", "10027"),
    ("export-schema-removed-field", "10028"),
    ("export-schema-retyped-field", "10029"),
    ("export-english-columns", "10030"),
    ("export-entry-not-deletable", "10031"),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_scenario_has_the_agreed_environments() -> None:
    scenario = default_scenario()
    assert [(e.name, e.number) for e in scenario.environments] == DEFAULT_NAMES + EXPORT_NAMES
    kinds = {e.name: e.kind for e in scenario.environments}
    assert kinds.pop("test-environment") is EnvironmentKind.TEST
    assert set(kinds.values()) == {EnvironmentKind.PRODUCTION}


def test_minimal_environment_is_three_lines_with_complete_app_connector(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, '[[environments]]\nname = "a"\nnumber = 123\n'))
    env = scenario.by_name("a")
    assert env.number == "123"
    assert env.kind is EnvironmentKind.PRODUCTION
    assert env.language == "nl-nl"
    assert env.effective_envid == "O123AA"
    assert env.token_expiry == "0"
    assert env.app_connector.get_connectors == list(REQUIRED_GET_CONNECTORS)
    assert env.app_connector.update_connectors == list(REQUIRED_UPDATE_CONNECTORS)
    assert env.app_connector.special_connectors == list(SPECIAL_CONNECTORS)


def test_token_is_derived_from_the_name_and_usable() -> None:
    env = default_scenario().by_name("healthy")
    expected = hashlib.sha256(b"afas-sandbox:healthy").hexdigest()[:64].upper()
    assert env.token_data == expected
    assert env.token() == AfasToken(expected)
    assert AfasToken.parse(env.token().authorization_header()) == env.token()


def test_environment_gives_the_afas_environment() -> None:
    env = default_scenario().by_name("test-environment")
    assert env.environment() == AfasEnvironment("10018", EnvironmentKind.TEST)
    template = "http://127.0.0.1:1/{host}/{env}/ProfitRestServices"
    assert env.base_url(template) == "http://127.0.0.1:1/resttest/10018/ProfitRestServices"


def test_by_name_names_the_known_environments_when_missing() -> None:
    with pytest.raises(KeyError, match="healthy"):
        default_scenario().by_name("nope")


def test_catalogue_covers_the_guide() -> None:
    assert set(REQUIRED_GET_CONNECTORS) == set(GET_CONNECTORS)
    assert set(REQUIRED_UPDATE_CONNECTORS) == set(UPDATE_CONNECTORS)
    assert "SBQ_Kostenplaasten_All" in GET_CONNECTORS  # the guide's spelling, kept


def test_app_connector_conveniences_are_resolved(tmp_path: Path) -> None:
    text = """
[[environments]]
name = "x"
number = 1
app_connector.without = ["SBQ_BTW", "KnSubject", "GetXMLSchema"]
app_connector.add_get_connectors = ["SBQ_Btw"]
app_connector.add_update_connectors = ["FiInvoices"]
app_connector.definition_blocked = ["SBQ_Btw"]
"""
    connector = load_scenario(write(tmp_path, text)).by_name("x").app_connector
    assert "SBQ_BTW" not in connector.get_connectors
    assert connector.get_connectors[-1] == "SBQ_Btw"
    assert connector.update_connectors[-1] == "FiInvoices"
    assert "KnSubject" not in connector.update_connectors
    assert "GetXMLSchema" not in connector.special_connectors
    assert connector.definition_blocked == ["SBQ_Btw"]


def test_relative_token_expiry_is_computed_at_load_time(tmp_path: Path) -> None:
    text = '[[environments]]\nname = "x"\nnumber = 1\ntoken_expiry = "now+5d"\n'
    expiry = load_scenario(write(tmp_path, text)).by_name("x").token_expiry
    parsed = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(parsed - (datetime.now(UTC) + timedelta(days=5))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('name = "x"\nnumber = 1\nlatency_ms = "slow"', r"environments\[0\] \(x\)\.latency_ms"),
        ('name = "x"\nnumber = "12a"', r"environments\[0\] \(x\)\.number: .*digits only"),
        ('name = "Bad Name"\nnumber = 1', r"\.name: .*slug"),
        ('name = "x"\nnumber = 1\nfault = "explode"', r"\.fault: "),
        ('name = "x"\nnumber = 1\nlatncy_ms = 5', r"\.latncy_ms: Extra inputs"),
        ('name = "x"\nnumber = 1\nunauthorised_connector_status = 404', r"unauthorised_conn"),
        ('name = "x"\nnumber = 1\nkind = "staging"', r"\.kind: .*production, test or accept"),
        ('name = "x"\nnumber = 1\ntoken_data = "not-hex"', r"\.token_data: .*hexadecimal"),
        ('name = "x"\nnumber = 1\napp_connector.without = ["SBQ_Nope"]', r"'SBQ_Nope' is not"),
        ('name = "x"\nnumber = 1\napp_connector.definition_blocked = ["Nope"]', r"'Nope' is not"),
        ("number = 1", r"environments\[0\]\.name: Field required"),
    ],
)
def test_invalid_scenario_names_file_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "[[environments]]\n" + body + "\n")
    with pytest.raises(ScenarioError, match=expected) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_duplicate_names_and_addresses_are_refused(tmp_path: Path) -> None:
    same_name = (
        '[[environments]]\nname = "x"\nnumber = 1\n[[environments]]\nname = "x"\nnumber = 2\n'
    )
    with pytest.raises(ScenarioError, match="two environments are named 'x'"):
        load_scenario(write(tmp_path, same_name))
    same_number = (
        '[[environments]]\nname = "x"\nnumber = 1\n[[environments]]\nname = "y"\nnumber = 1\n'
    )
    with pytest.raises(ScenarioError, match="two production environments have number 1"):
        load_scenario(write(tmp_path, same_number))
    other_kind = same_number + 'kind = "test"\n'
    assert len(load_scenario(write(tmp_path, other_kind)).environments) == 2


def test_broken_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "[[environments]\nname = 1"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")


def test_generate_healthy_environments() -> None:
    environments = generate_environments(3, mix="healthy", latency_ms=7, start_number=30001)
    assert [(e.name, e.number, e.latency_ms) for e in environments] == [
        ("healthy-30001", "30001", 7),
        ("healthy-30002", "30002", 7),
        ("healthy-30003", "30003", 7),
    ]
    assert len({e.token_data for e in environments}) == 3
    Scenario(environments=environments)  # valid together


def test_generate_mixed_cycles_through_check_defaults_except_slow_and_unreachable() -> None:
    environments = generate_environments(40, mix="mixed")
    templates = {e.name.rsplit("-", 1)[0] for e in environments}
    expected = {name for name, _ in DEFAULT_NAMES} - {"slow", "unreachable"}
    assert templates == expected
    by_template = {e.name.rsplit("-", 1)[0]: e for e in environments}
    moved = by_template["test-token-as-production"]
    assert moved.envid == f"T{moved.number}AA"
    assert by_template["maintenance"].maintenance_retry_after == 3600
    assert by_template["test-environment"].kind is EnvironmentKind.TEST
    Scenario(environments=environments)


def test_environments_can_be_built_in_code() -> None:
    env = SandboxEnvironment(name="code", number="42", latency_ms=5)
    assert env.effective_envid == "O42AA"
    assert env.accepts_token(env.token_data)
    revoked = env.model_copy(update={"token_revoked": True})
    assert not revoked.accepts_token(env.token_data)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"update_schema_removed": {"FiEntries": ["FiEntries.Nope"]}}, "has no field"),
        ({"update_schema_retyped": {"FiInvoices": {"Ds": "int"}}}, "not a known UpdateConnector"),
        ({"entry_refusal": "sometimes"}, "entry_refusal"),
        ({"entry_delete_forms": ["query"]}, "entry_delete_forms"),
    ],
)
def test_write_settings_are_validated(setting: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({"environments": [{"name": "a", "number": 1, **setting}]})
