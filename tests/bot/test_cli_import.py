"""``afasbot org import FILE.csv`` on SQLite and PostgreSQL, against the AFAS sandbox: the good
rows registered with their first check, every other row rejected with its reason in a file of
its own (never a token), safe to run again; files Excel writes (``;``, a byte-order mark,
Windows-1252) read as meant; a file that cannot be read at all changes nothing."""

from __future__ import annotations

import codecs
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from afas.sandbox.scenario import Scenario, generate_environments
from afas.sandbox.server import SandboxServer
from bot.cli.import_file import MAX_FILE_BYTES
from bot.services.bulk_import import MAX_ROWS
from storage.db import make_engine
from storage.models import AuditEvent, CheckRun, Org

HEADER = "key,name,env,kind,token,alert_channel,cs_owner,notes,interval_seconds"
GOOD = {"healthy", "test-environment", "missing-connectors"}


def stored(url: str) -> dict[str, Org]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return {org.key: org for org in session.exec(select(Org))}
    finally:
        engine.dispose()


def runs_by_org(url: str) -> dict[str, list[str]]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            keys = {org.id: org.key for org in session.exec(select(Org))}
            found: dict[str, list[str]] = {}
            for run in session.exec(select(CheckRun).order_by(CheckRun.id)):
                found.setdefault(keys[run.org_id], []).append(run.trigger)
            return found
    finally:
        engine.dispose()


def audit_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return len(session.exec(select(AuditEvent)).all())
    finally:
        engine.dispose()


def token_texts(scenario: Scenario, *names: str) -> list[str]:
    """Every form in which these environments' tokens could leak: the XML, the data, Base64."""
    texts = []
    for name in names:
        token = scenario.by_name(name).token()
        texts += [
            token.xml,
            token.reveal_data(),
            token.authorization_header().removeprefix("AfasToken "),
        ]
    return texts


def rejected_rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def mixed_file(cli) -> Path:
    """Good rows from the default scenario, and rows each wrong in its own way."""
    s = cli.scenario
    healthy = s.by_name("healthy").token()
    folder = cli.tmp_path / "tokens"
    folder.mkdir()
    (folder / "test.token").write_text(s.by_name("test-environment").token().xml + "\r\n")
    base64 = s.by_name("missing-connectors").token().authorization_header().split()[1]
    revoked = s.by_name("revoked-token").token().reveal_data()
    lines = [
        HEADER,
        f"healthy,Healthy BV,10001,production,{healthy.xml},C0ALERTS,Sanne,first customer,",
        "test-environment,Test BV,T10018AA,test,@tokens/test.token,,,,",
        f"missing-connectors,,10002,production,{base64},,,,3600",
        f"revoked-token,Revoked,10004,production,{revoked},,,,",  # line 5: AFAS says 401
        f"wrong-env,Wrong,10003,production,{healthy.xml},,,,",  # line 6: healthy's token
        f"Bad Key!,Bad,10001,production,{healthy.xml},,,,",  # line 7
        f"healthy,Twice,10001,production,{healthy.xml},,,,",  # line 8: a duplicate
        "no-token,No token,10001,production,,,,,",  # line 9: the column left empty
        f"mismatch,Mismatch,T10001AA,production,{healthy.xml},,,,",  # line 10
        f"too-often,Too often,10001,production,{healthy.xml},,,,60",  # line 11
        f"leaky,Leaky,10001,production,{healthy.xml},,,token {healthy.xml},",  # line 12
        "no-file,No file,10001,production,@tokens/missing.token,,,,",  # line 13
        f"channel-name,Channel,10001,production,{healthy.xml},#alerts,,,",  # line 14
    ]
    path = cli.tmp_path / "orgs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_rows_are_registered_and_the_rest_rejected_each_with_its_reason(
    cli, migrated_url
) -> None:
    path = mixed_file(cli)
    result = cli("org", "import", str(path))
    assert result.exit_code == 1, result.output
    assert "Registered 3, already registered 0, rejected 10." in result.stdout
    assert "10 rows were rejected" in result.stdout and "orgs.rejected.csv" in result.stdout

    orgs = stored(migrated_url)
    assert set(orgs) == GOOD
    healthy = orgs["healthy"]
    assert (healthy.display_name, healthy.alert_channel, healthy.cs_owner, healthy.notes) == (
        "Healthy BV",
        "C0ALERTS",
        "Sanne",
        "first customer",
    )
    assert (healthy.env_number, healthy.env_kind) == ("10001", "production")
    assert (orgs["test-environment"].env_number, orgs["test-environment"].env_kind) == (
        "10018",
        "test",
    )
    assert orgs["missing-connectors"].display_name == "missing-connectors"  # as `org add`
    assert orgs["missing-connectors"].check_interval_seconds == 3600
    assert healthy.check_interval_seconds is None  # the default applies
    assert orgs["missing-connectors"].current_state == "failing"  # registered with its problems
    fingerprint = cli.scenario.by_name("test-environment").token().fingerprint
    assert orgs["test-environment"].token_fingerprint == fingerprint
    # Each stored with its first check, in the one transaction of registration.
    assert runs_by_org(migrated_url) == {key: ["registration"] for key in GOOD}

    rows = rejected_rows(cli.tmp_path / "orgs.rejected.csv")
    assert rows[0] == ["line", "key", "reason"]
    by_line = {int(line): (key, reason) for line, key, reason in rows[1:]}
    assert sorted(by_line) == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert by_line[5][0] == "revoked-token"
    assert "did not accept the token for AFAS environment 10004" in by_line[5][1]
    assert "10003" in by_line[6][1] and "this environment's token" in by_line[6][1]
    assert by_line[7] == ("", by_line[7][1]) and "key is not valid" in by_line[7][1]
    assert by_line[8] == (
        "healthy",
        "the key healthy is also on line 2: a key is imported from its first line only",
    )
    assert by_line[9] == ("no-token", "the token is empty")
    assert "env and kind disagree" in by_line[10][1]
    assert "from 300 (5 minutes) to 86400" in by_line[11][1]
    assert "notes seems to hold a token" in by_line[12][1]
    assert "cannot read the token file tokens/missing.token" in by_line[13][1]
    assert "Slack channel id such as C0123456789" in by_line[14][1]

    written = (cli.tmp_path / "orgs.rejected.csv").read_text(encoding="utf-8-sig")
    everything = result.stdout + result.stderr + written
    for secret in token_texts(cli.scenario, "healthy", "test-environment", "missing-connectors"):
        assert secret not in everything
    for secret in token_texts(cli.scenario, "revoked-token"):
        assert secret not in everything


def test_running_the_same_file_again_changes_nothing_and_says_already_registered(
    cli, migrated_url
) -> None:
    path = mixed_file(cli)
    assert cli("org", "import", str(path)).exit_code == 1
    before = {key: (o.updated_at, o.token_ciphertext) for key, o in stored(migrated_url).items()}
    audits = audit_count(migrated_url)

    again = cli("org", "import", str(path))
    assert again.exit_code == 1  # the same rows are still wrong
    assert "Registered 0, already registered 3, rejected 10." in again.stdout
    for key in GOOD:
        assert f"{key} was already registered" in again.stdout
    after = {key: (o.updated_at, o.token_ciphertext) for key, o in stored(migrated_url).items()}
    assert after == before
    assert audit_count(migrated_url) == audits
    assert runs_by_org(migrated_url) == {key: ["registration"] for key in GOOD}

    # Only the good rows: everything is there already, so the exit status is 0.
    good = cli.tmp_path / "good.csv"
    good.write_text("\n".join(path.read_text().splitlines()[:4]) + "\n")
    quiet = cli("org", "import", str(good), "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.splitlines() == [
        "Registered 0, already registered 3, rejected 0.",
        "Every row is registered or was already there.",
    ]
    assert not (cli.tmp_path / "good.rejected.csv").exists()


def test_a_key_registered_for_another_environment_is_rejected_and_left_alone(
    cli, migrated_url
) -> None:
    assert cli.add("healthy").exit_code == 0
    before = stored(migrated_url)["healthy"]
    token = cli.scenario.by_name("missing-connectors").token().xml
    path = cli.tmp_path / "move.csv"
    path.write_text(f"{HEADER}\nhealthy,Moved,10002,production,{token},,,,\n")
    result = cli("org", "import", str(path), "--rejected", str(cli.tmp_path / "out.csv"))
    assert result.exit_code == 1
    (_, (line, key, reason)) = rejected_rows(cli.tmp_path / "out.csv")
    assert (line, key) == ("2", "healthy")
    assert reason.startswith(
        "healthy is already registered for AFAS environment 10001 (production), "
        "not 10002 (production); nothing changed."
    )
    after = stored(migrated_url)["healthy"]
    assert (after.env_number, after.display_name, after.token_ciphertext) == (
        before.env_number,
        before.display_name,
        before.token_ciphertext,
    )


def test_a_dutch_excel_file_with_semicolons_and_a_byte_order_mark(cli, migrated_url) -> None:
    token = cli.scenario.by_name("healthy").token().xml
    text = (
        "Key;Name;Env;Kind;Token;Notes\r\n"
        f'healthy;"Bakkerij Één; B.V.";10001;productie;{token};"regel 1\r\nregel 2"\r\n'
        ";;;;;\r\n"  # the empty rows Excel writes below a table
    )
    path = cli.tmp_path / "klanten.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    result = cli("org", "import", str(path), "--lang", "nl")
    assert result.exit_code == 0, result.output
    assert "Geregistreerd: 1, al geregistreerd: 0, geweigerd: 0." in result.stdout
    org = stored(migrated_url)["healthy"]
    assert org.display_name == "Bakkerij Één; B.V."
    assert org.notes == "regel 1\nregel 2"


def test_a_windows_1252_file_is_read_as_such_and_said_so(cli, migrated_url) -> None:
    token = cli.scenario.by_name("healthy").token().xml
    path = cli.tmp_path / "ansi.csv"
    path.write_bytes(
        f"key;name;env;kind;token\nhealthy;Café Müller;10001;o;{token}\n".encode("cp1252")
    )
    result = cli("org", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "is not UTF-8: read as Windows-1252" in result.stderr
    assert stored(migrated_url)["healthy"].display_name == "Café Müller"


def test_a_rejected_rows_file_keeps_the_inputs_delimiter(cli) -> None:
    path = cli.tmp_path / "nl.csv"
    path.write_text("key;name;env;kind;token\nacme;Acme;12345;production;not-a-token\n")
    result = cli("org", "import", str(path))
    assert result.exit_code == 1
    raw = (cli.tmp_path / "nl.rejected.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)  # Excel then reads it as UTF-8
    assert rejected_rows(cli.tmp_path / "nl.rejected.csv", ";")[1][:2] == ["2", "acme"]
    assert "holds no AFAS token" in result.stdout


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_header_names_every_missing_and_unknown_column_in_one_line(cli, migrated_url) -> None:
    path = cli.tmp_path / "bad-header.csv"
    path.write_text("key,name,kind,tokn,name\nacme,Acme,production,x,y\n")
    result = cli("org", "import", str(path))
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "(line 1) lacks env, token; has unknown columns tokn; names name twice" in line
    assert "Nothing was imported" in line
    assert stored(migrated_url) == {}
    assert not (cli.tmp_path / "bad-header.rejected.csv").exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty"),
        (b"\r\n  \r\n", "is empty"),
        (f"{HEADER}\n".encode(), "has only a header line"),
        (b"PK\x03\x04\x14\x00\x06\x00", "is an Excel workbook, not a CSV file"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x81\x8d", "is not a text file"),
    ],
    ids=["empty", "blank lines", "header only", "xlsx", "binary"],
)
def test_a_file_that_cannot_be_read_changes_nothing(cli, migrated_url, content, says) -> None:
    path = cli.tmp_path / "in.csv"
    path.write_bytes(content)
    result = cli("org", "import", str(path))
    assert result.exit_code == 2
    assert says in one_line_error(result)
    assert stored(migrated_url) == {}


def test_a_missing_file_is_a_one_line_error(cli) -> None:
    result = cli("org", "import", str(cli.tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "cannot read" in one_line_error(result) and "No such file" in result.stderr


def test_a_huge_file_is_refused_before_anything_is_checked(cli, migrated_url) -> None:
    token = cli.scenario.by_name("healthy").token().xml
    rows = "".join(f"org-{i},Org {i},10001,production,{token}\n" for i in range(MAX_ROWS + 1))
    path = cli.tmp_path / "huge.csv"
    path.write_text("key,name,env,kind,token\n" + rows)
    started = time.monotonic()
    result = cli("org", "import", str(path))
    assert result.exit_code == 2
    assert f"has more than {MAX_ROWS} rows: split it" in one_line_error(result)
    assert time.monotonic() - started < 10
    assert stored(migrated_url) == {}
    big = cli.tmp_path / "big.csv"
    with open(big, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    result = cli("org", "import", str(big))
    assert result.exit_code == 2
    assert "is larger than 64 MiB" in one_line_error(result)


def test_the_rejected_file_cannot_be_the_input(cli) -> None:
    path = cli.tmp_path / "orgs.csv"
    path.write_text(f"{HEADER}\n")
    result = cli("org", "import", str(path), "--rejected", str(path))
    assert result.exit_code == 2
    assert "is the input file itself" in one_line_error(result)
    assert path.read_text() == f"{HEADER}\n"


def test_tokens_are_verified_concurrently(cli, migrated_url) -> None:
    """Eight orgs, each on its own environment answering in 0.6 s: one after another would
    take eight checks' time; concurrently (``AFASBOT_CHECK_CONCURRENCY``, 8) about one."""
    environments = generate_environments(9, mix="healthy", latency_ms=600)
    with SandboxServer(Scenario(environments=environments)) as slow:
        env = {"AFASBOT_AFAS_URL_TEMPLATE": slow.url_template}

        def csv_of(chosen) -> Path:
            rows = "".join(
                f"org-{e.number},{e.name},{e.number},production,{e.token().xml}\n" for e in chosen
            )
            path = cli.tmp_path / f"{len(chosen)}.csv"
            path.write_text("key,name,env,kind,token\n" + rows)
            return path

        first = csv_of(environments[:1])
        started = time.monotonic()
        assert cli("org", "import", str(first), "-q", env=env).exit_code == 0
        single = time.monotonic() - started
        many = csv_of(environments[1:])
        started = time.monotonic()
        result = cli("org", "import", str(many), "-q", env=env)
        elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Registered 8, already registered 0, rejected 0." in result.stdout
    assert len(stored(migrated_url)) == 9
    assert elapsed < 3 * single, (elapsed, single)


def test_an_org_without_an_interval_of_its_own_follows_the_setting(cli, migrated_url) -> None:
    token = cli.scenario.by_name("healthy").token().xml
    other = cli.scenario.by_name("near-miss").token().xml
    path = cli.tmp_path / "orgs.csv"
    path.write_text(
        f"{HEADER}\n"
        f"healthy,Healthy,10001,production,{token},,,,\n"
        f"near-miss,Near,10003,production,{other},,,,600\n"
    )
    env = {"AFASBOT_CHECK_INTERVAL_SECONDS": "7200"}
    now = datetime.now(UTC)
    assert cli("org", "import", str(path), env=env).exit_code == 0
    orgs = stored(migrated_url)

    def due(org: Org) -> datetime:
        at = org.next_check_at
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    # The first scheduled check falls on the org's grid, half to one and a half intervals on.
    assert now + timedelta(seconds=3600) < due(orgs["healthy"]) <= now + timedelta(seconds=10900)
    assert now + timedelta(seconds=300) < due(orgs["near-miss"]) <= now + timedelta(seconds=960)
    shown = cli("org", "show", "healthy", env=env)
    assert "7200 s (the default, AFASBOT_CHECK_INTERVAL_SECONDS)" in shown.stdout
    assert "600 s (its own)" in cli("org", "show", "near-miss", env=env).stdout


@pytest.mark.parametrize("value", ["59", "86401", "soon"])
def test_the_default_interval_setting_is_bounded(cli, value) -> None:
    result = cli("org", "import", "x.csv", env={"AFASBOT_CHECK_INTERVAL_SECONDS": value})
    assert result.exit_code == 2
    assert "AFASBOT_CHECK_INTERVAL_SECONDS" in result.stderr


def test_org_add_takes_an_interval_of_its_own(cli, migrated_url) -> None:
    assert cli.add("healthy", "--interval", "1800").exit_code == 0
    assert cli.add("near-miss").exit_code == 0
    orgs = stored(migrated_url)
    assert orgs["healthy"].check_interval_seconds == 1800
    assert orgs["near-miss"].check_interval_seconds is None
    refused = cli.add("missing-connectors", "--interval", "30")
    assert refused.exit_code == 2
    assert "between 5 minutes and 24 hours" in refused.stderr
    assert "missing-connectors" not in stored(migrated_url)


def test_a_rejected_file_that_cannot_be_written_stops_the_import_before_it_starts(
    cli, migrated_url
) -> None:
    path = mixed_file(cli)
    result = cli("org", "import", str(path), "--rejected", str(cli.tmp_path / "no" / "x.csv"))
    assert result.exit_code == 2
    assert "cannot be written (no such folder)" in one_line_error(result)
    assert stored(migrated_url) == {}
