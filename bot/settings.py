"""All settings, read once from the environment (prefix ``AFASBOT_``) and an optional .env."""

from __future__ import annotations

from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from afas.environments import DEFAULT_URL_TEMPLATE, validate_url_template


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AFASBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # AFAS
    afas_url_template: str = DEFAULT_URL_TEMPLATE
    afas_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    afas_per_environment_limit: int = Field(4, ge=1, le=8)
    afas_total_limit: int = Field(64, ge=1, le=1024)
    afas_timeout_seconds: float = Field(30.0, gt=0)
    afas_retries: int = Field(2, ge=0, le=5)
    afas_accept_language: str | None = None
    profile_path: str | None = None
    token_expiry_warning_days: int = Field(14, ge=0)
    check_concurrency: int = Field(8, ge=1, le=256)
    scheduler_tick_seconds: float = Field(30.0, gt=0)
    check_lease_seconds: float = Field(300.0, gt=0)
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
    alert_remind_hours: float = Field(24.0, gt=0)
    alert_language: Literal["nl", "en"] = "nl"  # alert channels have no locale
    slack_default_alert_channel: str | None = None  # for orgs without a channel of their own
    outbox_tick_seconds: float = Field(5.0, gt=0)

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


@cache
def get_settings() -> Settings:
    return Settings()
