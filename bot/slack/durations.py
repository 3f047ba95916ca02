"""How long a mute lasts, as an agent types it, read into one moment: ``30m``, ``2h``, ``1d``,
``90 min``, ``2 uur``/``2u``, ``3 dagen``, ``1w``/``2 weken``, ``1h30m``; or ``until`` / ``tot``
a moment in the bot's time zone: ``until 2026-12-24 18:00``, ``tot 24-12-2026 18.00``,
``until 18:00`` (today, or tomorrow once that time has passed) and ``until 2026-12-24`` (a date
alone: the whole day, so until the midnight that ends it; the answer shows that moment).

Pure: ``now`` and the zone are handed in. A wall time that a daylight-saving change skips or
repeats is read as Python does (``fold=0``, the earlier of two). The bounds are the product's:
a mute ends in the future and at most ``MAX_MUTE`` from now. Anything else raises
``DurationError`` with a catalogue key and an example, and nothing of what was typed is repeated
(a text box may hold anything).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_MUTE = timedelta(days=90)
UNTIL_WORDS = frozenset({"until", "till", "tot"})
_FOR_WORDS = frozenset({"for", "voor"})

_MINUTE, _HOUR, _DAY, _WEEK = (
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(weeks=1),
)
UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minuut", "minuten"), _MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "u", "uur", "uren"), _HOUR),
    **dict.fromkeys(("d", "day", "days", "dag", "dagen"), _DAY),
    **dict.fromkeys(("w", "wk", "week", "weeks", "weken"), _WEEK),
}
_AMOUNT = r"\d{1,6}(?:[.,]\d{1,3})?"
_PART = re.compile(rf"({_AMOUNT})\s*([a-z]+)")
_LENGTH = re.compile(rf"(?:{_AMOUNT}\s*[a-z]+\s*)+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DUTCH_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")
_ISO_JOINED = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})t(\d{1,2}:\d{2})")


class DurationError(ValueError):
    """A duration that cannot be a mute: ``key`` is a catalogue key (``mute.duration.*``) and
    ``values`` fill it (moments already shown in the bot's zone, and an ``example``)."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def parse_until(words: Sequence[str], *, now: datetime, zone: ZoneInfo) -> datetime:
    """The moment a mute typed as ``words`` ends, aware and in UTC; ``DurationError`` if the
    words are no duration, name no real moment, or one outside the bounds."""
    parts = [word.strip().lower() for word in words if word.strip()]
    if parts and parts[0] in _FOR_WORDS:
        parts = parts[1:]
    if not parts:
        raise _error("mute.duration.unknown", now, zone)
    if parts[0] in UNTIL_WORDS:
        until = _moment(parts[1:], now=now, zone=zone)
    else:
        length = _length(" ".join(parts), now=now, zone=zone)
        if length > MAX_MUTE:  # before adding: "999999w" would pass the calendar's end
            raise _too_long(now, zone)
        until = now + length
    return within_bounds(until, now=now, zone=zone)


def within_bounds(until: datetime, *, now: datetime, zone: ZoneInfo) -> datetime:
    """``until`` in UTC if it lies after ``now`` and at most ``MAX_MUTE`` later."""
    until = until.astimezone(UTC)
    if until <= now:
        raise _error("mute.duration.past", now, zone, until=local_time_text(until, zone))
    if until - now > MAX_MUTE:
        raise _too_long(now, zone)
    return until


def local_time_text(at: datetime, zone: ZoneInfo | None = None) -> str:
    """A moment as people read it: ``2026-12-24 18:00 CET``, in ``zone`` (or the moment's own
    zone; a naive moment is UTC, as SQLite gives them)."""
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if zone is not None:
        moment = moment.astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def example_moment(now: datetime, zone: ZoneInfo) -> str:
    """A moment to show in an example: tomorrow at 18:00 in the bot's zone, as typed."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return f"{tomorrow:%Y-%m-%d} 18:00"


# -- a length: "2h", "90 min", "1h30m" ---------------------------------------------------------


def _length(text: str, *, now: datetime, zone: ZoneInfo) -> timedelta:
    if not _LENGTH.fullmatch(text):
        raise _error("mute.duration.unknown", now, zone)
    total = timedelta()
    for amount, unit in _PART.findall(text):
        if unit not in UNITS:
            raise _error("mute.duration.unknown", now, zone)
        total += UNITS[unit] * float(amount.replace(",", "."))
    return total


# -- a moment: "until 2026-12-24 18:00", "tot 24-12-2026", "until 18:00" ------------------------


def _moment(words: Sequence[str], *, now: datetime, zone: ZoneInfo) -> datetime:
    tokens = [piece for word in words for piece in _ISO_JOINED.sub(r"\1 \2", word).split()]
    day: date | None = None
    clock: time | None = None
    for token in tokens:
        if (found := _ISO_DATE.fullmatch(token)) and day is None:
            year, month, dom = (int(n) for n in found.groups())
            day = _date(year, month, dom, now=now, zone=zone)
        elif (found := _DUTCH_DATE.fullmatch(token)) and day is None:
            dom, month, year = (int(n) for n in found.groups())
            day = _date(year, month, dom, now=now, zone=zone)
        elif (found := _TIME.fullmatch(token)) and clock is None:
            hour, minute = (int(n) for n in found.groups())
            if hour > 23 or minute > 59:
                raise _error("mute.duration.bad_date", now, zone)
            clock = time(hour, minute)
        else:
            raise _error("mute.duration.unknown", now, zone)
    if day is not None and clock is not None:
        return datetime.combine(day, clock, tzinfo=zone)
    if day is not None:  # a date alone: the whole day, until the midnight that ends it
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    if clock is not None:  # a time alone: its next occurrence
        today = now.astimezone(zone).date()
        moment = datetime.combine(today, clock, tzinfo=zone)
        if moment <= now:
            moment = datetime.combine(today + timedelta(days=1), clock, tzinfo=zone)
        return moment
    raise _error("mute.duration.unknown", now, zone)


def _date(year: int, month: int, dom: int, *, now: datetime, zone: ZoneInfo) -> date:
    """A real date. One in another year than this one or the next is out of bounds at once,
    which also keeps clear of the calendar's ends (9999-12-31 has no next day)."""
    try:
        day = date(year, month, dom)
    except ValueError:
        raise _error("mute.duration.bad_date", now, zone) from None
    this_year = now.astimezone(zone).year
    if year > this_year + 1:
        raise _too_long(now, zone)
    if year < this_year - 1:
        raise _error("mute.duration.past", now, zone, until=f"{day:%Y-%m-%d}")
    return day


def _too_long(now: datetime, zone: ZoneInfo) -> DurationError:
    latest = local_time_text(now + MAX_MUTE, zone)
    return _error("mute.duration.too_long", now, zone, days=str(MAX_MUTE.days), latest=latest)


def _error(key: str, now: datetime, zone: ZoneInfo, **values: str) -> DurationError:
    return DurationError(key, example=example_moment(now, zone), **values)
