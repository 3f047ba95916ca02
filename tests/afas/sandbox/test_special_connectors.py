"""SubjectConnector, FileConnector and ReportConnector (§4.5)."""

from __future__ import annotations

import base64

from .helpers import Afas, assert_afas_error, assert_empty

SUBJECT = "/subjectconnector/1001/6A1F3C2E9B8D4E7F8A1B2C3D4E5F6A7B"
FILE = "/fileconnector/3F2504E0-4F89-11D3-9A0C-0305E82C3301/inkoop_5ffactuur.pdf"
REPORT = "/reportconnector/B2C3D4E5-F6A7-4B8C-9D0E-1F2A3B4C5D6E"


def test_subject_connector_returns_the_attachment(afas: Afas) -> None:
    response = afas.get("healthy", SUBJECT)
    assert response.status_code == 200
    body = response.json()
    assert body["filename"] == "factuur_INK00001.pdf"
    assert body["mimetype"] == "application/pdf"
    assert base64.b64decode(body["filedata"]).startswith(b"%PDF")


def test_subject_connector_unknown_file_is_404(afas: Afas) -> None:
    assert afas.get("healthy", "/subjectconnector/1001/NOPE").status_code == 404
    assert (
        afas.get("healthy", "/subjectconnector/9999/6A1F3C2E9B8D4E7F8A1B2C3D4E5F6A7B").status_code
        == 404
    )


def test_subject_connector_needs_app_connector_subject(afas: Afas) -> None:
    assert_empty(afas.get("missing-connectors", SUBJECT), 401)
    assert_empty(afas.get("missing-connectors", FILE), 401)


def test_file_connector_wants_underscores_as_5f(afas: Afas) -> None:
    response = afas.get("healthy", FILE)
    assert response.status_code == 200
    assert response.json()["filename"] == "inkoop_factuur.pdf"
    plain_underscore = FILE.replace("_5f", "_")
    assert afas.get("healthy", plain_underscore).status_code == 404


def test_report_connector(afas: Afas) -> None:
    response = afas.get("healthy", REPORT)
    assert response.status_code == 200
    assert set(response.json()) == {"filedata", "mimetype"}
    assert (
        afas.get("healthy", "/reportconnector/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )


def test_missing_special_connector_500_variant(afas: Afas) -> None:
    response = afas.get("not-supported-500", "/profitversion", headers={"Accept-Language": "en-us"})
    assert_afas_error(
        response, 500, "Connector not supported for this app or the user is not authorized."
    )
