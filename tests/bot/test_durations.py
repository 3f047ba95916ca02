"""A mute's duration as an agent types it: lengths and moments, in English and Dutch, in the
bot's time zone, within the bounds (in the future, at most 90 days), or a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, key_placeholders, t
from bot.slack.durations import (
    MAX_MUTE,
    UNITS,
    DurationError,
    local_time_text,
    parse_until,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam (CET, UTC+1)


def until(text: str, now: datetime = NOW, zone: ZoneInfo = AMSTERDAM) -> datetime:
    return parse_until(tuple(text.lower().split()), now=now, zone=zone)


def refused(text: str, now: datetime = NOW) -> DurationError:
    with pytest.raises(DurationError) as caught:
        until(text, now)
    return caught.value


@pytest.mark.parametrize(
    ("typed", "length"),
    [
        ("30m", timedelta(minutes=30)),
        ("90 min", timedelta(minutes=90)),
        ("45 minuten", timedelta(minutes=45)),
        ("2h", timedelta(hours=2)),
        ("2 hours", timedelta(hours=2)),
        ("2 uur", timedelta(hours=2)),
        ("2u", timedelta(hours=2)),
        ("1,5 uur", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1 uur 30 min", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("1 dag", timedelta(days=1)),
        ("3 dagen", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1 week", timedelta(weeks=1)),
        ("2 weken", timedelta(weeks=2)),
        ("for 2h", timedelta(hours=2)),
        ("voor 2 uur", timedelta(hours=2)),
        ("90d", timedelta(days=90)),  # the longest there is
    ],
)
def test_a_length_counts_from_now(typed: str, length: timedelta) -> None:
    assert until(typed) == NOW + length
    assert until(typed).tzinfo == UTC


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("until 2026-12-24 18:00", datetime(2026, 12, 24, 18, 0)),
        ("tot 2026-12-24 18:00", datetime(2026, 12, 24, 18, 0)),
        ("tot 24-12-2026 18:00", datetime(2026, 12, 24, 18, 0)),
        ("tot 24-12-2026 18.00", datetime(2026, 12, 24, 18, 0)),
        ("tot 24/12/2026 9:05", datetime(2026, 12, 24, 9, 5)),
        ("until 18:00 2026-12-24", datetime(2026, 12, 24, 18, 0)),  # either order
        ("until 2026-12-24T18:00", datetime(2026, 12, 24, 18, 0)),
        # a date alone: the whole day, so until the midnight that ends it
        ("until 2026-12-24", datetime(2026, 12, 25, 0, 0)),
        ("tot 24-12-2026", datetime(2026, 12, 25, 0, 0)),
        # a time alone: today, or tomorrow once it has passed (it is 10:00 in Amsterdam)
        ("until 18:00", datetime(2026, 11, 26, 18, 0)),
        ("tot 10:01", datetime(2026, 11, 26, 10, 1)),
        ("tot 10:00", datetime(2026, 11, 27, 10, 0)),
        ("until 09:30", datetime(2026, 11, 27, 9, 30)),
    ],
)
def test_a_moment_is_read_in_the_bots_time_zone(typed: str, local: datetime) -> None:
    assert until(typed) == local.replace(tzinfo=AMSTERDAM).astimezone(UTC)


def test_summer_time_is_the_zones_own() -> None:
    spring = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    # 29 March 2027 is in summer time (CEST, UTC+2): 12:00 there is 10:00 UTC
    assert until("until 2027-03-29 12:00", now=spring) == datetime(2027, 3, 29, 10, 0, tzinfo=UTC)
    # a length is elapsed time: a day across the change is still 24 hours
    night = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    assert until("1d", now=night) - night == timedelta(hours=24)
    assert local_time_text(until("until 2027-03-29 12:00", now=spring), AMSTERDAM) == (
        "2027-03-29 12:00 CEST"
    )


def test_moments_are_shown_with_their_zone() -> None:
    moment = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert local_time_text(moment, AMSTERDAM) == "2026-12-24 18:00 CET"
    assert local_time_text(moment) == "2026-12-24 17:00 UTC"
    assert local_time_text(moment.replace(tzinfo=None)) == "2026-12-24 17:00 UTC"  # SQLite's
    assert local_time_text(moment.astimezone(AMSTERDAM)) == "2026-12-24 18:00 CET"


@pytest.mark.parametrize(
    "typed",
    ["", "soon", "30", "2x", "2 hours please", "until", "tot morgen", "until 2026-12-24 18:00 x"],
)
def test_what_is_no_duration_is_refused_with_examples(typed: str) -> None:
    error = refused(typed) if typed else _refused_words(())
    assert error.key == "mute.duration.unknown"
    assert error.values == {"example": "2026-11-27 18:00"}  # tomorrow at 18:00, as typed
    english = t(error.key, "en", **error.values)
    assert "`until 2026-11-27 18:00`" in english and "`30m`" in english
    assert "`tot 2026-11-27 18:00`" in t(error.key, "nl", **error.values)


def _refused_words(words: tuple[str, ...]) -> DurationError:
    with pytest.raises(DurationError) as caught:
        parse_until(words, now=NOW, zone=AMSTERDAM)
    return caught.value


@pytest.mark.parametrize(
    "typed", ["0m", "until 2026-11-26 09:00", "tot 01-01-2026", "until 2026-11-25", "tot 1999-1-1"]
)
def test_a_moment_that_has_passed_is_refused(typed: str) -> None:
    error = refused(typed)
    assert error.key == "mute.duration.past"
    assert "has passed already" in t(error.key, "en", **error.values)


@pytest.mark.parametrize(
    "typed", ["91d", "13w", "2161h", "999999w", "until 2027-03-01", "tot 31-12-9999 23:59"]
)
def test_longer_than_90_days_is_refused_naming_the_latest_moment(typed: str) -> None:
    error = refused(typed)
    assert error.key == "mute.duration.too_long"
    assert error.values["days"] == "90"
    assert error.values["latest"] == "2027-02-24 10:00 CET"
    assert "until 2027-02-24 10:00 CET at the latest" in t(error.key, "en", **error.values)


@pytest.mark.parametrize(
    "typed", ["until 2026-02-30 18:00", "tot 31-11-2026", "until 2026-12-24 24:00", "tot 18:60"]
)
def test_a_date_or_time_that_does_not_exist_is_refused(typed: str) -> None:
    assert refused(typed).key == "mute.duration.bad_date"


def test_every_error_has_a_text_with_its_values_in_both_languages() -> None:
    for typed in ("soon", "0m", "91d", "tot 31-11-2026"):
        error = refused(typed)
        assert set(error.values) == key_placeholders(error.key)
        for language in LANGUAGES:
            assert "{" not in t(error.key, language, **error.values)


# -- properties --------------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
zones = st.sampled_from(
    [ZoneInfo(name) for name in ("Europe/Amsterdam", "UTC", "America/New_York", "Asia/Kolkata")]
)


@given(
    amount=st.integers(min_value=1, max_value=2160),
    unit=st.sampled_from(sorted(UNITS)),
    spaced=st.booleans(),
    now=moments,
    zone=zones,
)
def test_a_length_within_bounds_is_exactly_that_long(amount, unit, spaced, now, zone) -> None:
    length = UNITS[unit] * amount
    words = (str(amount), unit) if spaced else (f"{amount}{unit}",)
    if length > MAX_MUTE:
        with pytest.raises(DurationError) as caught:
            parse_until(words, now=now, zone=zone)
        assert caught.value.key == "mute.duration.too_long"
    else:
        assert parse_until(words, now=now, zone=zone) == now + length


@given(hour=st.integers(0, 23), minute=st.integers(0, 59), now=moments, zone=zones)
def test_a_time_alone_is_its_next_occurrence_within_a_day(hour, minute, now, zone) -> None:
    moment = parse_until(("tot", f"{hour}:{minute:02d}"), now=now, zone=zone)
    assert now < moment <= now + timedelta(hours=25)  # 25: the day summer time ends
    local = moment.astimezone(zone)
    if local.utcoffset() == (local - timedelta(hours=3)).utcoffset():  # no change nearby
        assert (local.hour, local.minute) == (hour, minute)


@given(
    day=st.dates(min_value=datetime(2026, 11, 27).date(), max_value=datetime(2027, 2, 22).date())
)
def test_the_iso_and_the_dutch_date_are_the_same_moment(day) -> None:
    iso = until(f"until {day:%Y-%m-%d} 18:00")
    dutch = until(f"tot {day.day}-{day.month}-{day.year} 18.00")
    assert iso == dutch
    assert iso.astimezone(AMSTERDAM).replace(tzinfo=None) == datetime(
        day.year, day.month, day.day, 18, 0
    )


@given(words=st.lists(st.text(max_size=12), max_size=4), now=moments, zone=zones)
def test_any_text_is_a_moment_within_bounds_or_a_duration_error(words, now, zone) -> None:
    try:
        moment = parse_until(tuple(words), now=now, zone=zone)
    except DurationError as error:
        assert error.key.startswith("mute.duration.")
        assert set(error.values) == key_placeholders(error.key)
    else:
        assert now < moment <= now + MAX_MUTE
        assert moment.tzinfo == UTC


@given(
    words=st.lists(
        st.sampled_from(["until", "tot", "2026-12-24", "24-12-2026", "18:00", "18.00", "2h", "1d"]),
        max_size=4,
    )
)
def test_any_mix_of_known_words_is_a_moment_or_a_duration_error(words) -> None:
    try:
        moment = parse_until(tuple(words), now=NOW, zone=AMSTERDAM)
    except DurationError as error:
        assert error.key.startswith("mute.duration.")
    else:
        assert NOW < moment <= NOW + MAX_MUTE
