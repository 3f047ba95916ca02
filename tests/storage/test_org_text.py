"""Names, owners and notes are text a person typed: control characters (NUL, BEL, a terminal
escape sequence, any other C0 or C1 character, a bidirectional override) are refused, from the
CLI and from the modals alike (both end here), before anything is written; line breaks and
tabs stay allowed in notes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from storage.errors import InvalidOrgError
from storage.orgs import edit_org, get_org, validate_settings
from storage.repository import audit_events
from tests.storage.helpers import ACTOR, register

CONTROLS = ["\x00", "\x07", "\x1b[2J", "\x1b]0;title\x07", "\x7f", "\x85", "\x9b31m", "\u202e"]
FIELDS = ["display_name", "cs_owner", "notes"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_is_refused_by_field(field, control) -> None:
    errors = validate_settings(**{field: f"Acme {control} BV"})
    assert set(errors) == {field}
    assert errors[field].reason == "control"
    assert "control character" in str(errors[field])
    assert control not in str(errors[field])  # the refusal never repeats the input


@pytest.mark.parametrize("field", FIELDS)
def test_registration_with_a_control_character_writes_nothing(session: Session, cipher, field):
    with pytest.raises(InvalidOrgError) as refused:
        register(session, cipher, "acme", **{field: "Acme\x1b[31m BV"})
    assert refused.value.field == field and refused.value.reason == "control"
    session.rollback()
    assert audit_events(session) == []


@pytest.mark.parametrize("field", FIELDS)
def test_an_edit_with_a_control_character_changes_nothing(session: Session, cipher, field):
    register(session, cipher, "acme", notes="kept")
    before = get_org(session, "acme").model_dump()
    events = len(audit_events(session))
    with pytest.raises(InvalidOrgError):
        edit_org(session, "acme", actor=ACTOR, **{field: "new\x00value"})
    session.rollback()
    assert get_org(session, "acme").model_dump() == before
    assert len(audit_events(session)) == events


def test_notes_keep_line_breaks_and_tabs_and_windows_line_ends_become_one(
    session: Session, cipher
) -> None:
    org = register(session, cipher, "acme", notes="first\r\nsecond\tindented\rthird")
    assert org.notes == "first\nsecond\tindented\nthird"


def test_names_and_owners_are_one_line(session: Session, cipher) -> None:
    org = register(session, cipher, "acme", display_name="Acme\n BV\t", cs_owner="Sanne\r\nB")
    assert (org.display_name, org.cs_owner) == ("Acme BV", "Sanne B")


def test_a_name_with_mentions_and_markup_is_accepted_as_typed(session: Session, cipher) -> None:
    """Not refused: shown escaped wherever it goes (tests/bot/test_escaping.py)."""
    org = register(session, cipher, "acme", display_name="<!channel> Evil & <@U0EVIL> *bold*")
    assert org.display_name == "<!channel> Evil & <@U0EVIL> *bold*"


@given(st.text(alphabet=st.characters(codec="utf-8", categories=["Cc"]), min_size=1))
def test_any_control_character_but_line_breaks_and_tabs_is_refused_in_notes(text) -> None:
    errors = validate_settings(notes=f"a{text}b")
    assert ("notes" in errors) == bool(set(text) - {"\n", "\t", "\r"})
