"""An AFAS administrator editing a connector's fields after the fact (``field_changes``): what
``/metainfo/get|update`` describe, what a GetConnector returns and what an UpdateConnector
accepts change with it, on a running sandbox; a change that names no field is refused whole."""

from __future__ import annotations

import pytest

from afas.sandbox.field_changes import FieldChangeError
from afas.sandbox.scenario import ScenarioError, scenario_from_dict

from .helpers import custom_afas


def fields_of(afas, path: str, key: str = "id") -> dict[str, dict]:
    return {f[key]: f for f in afas.get("acme", path).json()["fields"]}


def test_a_renamed_getconnector_field_keeps_its_label_type_and_values() -> None:
    with custom_afas([{"name": "acme", "number": 40001}]) as afas:
        before = fields_of(afas, "/metainfo/get/SBQ_BTW")
        afas.env("acme").edit_field("SBQ_BTW", "VatCode", rename_to="VatCd")  # the server runs
        after = fields_of(afas, "/metainfo/get/SBQ_BTW")
        rows = afas.get("acme", "/connectors/SBQ_BTW?skip=0&take=2").json()["rows"]
    assert "VatCode" in before and "VatCode" not in after
    assert after["VatCd"]["label"] == before["VatCode"]["label"] == "Btw-code"
    assert after["VatCd"]["dataType"] == "string"
    assert [row["VatCd"] for row in rows] == ["H21", "H9"]
    assert all("VatCode" not in row for row in rows)


def test_a_removed_and_a_retyped_getconnector_field() -> None:
    with custom_afas([{"name": "acme", "number": 40001}]) as afas:
        env = afas.env("acme")
        env.edit_field("SBQ_BTW", "AccountNo", remove=True)
        env.edit_field("SBQ_BTW", "Percentage", retype_to="string")
        after = fields_of(afas, "/metainfo/get/SBQ_BTW")
        (row,) = afas.get("acme", "/connectors/SBQ_BTW?skip=0&take=1").json()["rows"]
        other = fields_of(afas, "/metainfo/get/SBQ_Debiteuren")
    assert "AccountNo" not in after and "AccountNo" not in row
    assert after["Percentage"]["dataType"] == "string"
    assert "DebtorId" in other  # other connectors are as they were


def test_an_updateconnector_field_below_the_root_renamed_and_retyped() -> None:
    with custom_afas([{"name": "acme", "number": 40001, "unknown_fields": "refuse"}]) as afas:
        env = afas.env("acme")
        env.edit_field("KnSubject", "KnSubjectLink.SfTp", rename_to="SfType")
        env.edit_field("KnSubject", "StId", retype_to="string")
        meta = afas.get("acme", "/metainfo/update/KnSubject").json()
        link = next(o for o in meta["objects"] if o["name"] == "KnSubjectLink")
        root = {f["fieldId"]: f for f in meta["fields"]}
        link_fields = {f["fieldId"]: f for f in link["fields"]}
        write = afas.request(
            "POST",
            "acme",
            "/connectors/KnSubject",
            json={
                "KnSubject": {
                    "Element": {
                        "Fields": {"StId": "1", "Ds": "Factuur"},
                        "Objects": [
                            {"KnSubjectLink": {"Element": {"Fields": {"SfTp": 1, "SfId": "1"}}}}
                        ],
                    }
                }
            },
        )
    assert "SfTp" not in link_fields
    assert link_fields["SfType"]["dataType"] == "int"
    assert link_fields["SfType"]["label"] == "Type bestemming"
    assert root["StId"]["dataType"] == "string"
    # The engine writes with the edited connector: the old field id is now unknown there.
    assert write.status_code == 500, write.text
    assert "SfTp" in write.text


def test_a_change_naming_no_field_is_refused_and_changes_nothing() -> None:
    with custom_afas([{"name": "acme", "number": 40001}]) as afas:
        env = afas.env("acme")
        env.edit_field("SBQ_BTW", "VatCode", rename_to="VatCd")
        with pytest.raises(FieldChangeError, match="has no field 'VatCode'"):
            env.edit_field("SBQ_BTW", "VatCode", remove=True)  # renamed already
        with pytest.raises(FieldChangeError, match="already has a field 'Description'"):
            env.edit_field("SBQ_BTW", "VatCd", rename_to="Description")
        with pytest.raises(FieldChangeError, match="not a known connector"):
            env.edit_field("SBQ_Nope", "X", remove=True)
        assert [c.field for c in env.field_changes] == ["VatCode"]
        assert "VatCd" in fields_of(afas, "/metainfo/get/SBQ_BTW")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"connector": "SBQ_BTW", "field": "Nope", "remove": True}, "has no field 'Nope'"),
        ({"connector": "FiEntries", "field": "FiEntries.Nope", "remove": True}, "has no field"),
        ({"connector": "SBQ_BTW", "field": "VatCode"}, "exactly one of"),
        ({"connector": "SBQ_BTW", "field": "VatCode", "retype_to": "text"}, "retype_to"),
    ],
)
def test_a_scenario_file_with_a_bad_change_names_it(change: dict, message: str) -> None:
    data = {"environments": [{"name": "acme", "number": 40001, "field_changes": [change]}]}
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data, "drift.toml")


def test_a_scenario_file_may_change_fields_from_the_start() -> None:
    scenario = scenario_from_dict(
        {
            "environments": [
                {
                    "name": "acme",
                    "number": 40001,
                    "column_variant": "english",  # changes name the ids that environment serves
                    "field_changes": [{"connector": "SBQ_BTW", "field": "Rate", "remove": True}],
                }
            ]
        }
    )
    assert scenario.by_name("acme").field_changes[0].field == "Rate"
