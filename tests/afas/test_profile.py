from __future__ import annotations

from pathlib import Path

import pytest

from afas.profile import ProfileError, RequirementKind, load_catalogue, load_profile


def test_the_built_in_profile_holds_the_guides_lists() -> None:
    profile = load_profile()
    gets = [r.connector for r in profile.of_kind(RequirementKind.GET_CONNECTOR)]
    updates = [r.connector for r in profile.of_kind(RequirementKind.UPDATE_CONNECTOR)]
    specials = [r.connector for r in profile.of_kind(RequirementKind.SPECIAL_CONNECTOR)]
    assert len(gets) == 15 and "SBQ_Kostenplaasten_All" in gets and "Profit_Projects" in gets
    assert sorted(updates) == sorted(
        ["FiInvoice", "FiEntries", "KnPurchaseRelationOrg", "KnSalesRelationOrg", "KnSubject"]
    )
    assert sorted(specials) == sorted(
        ["AppConnectorReport", "AppConnectorSubject", "AppConnectorVersion", "GetXMLSchema"]
    )
    assert "FiInvoices" in profile.by_id("update.FiInvoice").aliases
    assert {r.id for r in profile.of_kind(RequirementKind.NOT_CHECKABLE)} == {
        "user-rights",
        "dossier-item-type",
    }


def test_every_requirement_has_a_section_and_a_fix_in_both_languages() -> None:
    catalogue = load_catalogue()
    for requirement in load_profile().requirements:
        assert requirement.guide_section
        assert requirement.title.nl and requirement.title.en
        if requirement.kind is RequirementKind.GET_CONNECTOR:
            key = "get_connector_file" if requirement.source_file else "get_connector"
            fix = requirement.fix or catalogue.fix[key]
        elif requirement.kind is RequirementKind.UPDATE_CONNECTOR:
            fix = requirement.fix or catalogue.fix["update_connector"]
        elif requirement.kind is RequirementKind.SPECIAL_CONNECTOR:
            fix = requirement.fix or catalogue.fix["special_connector"]
        else:
            fix = requirement.fix or requirement.not_checkable_reason
        assert fix is not None and fix.nl and fix.en, requirement.id


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
name = "mini"
[[requirement]]
id = "token"
kind = "token"
guide_section = "1"
title = { nl = "Token", en = "Token" }
fix = { nl = "Nieuw token", en = "New token" }
"""


def test_another_profile_can_be_given_by_path(tmp_path: Path) -> None:
    extra = """
[[requirement]]
id = "get.X"
kind = "get_connector"
connector = "X_Items"
guide_section = "2"
title = { nl = "X", en = "X" }
"""
    profile = load_profile(write(tmp_path, MINIMAL + extra))
    assert profile.name == "mini"
    assert [r.connector for r in profile.of_kind(RequirementKind.GET_CONNECTOR)] == ["X_Items"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[requirement]]\nid = "token"\nkind = "token"\nguide_section = "1"\n'
            'title = { nl = "a", en = "b" }\nfix = { nl = "a", en = "b" }\n',
            "appears twice",
        ),
        (
            '[[requirement]]\nid = "g"\nkind = "get_connector"\nconnector = "bad id/../x"\n'
            'guide_section = "1"\ntitle = { nl = "a", en = "b" }\n',
            "requirement 'g'",
        ),
        (
            '[[requirement]]\nid = "g"\nkind = "get_connector"\nconnector = "A"\n'
            'guide_section = "1"\ntitle = { nl = "a" }\n',
            "requirement 'g'.title.en",
        ),
        (
            '[[requirement]]\nid = "g"\nkind = "warp_drive"\nguide_section = "1"\n'
            'title = { nl = "a", en = "b" }\n',
            "requirement 'g'.kind",
        ),
        (
            '[[requirement]]\nid = "s"\nkind = "special_connector"\nconnector = "S"\n'
            'endpoint = "https://evil.example"\nguide_section = "1"\n'
            'title = { nl = "a", en = "b" }\n',
            "endpoint",
        ),
    ],
)
def test_an_invalid_profile_is_refused_with_the_entry_named(tmp_path, extra, message) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(write(tmp_path, MINIMAL + extra))


def test_an_unreadable_profile_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="Cannot read the profile"):
        load_profile(tmp_path / "missing.toml")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write(tmp_path, "name = "))
