"""``afasbot db upgrade``, ``afasbot db compact``, ``afasbot keys generate``,
``afasbot keys rotate``."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import fail, operator_name, user_errors
from bot.runtime import load_cipher
from bot.services.retention import compact_history, retention_days
from bot.settings import get_settings
from storage.crypto import generate_key
from storage.db import make_engine, session_scope
from storage.keys import MAX_BATCH_SIZE, rotate_tokens, verify_keys_against_database
from storage.retention import DEFAULT_BATCH, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from storage.schema import current_revision, ensure_current, head_revision, upgrade

db_app = typer.Typer(help="The database: migrations, retention.", no_args_is_help=True)
keys_app = typer.Typer(help="The token encryption keys.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to this version's head."""
    settings = get_settings()
    with user_errors():
        before = current_revision(settings.database_url)
        upgrade(settings.database_url)
    after = head_revision()
    if before == after:
        typer.echo(f"The database is up to date (revision {after}).")
    else:
        typer.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")


@db_app.command("compact")
def db_compact(
    days: Annotated[
        int | None,
        typer.Option(
            min=MIN_RETENTION_DAYS,
            max=MAX_RETENTION_DAYS,
            help="Keep this many days of checks in full (default: AFASBOT_RETENTION_DAYS, 30).",
        ),
    ] = None,
    batch: Annotated[
        int, typer.Option(min=1, max=100_000, help="Check runs per committed batch.")
    ] = DEFAULT_BATCH,
) -> None:
    """Compact the check runs older than the retention into one row per org per day.

    What the history, handover notes and availability need stays (checks by state, the state
    changes, the time covered); each org's latest run stays whole. Safe to interrupt, to run
    again and to run on several replicas at once (`serve` runs it too).
    """
    settings = get_settings()
    with user_errors():
        ensure_current(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with user_errors(), session_scope(engine) as session:
            done = compact_history(session, settings, days=days, batch=batch)
    finally:
        engine.dispose()
    kept = days if days is not None else retention_days(settings)
    typer.echo(
        f"Compacted {done.runs} check runs from before {done.older_than:%Y-%m-%d %H:%M} UTC "
        f"({kept} days are kept in full)."
    )


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new token encryption key (put it first in AFASBOT_ENCRYPTION_KEYS)."""
    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH_SIZE, help="Rows per committed batch.")
    ] = 100,
) -> None:
    """Re-encrypt every token with the newest key. Safe to interrupt and to run again.

    Steps: generate a key; set AFASBOT_ENCRYPTION_KEYS="new,old" everywhere; run this;
    when it reports nothing left, drop the old key.
    """
    settings = get_settings()
    with user_errors():
        ensure_current(settings.database_url)
        cipher = load_cipher(settings)
    engine = make_engine(settings.database_url)
    try:
        # Keys that cannot read what is stored (a wrong key, the old one left out) stop the
        # rotation before it writes anything, the audit log included.
        with user_errors(), session_scope(engine) as session:
            verify_keys_against_database(session, cipher)
        with user_errors(), session_scope(engine) as session:
            result = rotate_tokens(
                session,
                cipher,
                actor=operator_name(),
                batch_size=batch_size,
                on_batch=lambda p: typer.echo(
                    f"  batch {p.batches}: {p.rotated} rotated, {p.failed} failed so far"
                ),
            )
        with user_errors(), session_scope(engine) as session:
            left = verify_keys_against_database(session, cipher).needs_rotation
    finally:
        engine.dispose()
    typer.echo(
        f"Rotated {result.rotated}, already on the newest key {result.skipped}, "
        f"failed {result.failed}. Newest key id: {cipher.primary_key_id}."
    )
    if result.failed:
        fail(
            "these orgs' tokens could not be read with any configured key: "
            + ", ".join(result.failed_org_keys),
            code=1,
        )
    if left == 0:
        typer.echo("Every token is on the newest key: the older keys can now be dropped.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
