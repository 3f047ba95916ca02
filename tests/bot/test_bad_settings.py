"""Wrong settings: every one named at once (by the variable that was set), numbers bounded
where a huge one would break the bot later, and a variable with our prefix that is no setting
warned about with the closest real name (a warning: the command still runs)."""

from __future__ import annotations

import json
import typing

import pytest
from pydantic import ValidationError

from bot.cli.app import setting_problems
from bot.settings import Settings, known_setting_names, unknown_settings, variable_names

#: A value each validated setting refuses, by field (the rest take any text).
_SPECIAL = {
    "afas_url_template": "ftp://x",
    "database_url": "mysql://u:s3cret@db/afas",
    "timezone": "Mars/Olympus_Mons",
}


def _bad_value(field: str) -> str | None:
    if field in _SPECIAL:
        return _SPECIAL[field]
    annotation = Settings.model_fields[field].annotation
    kinds = set(typing.get_args(annotation)) or {annotation}
    if kinds & {int, float}:
        return "lots"
    if bool in kinds:
        return "maybe"
    if any(typing.get_origin(kind) is typing.Literal for kind in kinds) or (
        typing.get_origin(annotation) is typing.Literal
    ):
        return "no-such-choice"
    return None


BAD = {
    variable_names(field)[0]: value
    for field in Settings.model_fields
    if (value := _bad_value(field)) is not None
}
NUMBERS = [
    field
    for field, info in Settings.model_fields.items()
    if {int, float} & (set(typing.get_args(info.annotation)) or {info.annotation})
]


def problems_for(monkeypatch, env: dict[str, str]) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    return setting_problems(caught.value, env)


def test_every_wrong_setting_is_named_at_once_and_no_value_is_shown(monkeypatch) -> None:
    assert len(BAD) >= 30
    problems = problems_for(monkeypatch, BAD)
    named = {line.split()[2] for line in problems}
    assert named == set(BAD)
    assert len(problems) == len(BAD)
    assert not any("s3cret" in line for line in problems)


def test_the_cli_names_them_all_in_one_line(cli) -> None:
    result = cli("org", "list", env=BAD)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    for name in BAD:
        assert f"the setting {name} is invalid" in line
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("AFASBOT_PORT", "slack_port"),
        ("AFASBOT_SLACK_PORT", "slack_port"),
        ("PORT", "slack_port"),
    ],
)
def test_a_setting_read_under_several_names_is_named_as_it_was_set(
    monkeypatch, variable, field
) -> None:
    for other in variable_names(field):
        monkeypatch.delenv(other, raising=False)
    (problem,) = problems_for(monkeypatch, {variable: "eighty"})
    assert problem.startswith(f"the setting {variable} is invalid")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AFASBOT_CHECK_LEASE_SECONDS", "1e308"),  # started, then every sweep failed
        ("AFASBOT_AFAS_TIMEOUT_SECONDS", "inf"),  # accepted: a check that never times out
        ("AFASBOT_AFAS_TIMEOUT_SECONDS", "nan"),
        ("AFASBOT_AFAS_TIMEOUT_SECONDS", "86400"),
        ("AFASBOT_SCHEDULER_TICK_SECONDS", "1e308"),
        ("AFASBOT_SCHEDULER_TICK_SECONDS", "1e-300"),  # a loop that never rests
        ("AFASBOT_OUTBOX_TICK_SECONDS", "inf"),
        ("AFASBOT_ALERT_REMIND_HOURS", "1e308"),  # timedelta overflow at the first reminder
        ("AFASBOT_TOKEN_EXPIRY_WARNING_DAYS", "1000000000"),  # timedelta overflow per check
        ("AFASBOT_EXPORT_LEASE_SECONDS", "nan"),
        ("AFASBOT_WATCH_INTERVAL_SECONDS", "-inf"),
    ],
)
def test_a_value_that_would_break_the_bot_later_is_refused_at_start(
    monkeypatch, variable, value
) -> None:
    (problem,) = problems_for(monkeypatch, {variable: value})
    assert problem.startswith(f"the setting {variable} is invalid")


@pytest.mark.parametrize("field", NUMBERS)
@pytest.mark.parametrize("value", ["1e308", "inf", "-inf", "nan", "9" * 30])
def test_every_number_is_bounded_and_finite(monkeypatch, field, value) -> None:
    """A number added later without an upper bound fails here."""
    (problem,) = problems_for(monkeypatch, {variable_names(field)[0]: value})
    assert variable_names(field)[0] in problem


def test_the_defaults_are_within_the_bounds() -> None:
    Settings(_env_file=None)


# -- unknown variables -------------------------------------------------------------------


def test_an_unknown_variable_is_warned_about_with_the_closest_name() -> None:
    warnings = unknown_settings(
        {
            "AFASBOT_CHEK_CONCURRENCY": "4",
            "afasbot_slak_port": "1",
            "AFASBOT_ENCRYPTION_KEY": "x",
            "AFASBOT_ZZZ": "1",
        }
    )
    assert warnings == [
        "unknown setting AFASBOT_CHEK_CONCURRENCY; did you mean AFASBOT_CHECK_CONCURRENCY?",
        "unknown setting AFASBOT_ENCRYPTION_KEY; did you mean AFASBOT_ENCRYPTION_KEYS?",
        "unknown setting AFASBOT_ZZZ (afasbot has no such setting)",
        "unknown setting afasbot_slak_port; did you mean AFASBOT_SLACK_PORT?",
    ]


def test_every_name_a_setting_is_read_under_is_known() -> None:
    names = {name for field in Settings.model_fields for name in variable_names(field)}
    assert {"AFASBOT_HOST", "AFASBOT_SLACK_HOST", "AFASBOT_PORT", "AFASBOT_SLACK_PORT"} <= names
    environ = {name: "1" for name in names} | {
        "AFASBOT_REQUIRE_POSTGRES": "1",  # the test suite's switches (CI sets them)
        "AFASBOT_REQUIRE_SHARED": "1",
        "SLACK_SOMETHING_ELSE": "1",  # not our prefix: none of our business
        "afasbot_check_concurrency": "4",  # read regardless of case
    }
    assert unknown_settings(environ) == []
    assert known_setting_names() >= {name.upper() for name in names}


def test_the_cli_warns_in_one_line_and_goes_on(cli) -> None:
    result = cli("org", "list", env={"AFASBOT_CHEK_CONCURRENCY": "4"})
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        "warning: unknown setting AFASBOT_CHEK_CONCURRENCY; did you mean AFASBOT_CHECK_CONCURRENCY?"
    ]


def test_a_typo_in_the_env_file_is_warned_about_too(cli) -> None:
    (cli.tmp_path / ".env").write_text("AFASBOT_LOG_LEVL=INFO\n")
    result = cli("org", "list")
    assert result.exit_code == 0, result.output
    assert "unknown setting AFASBOT_LOG_LEVL; did you mean AFASBOT_LOG_LEVEL?" in result.stderr


def test_with_json_logs_the_warning_is_a_json_line(cli, capsys) -> None:
    result = cli("org", "list", env={"AFASBOT_CHEK_CONCURRENCY": "4", "AFASBOT_LOG_FORMAT": "json"})
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    (warning,) = [line for line in lines if "CHEK" in json.dumps(line)]
    assert warning["level"] == "WARNING"


def test_a_warning_comes_before_the_error_of_a_wrong_setting(cli) -> None:
    result = cli("org", "list", env={"AFASBOT_CHEK_CONCURRENCY": "4", "AFASBOT_PORT": "x"})
    assert result.exit_code == 2
    warning, error = result.stderr.strip().splitlines()
    assert warning.startswith("warning: unknown setting AFASBOT_CHEK_CONCURRENCY")
    assert error.startswith("error: the setting AFASBOT_PORT is invalid")
