"""Opening the bot's resources from settings, with the start-up checks that fail closed.

Order matters: the schema is checked first (``afasbot db upgrade`` is the fix), then the token
keys are loaded and tried against the stored tokens. Nothing is written by either check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from afas.client import AfasClient
from afas.profile import Profile, load_profile
from bot.settings import Settings
from storage.crypto import TokenCipher, load_keys
from storage.db import make_engine, session_scope
from storage.keys import verify_keys_against_database
from storage.schema import ensure_current


@dataclass
class Runtime:
    """What a command needs: settings, the database, the token cipher and the profile."""

    settings: Settings
    engine: Engine
    cipher: TokenCipher | None
    profile: Profile

    @property
    def expiry_warning(self) -> timedelta:
        return timedelta(days=self.settings.token_expiry_warning_days)

    def require_cipher(self) -> TokenCipher:
        if self.cipher is None:  # pragma: no cover - open_runtime(keys=True) guarantees it
            raise RuntimeError("this command was opened without token keys")
        return self.cipher

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    def afas_client(self) -> AfasClient:
        return afas_client(self.settings)

    def close(self) -> None:
        self.engine.dispose()


def afas_client(settings: Settings) -> AfasClient:
    """The AFAS client as the settings describe it (one per process or command)."""
    return AfasClient(
        url_template=settings.afas_url_template,
        transport=settings.afas_transport,
        per_environment_limit=settings.afas_per_environment_limit,
        total_limit=settings.afas_total_limit,
        people_slots=settings.afas_people_slots,
        timeout=settings.afas_timeout_seconds,
        retries=settings.afas_retries,
        accept_language=settings.afas_accept_language,
    )


def load_cipher(settings: Settings) -> TokenCipher:
    """The configured keys (``KeyConfigError`` if none or malformed)."""
    secret = settings.encryption_keys.get_secret_value() if settings.encryption_keys else None
    return TokenCipher.from_keys(load_keys(secret, settings.encryption_key_file))


def open_runtime(
    settings: Settings, *, keys: bool = True, profile: Profile | None = None
) -> Runtime:
    """Check the schema, then (with ``keys``) load the keys and try them on stored tokens.

    Raises ``SchemaOutdatedError``, ``SchemaTooNewError`` or ``KeyConfigError``; touches no data.
    """
    ensure_current(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        cipher = None
        if keys:
            cipher = load_cipher(settings)
            with session_scope(engine) as session:
                verify_keys_against_database(session, cipher)
        chosen = profile or load_profile(settings.profile_path)
    except BaseException:
        engine.dispose()
        raise
    return Runtime(settings=settings, engine=engine, cipher=cipher, profile=chosen)
