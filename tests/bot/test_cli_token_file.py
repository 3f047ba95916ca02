"""Token files as Windows tools write them: with a byte-order mark, in UTF-8 or UTF-16."""

from __future__ import annotations

import codecs
import json

import pytest

from bot.cli.common import decode_token_file

XML = "<token><version>1</version><data>949C1A9CD9AE4797</data></token>"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (codecs.BOM_UTF8 + XML.encode() + b"\r\n", "Notepad: UTF-8 with BOM"),
        (XML.encode("utf-16"), "PowerShell 5: Out-File, > (UTF-16 with BOM)"),
        (codecs.BOM_UTF16_BE + XML.encode("utf-16-be"), "UTF-16 big-endian with BOM"),
        (XML.encode() + b"\n", "plain UTF-8"),
    ],
)
def test_a_token_file_decodes_without_its_byte_order_mark(raw: bytes, name: str) -> None:
    assert decode_token_file(raw).strip() == XML, name


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode(),
        lambda text: text.encode("utf-16"),
        lambda text: ("\ufeff\u200b" + text + "\u00a0\r\n").encode(),
    ],
    ids=["utf-8 with BOM", "utf-16", "zero-width and non-breaking spaces"],
)
@pytest.mark.parametrize("form", ["xml", "base64", "data"])
def test_check_accepts_a_token_file_saved_by_windows_tools(cli, encode, form) -> None:
    env = cli.scenario.by_name("healthy")
    token = env.token()
    text = {
        "xml": token.xml,
        "base64": token.authorization_header().removeprefix("AfasToken "),
        "data": token.reveal_data(),
    }[form]
    path = cli.tmp_path / "windows.token"
    path.write_bytes(encode(text))
    result = cli(
        "check", "--env", env.number, "--kind", "production", "--token-file", str(path), "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["overall"] == "healthy"
