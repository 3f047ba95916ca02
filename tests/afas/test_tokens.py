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
