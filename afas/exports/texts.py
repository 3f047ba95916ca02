"""The export's texts (``afas/profiles/export_messages.toml``), validated when loaded.

Every finding code the export can produce must have its text in both languages, with the same
placeholders: a missing text is found when the catalogue loads, not when a customer hits it.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, model_validator

from afas.profile import LocalText

REQUIRED: dict[str, frozenset[str]] = {
    "found": frozenset(
        {
            "fits",
            "put_only",
            "with_notes",
            "mismatch",
            "mismatch_more",
            "not_authorised",
            "unreadable_schema",
            "destination_dry_run",
            "destination_ok",
            "destination_refused",
            "destination_not_reached",
            # the live export and its cleanup (afas/exports/live.py, cleanup.py)
            "live_written",
            "live_refused",
            "live_answer_lost",
            "live_no_key",
            "live_not_sent",
            "live_not_attempted",
            "live_not_usable",
            "left_blocked",
            "left_block_failed",
            "left_delete_refused",
            "left_delete_unsupported",
            "left_no_answer",
            "left_unknown",
            "left_lookup_failed",
            "how_to_find",
            "lookup_roles",
        }
    ),
    "problem": frozenset(
        {
            "field_unknown",
            "object_unknown",
            "type_mismatch",
            "too_long",
            "mandatory_missing",
            "mandatory_flag_unreliable",
            "mandatory_not_needed_for_put",
            "code_table_type",
            "code_table_length",
            "value_not_listed",
            "type_unknown",
            "root_name_differs",
        }
    ),
    "fix": frozenset(
        {
            "schema_changed",
            "mandatory_missing",
            "not_authorised",
            "destination_not_allowed",
            "entry_refused",
            "answer_lost",
        }
    ),
    "overall": frozenset(
        {
            "ok_dry_run",
            "ok_live",
            "failing",
            "unreachable",
            "ok_live_left",
            "cleanup_done",
            "cleanup_left",
            "cleanup_unreachable",
        }
    ),
}


class ExportCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    found: dict[str, LocalText]
    problem: dict[str, LocalText]
    fix: dict[str, LocalText]
    overall: dict[str, LocalText]

    @model_validator(mode="after")
    def _complete(self) -> ExportCatalogue:
        for section, keys in REQUIRED.items():
            texts: dict[str, LocalText] = getattr(self, section)
            missing = sorted(keys - set(texts))
            if missing:
                raise ValueError(f"[{section}] lacks {', '.join(missing)}")
            for key, text in texts.items():
                if _placeholders(text.nl) != _placeholders(text.en):
                    raise ValueError(f"{section}.{key}: Dutch and English use other placeholders")
        return self


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_export_catalogue(raw: str) -> ExportCatalogue:
    return ExportCatalogue.model_validate(tomllib.loads(raw))


@cache
def load_export_catalogue() -> ExportCatalogue:
    raw = resources.files("afas.profiles").joinpath("export_messages.toml").read_text("utf-8")
    return parse_export_catalogue(raw)
