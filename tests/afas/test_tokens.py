"""Token parsing: every form an agent pastes, and nothing else."""

from __future__ import annotations

import base64
import logging
import pickle
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from afas.tokens import ACCEPTED_FORMS, AfasToken, TokenFormatError

DATA = "949C1A9CD9AE4797950D94F55A7A4D056770472D4963CB9A8D3800BEE0CCE6A2"
XML = f"<token><version>1</version><data>{DATA}</data></token>"
B64 = base64.b64encode(XML.encode()).decode()

hex_data = st.text(alphabet="0123456789ABCDEF", min_size=16, max_size=128)


def test_the_three_forms_give_the_same_token() -> None:
    assert AfasToken.parse(XML) == AfasToken.parse(B64) == AfasToken.parse(DATA)


def test_header_is_afastoken_space_base64_of_the_whole_xml() -> None:
    header = AfasToken.parse(DATA).authorization_header()
    assert header == f"AfasToken {B64}"


@pytest.mark.parametrize(
    "pasted",
    [
        XML + "\r\n",
        "  " + XML.replace("><", ">\n  <") + "\n",
        '<?xml version="1.0" encoding="utf-8"?>\r\n' + XML,
        B64[:40] + "\r\n" + B64[40:] + "\n",
        DATA[:32] + "\n" + DATA[32:],
        "AfasToken " + B64,
        f"<token><version>1</version><data>{DATA[:30]}\r\n{DATA[30:]}</data></token>",
    ],
)
def test_copy_paste_whitespace_is_tolerated(pasted: str) -> None:
    assert AfasToken.parse(pasted) == AfasToken.parse(DATA)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \n",
        "hello",
        "<token><version>2</version><data>" + DATA + "</data></token>",
        "<token><data>" + DATA + "</data></token>",
        "<token><version>1</version><data>not hex!</data></token>",
        base64.b64encode(b"<token>nope</token>").decode(),
        base64.b64encode(b"\xff\xfe\x00binary").decode(),
        "xoxb-1234-5678",
        "ABC",
    ],
)
def test_garbage_is_rejected_with_a_message_naming_the_three_forms(garbage: str) -> None:
    with pytest.raises(TokenFormatError) as error:
        AfasToken.parse(garbage)
    assert ACCEPTED_FORMS in str(error.value)


@given(hex_data)
def test_round_trip_through_every_form(data: str) -> None:
    token = AfasToken(data)
    assert AfasToken.parse(token.xml) == token
    assert AfasToken.parse(token.authorization_header().removeprefix("AfasToken ")) == token
    assert AfasToken.parse(data) == token
    decoded = base64.b64decode(token.authorization_header().split(" ", 1)[1]).decode()
    assert decoded == f"<token><version>1</version><data>{data}</data></token>"


@given(st.text(max_size=200))
def test_arbitrary_text_is_a_token_or_a_clear_error(text: str) -> None:
    try:
        token = AfasToken.parse(text)
    except TokenFormatError as error:
        assert ACCEPTED_FORMS in str(error)
        # The message never repeats what was pasted (it may be a secret).
        if len(text.strip()) >= 8:
            assert text.strip() not in str(error)
    else:
        assert re.fullmatch(r"[0-9A-Fa-f]{16,}", token.reveal_data())


@given(st.binary(min_size=1, max_size=120))
def test_base64_of_anything_but_a_token_is_rejected(blob: bytes) -> None:
    encoded = base64.b64encode(blob).decode()
    try:
        token = AfasToken.parse(encoded)
    except TokenFormatError:
        return
    # Only a hex string (bare data) or a real token XML may be accepted.
    assert re.fullmatch(r"[0-9A-Fa-f]+", encoded) or b"<token>" in blob.replace(b" ", b"")
    assert token.fingerprint


def test_data_never_shows_in_repr_str_format_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = AfasToken.parse(DATA)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("token %s %r", token, token)
    for shown in (repr(token), str(token), f"{token}", caplog.text):
        assert DATA not in shown
        assert B64 not in shown
    assert token.fingerprint in repr(token)
    assert len(token.fingerprint) == 10


def test_a_token_cannot_be_pickled_to_somewhere_else() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(AfasToken.parse(DATA))


def test_fingerprint_is_stable_and_differs_between_tokens() -> None:
    assert AfasToken.parse(XML).fingerprint == AfasToken.parse(B64).fingerprint
    assert AfasToken.parse(DATA).fingerprint != AfasToken.parse("A" * 64).fingerprint


# -- invisible copy-paste characters ---------------------------------------------------------

BOM, ZWSP, ZWNJ, ZWJ, WJ, NBSP, NNBSP = (
    "\ufeff",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\u00a0",
    "\u202f",
)


@pytest.mark.parametrize(
    "pasted",
    [
        BOM + XML,  # Notepad's "UTF-8 with BOM", PowerShell 5's Out-File -Encoding UTF8
        BOM + B64 + "\r\n",
        BOM + DATA,
        BOM + "AfasToken " + B64,
        ZWSP + DATA[:20] + ZWNJ + DATA[20:40] + ZWJ + DATA[40:] + WJ,
        NBSP + XML.replace("><", ">" + NNBSP + "<") + NBSP,
        B64[:30] + BOM + B64[30:],
        base64.b64encode((BOM + XML).encode()).decode(),  # the XML file, with BOM, encoded
        f"<token><version>1</version><data>{DATA[:30]}{ZWSP}{DATA[30:]}</data></token>",
    ],
)
def test_invisible_copy_paste_characters_are_tolerated(pasted: str) -> None:
    assert AfasToken.parse(pasted) == AfasToken.parse(DATA)


# -- the shape of a token in free text: contains_token and redact_tokens ---------------------

from urllib.parse import quote  # noqa: E402

from afas.tokens import MIN_BARE_DATA, contains_token, redact_tokens  # noqa: E402

# Token data is random hex: it holds digits and letters (a run of one kind is ordinary text).
token_data = st.text(
    alphabet="0123456789ABCDEFabcdef", min_size=MIN_BARE_DATA, max_size=128
).filter(lambda d: any(c.isdigit() for c in d) and any(not c.isdigit() for c in d))
invisible = st.sampled_from([BOM, ZWSP, ZWNJ, ZWJ, WJ])
surrounding = st.sampled_from(
    ["", "calling AFAS with ", "notes: ", "header=", "(", "token:\n", "zie "]
).flatmap(lambda before: st.tuples(st.just(before), st.sampled_from(["", " now", ")", ".\n"])))


def _break_lines(text: str, width: int) -> str:
    return "\r\n".join(text[i : i + width] for i in range(0, len(text), width))


def every_form(data: str) -> dict[str, str]:
    """Every shape a token takes in this product, and the copy-paste damage it suffers."""
    token = AfasToken(data)
    b64 = token.authorization_header().removeprefix("AfasToken ")
    forms = {
        "xml": token.xml,
        "xml with declaration": '<?xml version="1.0" encoding="utf-8"?>\n' + token.xml,
        "xml indented": token.xml.replace("><", ">\n  <"),
        "xml html-escaped (Slack)": token.xml.replace("<", "&lt;").replace(">", "&gt;"),
        "xml url-encoded": quote(token.xml, safe=""),
        "base64": b64,
        "base64 split": _break_lines(b64, 40),
        "base64 url-encoded": quote(b64, safe=""),
        "header": token.authorization_header(),
        "header url-encoded": quote(token.authorization_header(), safe=""),
        "header lower-case": "authorization: afastoken " + b64,
        "data": data,
        "data split": _break_lines(data, 32),
        "data indented": data[:30] + "\n    " + data[30:],
    }
    return forms


@given(token_data, surrounding, invisible, st.integers(min_value=0, max_value=200))
def test_every_form_of_a_token_is_found_in_surrounding_text(
    data: str, around: tuple[str, str], mark: str, where: int
) -> None:
    before, after = around
    for name, form in every_form(data).items():
        spoiled = form[: where % (len(form) + 1)] + mark + form[where % (len(form) + 1) :]
        for shape in (form, mark + form, spoiled):
            text = before + shape + after
            assert contains_token(text), name
            cleaned = redact_tokens(text, "[redacted]")
            assert "[redacted]" in cleaned, name
            assert data not in cleaned and data[:MIN_BARE_DATA] not in cleaned, name
            assert not contains_token(cleaned), name
            assert cleaned.startswith(before) and cleaned.endswith(after), name


@given(token_data)
def test_redaction_keeps_the_text_around_a_token(data: str) -> None:
    text = f"checked acme (fingerprint 949c1a9cd9): {AfasToken(data).xml} and then done"
    assert redact_tokens(text, "[x]") == "checked acme (fingerprint 949c1a9cd9): [x] and then done"


hex_of = lambda n: st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)  # noqa: E731
ordinary_item = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True).map(lambda k: f"org {k}"),
    hex_of(10).map(lambda f: f"fingerprint {f}"),
    hex_of(8).map(lambda k: f"key id {k}"),
    hex_of(32).map(lambda r: f"profitLogReference {r.upper()}"),
    hex_of(32).map(lambda t: f"trace {t}"),
    st.uuids().map(lambda u: f"X-Trace-Identifier {u}"),
    hex_of(40).map(lambda h: f"commit {h}"),
    st.sampled_from(
        [
            "AFAS rejects the token (HTTP 401)",
            "the AfasToken header is built from the XML",
            "https://12345.rest.afas.online/ProfitRestServices/metainfo",
            "SBQ_Kostenplaasten_All (1.1, 1.2.3)",
            "Voeg op het tabblad GetConnectoren van de App Connector SBQ_BTW toe",
            "a bad cafe, dead beef, added fee",
            "xoxb-1234-5678",
            "2026-11-26T12:00:00+00:00",
        ]
    ),
)


@given(st.lists(ordinary_item, min_size=1, max_size=8), st.sampled_from([" ", ", ", "\n", "; "]))
def test_ordinary_text_is_not_a_token(items: list[str], separator: str) -> None:
    text = separator.join(items)
    assert not contains_token(text)
    assert redact_tokens(text, "[redacted]") == text


def test_a_long_run_of_one_letter_or_of_digits_is_not_a_token() -> None:
    """A display name of 500 A's, or a long number, must stay readable (and storable)."""
    from afas.tokens import contains_token

    assert not contains_token("A" * 500)
    assert not contains_token("1" * 80)
    assert contains_token("ab12" * 16)
