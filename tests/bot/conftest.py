from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from afas.sandbox.scenario import Scenario
from afas.sandbox.server import SandboxServer
from bot.cli import app
from bot.settings import get_settings
from storage.crypto import generate_key


class Cli:
    """Runs ``afasbot`` in-process with its own settings, like an operator's shell would."""

    def __init__(self, env: dict[str, str], tmp_path: Path, scenario: Scenario) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.scenario = scenario
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None, input: str | None = None):
        get_settings.cache_clear()
        try:
            return self.runner.invoke(
                app,
                list(args),
                env={**self.env, **(env or {})},
                input=input,
                catch_exceptions=False,
            )
        finally:
            get_settings.cache_clear()

    def token_file(self, name: str) -> str:
        path = self.tmp_path / f"{name}.token"
        path.write_text(self.scenario.by_name(name).token().xml + "\r\n")
        return str(path)

    def add(self, name: str, *extra: str):
        env = self.scenario.by_name(name)
        return self(
            "org",
            "add",
            name,
            "--env",
            env.number,
            "--kind",
            env.kind.value,
            "--token-file",
            self.token_file(name),
            *extra,
        )


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def cli(
    migrated_url: str,
    sandbox: SandboxServer,
    scenario: Scenario,
    tmp_path: Path,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)  # no stray .env or SQLite file from elsewhere
    yield Cli(
        {
            "AFASBOT_DATABASE_URL": migrated_url,
            "AFASBOT_ENCRYPTION_KEYS": key,
            "AFASBOT_AFAS_URL_TEMPLATE": sandbox.url_template,
            "AFASBOT_ENCRYPTION_KEY_FILE": "",
            "COLUMNS": "200",
        },
        tmp_path,
        scenario,
    )


@pytest.fixture
def make_runtime(migrated_url: str, key: str):
    """Opens the bot's runtime on the migrated database for an AFAS URL template (a sandbox's),
    with further settings if given; closes them all afterwards."""
    from bot.runtime import open_runtime
    from bot.settings import Settings

    opened = []

    def make(url_template: str, **settings):
        runtime = open_runtime(
            Settings(
                _env_file=None,
                database_url=migrated_url,
                encryption_keys=key,
                encryption_key_file=None,
                afas_url_template=url_template,
                **settings,
            )
        )
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


@pytest.fixture
def runtime(make_runtime, sandbox: SandboxServer):
    """The bot's runtime on a migrated database, pointed at the built-in sandbox."""
    return make_runtime(sandbox.url_template)
