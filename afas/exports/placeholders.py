"""The placeholders a payload template may use: the contract between templates and the export.

The names are fixed by the export contract (notes/export-contract.md, issue 7): the live export
fills them from the customer's own GetConnectors (``customer``), from the run itself (``run``)
or from an earlier step's answer (``answer``). The samples are what a dry run substitutes, by
type, before holding a payload against AFAS's metainfo; they are as long as the values the live
export generates, so a length that fits the sample fits the real value.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PlaceholderSource(StrEnum):
    CUSTOMER = "customer"  # from the customer's GetConnectors (or given by the agent)
    RUN = "run"  # made up by the export run (marker, dates, the test PDF)
    ANSWER = "answer"  # a key AFAS returned for an earlier step


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    source: PlaceholderSource
    type: str  # int, string, date, base64: how the sample is substituted
    sample: Any


#: The smallest PDF that readers accept: the attachment of the KnSubject step.
TEST_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

_RUN_ID = "3f9a1c"  # six hex digits, as the live export makes them

_ALL = (
    Placeholder("administration", PlaceholderSource.CUSTOMER, "int", 1),
    Placeholder("year", PlaceholderSource.CUSTOMER, "int", 2024),
    Placeholder("period", PlaceholderSource.CUSTOMER, "int", 1),
    Placeholder("journal", PlaceholderSource.CUSTOMER, "string", "80"),
    Placeholder("cost_account", PlaceholderSource.CUSTOMER, "string", "4000"),
    Placeholder("vat_code", PlaceholderSource.CUSTOMER, "string", "0"),
    Placeholder("marker", PlaceholderSource.RUN, "string", f"AFASBOT TEST {_RUN_ID}"),
    Placeholder("run_id", PlaceholderSource.RUN, "string", _RUN_ID),
    Placeholder("entry_date", PlaceholderSource.RUN, "date", "2024-01-01"),
    # InId is at most 12 characters (afas-api.md §6.4): "AFBT-" + the run id is 11.
    Placeholder("invoice_id", PlaceholderSource.RUN, "string", f"AFBT-{_RUN_ID}"),
    Placeholder("attachment_name", PlaceholderSource.RUN, "string", f"afasbot-test-{_RUN_ID}.pdf"),
    Placeholder(
        "attachment_base64", PlaceholderSource.RUN, "base64", base64.b64encode(TEST_PDF).decode()
    ),
    Placeholder("creditor_id", PlaceholderSource.ANSWER, "string", "70001"),
    Placeholder("debtor_id", PlaceholderSource.ANSWER, "string", "10001"),
    Placeholder("entry_number", PlaceholderSource.ANSWER, "string", "54605"),
    # Not in the contract's list: the KnSubject DELETE needs the dossier item's own key.
    Placeholder("subject_id", PlaceholderSource.ANSWER, "string", "999999"),
)

PLACEHOLDERS: dict[str, Placeholder] = {p.name: p for p in _ALL}

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STRAY_BRACE = re.compile(r"[{}]")


def placeholders_in(value: Any) -> set[str]:
    """Every placeholder name used anywhere in a JSON value (keys included)."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(_PLACEHOLDER.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= placeholders_in(key) | placeholders_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= placeholders_in(item)
    return found


def stray_braces(text: str) -> bool:
    """A brace that is not part of a ``{name}`` placeholder: a typo in the template."""
    return bool(_STRAY_BRACE.search(_PLACEHOLDER.sub("", text)))


def render(value: Any, values: dict[str, Any]) -> Any:
    """Fill placeholders in a JSON value. A string that is exactly one placeholder becomes the
    value itself (so ``"{year}"`` can become the number 2024); other strings are formatted."""
    if isinstance(value, str):
        whole = _WHOLE.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, dict):
        return {render(k, values): render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(item, values) for item in value]
    return value


def samples() -> dict[str, Any]:
    """The dry run's value for every placeholder."""
    return {name: p.sample for name, p in PLACEHOLDERS.items()}
