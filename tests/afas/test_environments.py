from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.environments import (
    AfasEnvironment,
    EnvironmentFormatError,
    EnvironmentKind,
    validate_url_template,
)


@pytest.mark.parametrize(
    ("env", "kind", "url"),
    [
        ("12345", "production", "https://12345.rest.afas.online/ProfitRestServices"),
        ("12345", "test", "https://12345.resttest.afas.online/ProfitRestServices"),
        ("12345", "acceptance", "https://12345.restaccept.afas.online/ProfitRestServices"),
        ("O12345AA", None, "https://12345.rest.afas.online/ProfitRestServices"),
        ("T36369AA", None, "https://36369.resttest.afas.online/ProfitRestServices"),
        ("A123456AC", None, "https://123456.restaccept.afas.online/ProfitRestServices"),
        ("t12345aa", "test", "https://12345.resttest.afas.online/ProfitRestServices"),
    ],
)
def test_environment_numbers_and_codes_give_the_right_host(env, kind, url) -> None:
    assert AfasEnvironment.parse(env, kind).base_url() == url


def test_the_url_template_setting_is_used() -> None:
    env = AfasEnvironment.parse("12345", "test")
    template = "http://127.0.0.1:8080/{host}/{env}/ProfitRestServices"
    assert env.base_url(template) == "http://127.0.0.1:8080/resttest/12345/ProfitRestServices"


@pytest.mark.parametrize(
    ("env", "kind", "message"),
    [
        ("12345", None, "Give the environment kind"),
        ("12a45", "production", "number such as 12345"),
        ("12345.evil.com", "production", "number such as 12345"),
        ("../12345", "production", "number such as 12345"),
        ("T12345AA", "production", "is a test environment, not production"),
        ("12345", "staging", "Unknown environment kind"),
        ("", "production", "number such as 12345"),
    ],
)
def test_bad_environments_get_a_clear_message(env, kind, message) -> None:
    with pytest.raises(EnvironmentFormatError, match=message):
        AfasEnvironment.parse(env, kind)


@given(st.text(max_size=30), st.sampled_from(list(EnvironmentKind)))
def test_nothing_but_digits_reaches_the_url(text: str, kind: EnvironmentKind) -> None:
    try:
        env = AfasEnvironment.parse(text, kind)
    except EnvironmentFormatError:
        return
    assert env.number.isdigit()
    assert env.base_url() == f"https://{env.number}.{kind.host}.afas.online/ProfitRestServices"


def test_envid_matching() -> None:
    env = AfasEnvironment.parse("10013", "production")
    assert env.matches_envid("O10013AA") is True
    assert env.matches_envid("T10013AA") is False
    assert env.matches_envid("O99999AA") is False
    assert env.matches_envid("weird") is None


@pytest.mark.parametrize(
    "template", ["https://{env}.afas.online", "https://{env}.{host}.{oops}", "ftp://{env}.{host}"]
)
def test_bad_url_templates_are_rejected(template: str) -> None:
    with pytest.raises(EnvironmentFormatError):
        validate_url_template(template)


@pytest.mark.parametrize(
    ("kind", "nl", "en"),
    [
        ("production", "12345 (productie)", "12345 (production)"),
        ("test", "12345 (test)", "12345 (test)"),
        ("acceptance", "12345 (acceptatie)", "12345 (acceptance)"),
    ],
)
def test_the_label_is_in_the_readers_language(kind: str, nl: str, en: str) -> None:
    env = AfasEnvironment.parse("12345", kind)
    assert env.label_in("nl") == nl
    assert env.label_in("en") == en
    assert env.label == en  # logs, the CLI and the audit log stay English
    assert env.kind.name_in("fr") == env.kind.name_in("en")  # unknown languages: English
