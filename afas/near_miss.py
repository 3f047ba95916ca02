"""Naming the most common real mistake: a connector id that is almost, but not exactly, right."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

_NON_ALNUM = re.compile(r"[^0-9a-z]")
_MIN_LENGTH_FOR_TYPO = 6
_MAX_TYPO_DISTANCE = 2
_MIN_SHARED_FOR_AFFIX = 5


@dataclass(frozen=True, slots=True)
class NearMiss:
    found: str
    expected: str
    reason: str  # alias, case, punctuation, suffix, prefix, typo


def _normal(text: str) -> str:
    return _NON_ALNUM.sub("", text.casefold())


def find_near_miss(
    expected: str,
    listed: Iterable[str],
    *,
    aliases: Iterable[str] = (),
    reserved: Iterable[str] = (),
) -> NearMiss | None:
    """The listed id that the customer most likely meant as ``expected``, if any.

    ``reserved`` ids are exact matches of other requirements and are never proposed (so
    SBQ_Crediteuren is not taken for a misspelt SBQ_Debiteuren). Candidates are ranked: the
    guide's own spelling (alias), a difference in case, in punctuation, an added suffix or a
    cut-short name, then a typo of at most two edits.
    """
    taken = set(reserved)
    candidates = [c for c in listed if c != expected and c not in taken]
    alias_set = set(aliases)
    want = _normal(expected)
    ranked: list[tuple[int, int, NearMiss]] = []
    for candidate in candidates:
        normal = _normal(candidate)
        if candidate in alias_set or normal in {_normal(a) for a in alias_set}:
            ranked.append((0, 0, NearMiss(candidate, expected, "alias")))
        elif candidate.casefold() == expected.casefold():
            ranked.append((1, 0, NearMiss(candidate, expected, "case")))
        elif normal == want:
            ranked.append((2, 0, NearMiss(candidate, expected, "punctuation")))
        elif len(want) >= _MIN_SHARED_FOR_AFFIX and normal.startswith(want):
            ranked.append((3, len(normal) - len(want), NearMiss(candidate, expected, "suffix")))
        elif len(normal) >= _MIN_SHARED_FOR_AFFIX and want.startswith(normal):
            ranked.append((4, len(want) - len(normal), NearMiss(candidate, expected, "prefix")))
        elif len(want) >= _MIN_LENGTH_FOR_TYPO:
            distance = Levenshtein.distance(normal, want, score_cutoff=_MAX_TYPO_DISTANCE)
            if distance <= _MAX_TYPO_DISTANCE:
                ranked.append((5, distance, NearMiss(candidate, expected, "typo")))
    if not ranked:
        return None
    ranked.sort(key=lambda entry: (entry[0], entry[1], entry[2].found))
    return ranked[0][2]
