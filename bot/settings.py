"""All settings, read once from the environment (prefix ``AFASBOT_``) and an optional .env.

Every number is bounded where a huge one would break the bot later rather than at start
(a lease of 1e308 seconds overflows every sweep's datetime; an infinite time-out never times
out): floats are finite (``allow_inf_nan=False``) and each has an upper bound. A variable
with our prefix that is no setting is most likely a typo: ``unknown_settings`` names the
closest real one (the CLI warns with it, it does not refuse)."""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Mapping
from functools import cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from afas.environments import DEFAULT_URL_TEMPLATE, validate_url_template
from storage.db import normalize_database_url

ENV_FILE = ".env"
PREFIX = "AFASBOT_"
#: Our prefix, but not settings: the test suite's switches (tests/conftest.py, CI).
NOT_SETTINGS = ("AFASBOT_REQUIRE_",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=ENV_FILE,
        extra="ignore",
        populate_by_name=True,
        allow_inf_nan=False,
    )

    # AFAS
    afas_url_template: str = DEFAULT_URL_TEMPLATE
    afas_transport: Literal["aiohttp-direct", "aiohttp", "httpx"] = "aiohttp-direct"
    afas_per_environment_limit: int = Field(4, ge=1, le=8)
    # At most so many requests in flight overall; ``afas_people_slots`` of them are kept for
    # the checks people asked for, so the scheduled sweep never makes a person wait.
    afas_total_limit: int = Field(128, ge=2, le=1024)
    afas_people_slots: int = Field(16, ge=0, le=512)
    afas_timeout_seconds: float = Field(30.0, gt=0, le=300)
    afas_retries: int = Field(2, ge=0, le=5)
    afas_accept_language: str | None = None
    profile_path: str | None = None
    token_expiry_warning_days: int = Field(14, ge=0, le=365)
    check_concurrency: int = Field(8, ge=1, le=256)
    retention_days: int = Field(30, ge=1, le=3650)  # check runs kept in full
    # How often an org without an interval of its own is checked (a minute to a day).
    check_interval_seconds: int = Field(900, ge=60, le=86_400)
    # A tick below 0.1 s would spin the loop; a check lease longer than an hour would keep an
    # org from being checked for that long after its replica died.
    scheduler_tick_seconds: float = Field(30.0, ge=0.1, le=3600)
    check_lease_seconds: float = Field(300.0, gt=0, le=3600)
    sweep_limit: int = Field(100, ge=1, le=10_000)

    # Storage
    database_url: str = "sqlite:///afasbot.sqlite3"
    encryption_keys: SecretStr | None = None
    encryption_key_file: str | None = None

    # Slack (the app runs when a bot token is set). The credentials are also read under the
    # names Bolt apps use (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN,
    # SLACK_API_URL); set under both names they must agree (bot/slack/config.py). The mode
    # follows from what is set unless AFASBOT_SLACK_MODE says.
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("AFASBOT_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(  # HTTP mode
        None, validation_alias=AliasChoices("AFASBOT_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(  # Socket Mode (xapp-…, connections:write)
        None, validation_alias=AliasChoices("AFASBOT_SLACK_APP_TOKEN", "SLACK_APP_TOKEN")
    )
    slack_mode: Literal["socket", "http"] | None = None
    # Where `serve` listens: Slack's requests (HTTP mode), /healthz and /readyz (both modes).
    slack_host: str = Field(
        "0.0.0.0", validation_alias=AliasChoices("AFASBOT_HOST", "AFASBOT_SLACK_HOST")
    )
    slack_port: int = Field(
        3000,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("AFASBOT_PORT", "AFASBOT_SLACK_PORT", "PORT"),
    )
    slack_api_url: str | None = Field(  # another Web API base URL (tests, a proxy)
        None, validation_alias=AliasChoices("AFASBOT_SLACK_API_URL", "SLACK_API_URL")
    )
    # Who may do what: helpdesk agents (one or more user groups and/or user ids) and admins
    # (user ids and/or a user group). Lists are comma- or space-separated.
    slack_agent_usergroup: str | None = None  # one or more user group ids (S…)
    slack_agent_user_ids: str = ""
    slack_admin_user_ids: str = ""
    slack_admin_usergroup: str | None = None

    # Alerts (a scheduled check's state change posts to the org's alert channel)
    alert_open_after: int = Field(2, ge=1, le=20)  # consecutive bad checks
    alert_close_after: int = Field(1, ge=1, le=20)  # consecutive good checks
    alert_remind_hours: float = Field(24.0, gt=0, le=720)  # at most 30 days
    alert_language: Literal["nl", "en"] = "nl"  # alert channels have no locale
    slack_default_alert_channel: str | None = None  # for orgs without a channel of their own
    outbox_tick_seconds: float = Field(5.0, ge=0.1, le=3600)
    # Slack allows about one message per second per channel: delivery keeps this spacing.
    slack_channel_pace_seconds: float = Field(1.0, ge=0, le=60)

    # AFAS itself down: when at least this many orgs, and this share of the orgs checked in the
    # window, could not reach AFAS, one platform incident instead of one alert per org.
    platform_min_orgs: int = Field(3, ge=1, le=100_000)
    platform_share: float = Field(0.5, gt=0, le=1)
    platform_window_minutes: float = Field(20.0, ge=1, le=1440)
    # The bot's own network: a URL that answers whenever the bot has a network (any HTTP
    # answer counts); None: judged from the AFAS environments alone.
    canary_url: str | None = None

    # Drift: a deep check of every org once per so many hours compares each connector's
    # fields with the org's baseline (0: no drift checks).
    drift_check_hours: float = Field(24.0, ge=0, le=24 * 30)

    # The ops channel (platform notices, the daily digest; default: the default alert channel)
    # and the daily digest: at this hour (0-23) in the bot's time zone; quiet days skipped.
    slack_ops_channel: str | None = None
    digest_hour: int | None = Field(None, ge=0, le=23)  # None: no digest
    digest_skip_quiet: bool = True

    # Test exports: a live run's lease, renewed at every step; a clean-up takes over a run
    # (whose process may have died) only once it has run out. Longer than one step can take.
    export_lease_seconds: float = Field(120.0, gt=0, le=3600)

    # Watch (`/afas watch`): re-check every so many seconds, for at most so many minutes.
    watch_interval_seconds: float = Field(30.0, ge=5, le=300)
    watch_max_minutes: float = Field(20.0, ge=1, le=120)

    # App Home: re-published after a state change (at most once per debounce interval) for the
    # users who opened it within the last so many minutes.
    home_refresh_seconds: float = Field(10.0, ge=1, le=3600)
    home_viewer_minutes: float = Field(30.0, ge=1, le=1440)

    # People and processes
    language: Literal["nl", "en"] = "en"
    timezone: str = "Europe/Amsterdam"  # the bot's time zone: times typed and shown to people
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Amsterdam)"
            ) from None
        return value

    @field_validator("afas_url_template")
    @classmethod
    def _template(cls, value: str) -> str:
        return validate_url_template(value)

    @field_validator("canary_url")
    @classmethod
    def _canary(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {value[:80]!r} (e.g. https://www.afas.nl/)")
        return value

    @field_validator("profile_path")
    @classmethod
    def _profile_path(cls, value: str | None) -> str | None:
        """A device or a directory would be read forever (``/dev/zero``) or fail later."""
        problem = profile_file_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        """Refused at start, with the other settings, rather than at the first connection."""
        normalize_database_url(value)
        return value


#: A requirements profile is a TOML file of some kilobytes; more is not a profile.
PROFILE_FILE_LIMIT = 1024 * 1024


def profile_file_problem(path: str) -> str | None:
    """Why the file at ``path`` cannot be a profile without reading it, or None (a missing
    file is left to the loader, which says so)."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):  # missing (the loader says so), or a NUL in the path
        return None if "\x00" not in path else "the path holds a NUL character"
    if not stat.S_ISREG(found.st_mode):
        return f"{path!r} is not a regular file"
    if found.st_size > PROFILE_FILE_LIMIT:
        return f"{path!r} is larger than {PROFILE_FILE_LIMIT // 1024} KiB: not a profile"
    return None


@cache
def get_settings() -> Settings:
    return Settings()


def variable_names(field: str) -> tuple[str, ...]:
    """The environment variables a setting is read from: its aliases, else prefix + name."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return (PREFIX + field.upper(),)


def known_setting_names() -> frozenset[str]:
    """Every variable name a setting is read from (aliases included), upper case."""
    return frozenset(_fields_by_name())


def field_named(name: str) -> str | None:
    """The setting a name stands for: a field's own name, or a variable it is read from
    (pydantic names an aliased setting's error after its first alias)."""
    if name in Settings.model_fields:
        return name
    return _fields_by_name().get(name.upper())


@cache
def _fields_by_name() -> dict[str, str]:
    return {
        variable.upper(): field
        for field in Settings.model_fields
        for variable in variable_names(field)
    }


def environment() -> dict[str, str]:
    """What the settings are read from: the .env file in the working directory, then the
    process environment over it (the order pydantic-settings gives them)."""
    from dotenv import dotenv_values

    try:
        from_file = {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}
    except (OSError, UnicodeDecodeError):
        from_file = {}
    return {**from_file, **os.environ}


def variable_for(field: str, environ: Mapping[str, str]) -> str:
    """The variable that set ``field`` (names are matched regardless of case, as
    pydantic-settings does), else its first name: what an error about it must name."""
    names = variable_names(field)
    given = {name.upper() for name in environ}
    return next((name for name in names if name.upper() in given), names[0])


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """A warning for every ``AFASBOT_`` variable that is no setting, with the closest name."""
    known = known_setting_names()
    # Compared without the prefix, which every name shares and would make any two look alike.
    ours = {name[len(PREFIX) :]: name for name in known if name.startswith(PREFIX)}
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper.startswith(NOT_SETTINGS):
            continue
        close = difflib.get_close_matches(upper[len(PREFIX) :], list(ours), n=1, cutoff=0.6)
        hint = f"; did you mean {ours[close[0]]}?" if close else " (afasbot has no such setting)"
        warnings.append(f"unknown setting {name}{hint}")
    return warnings
