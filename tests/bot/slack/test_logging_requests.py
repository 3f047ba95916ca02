"""Logs an operator can use and that leak nothing: JSON lines with a request id that follows a
Slack request into its check, Bolt's own lines (a failed signature logs the whole body) with
every token form redacted, and the configured secrets redacted wherever they appear."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import urlencode

import pytest

from afas.tokens import AfasToken
from bot.logging_setup import configure_logging, library_logger
from tests.bot.slack.requests import signed
from tests.bot.slack.test_afas_command import command_body, dispatch, register, wait_async

DATA = "5D2C0F3E9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5A4B3C2D"
TOKEN = AfasToken(DATA)
FORMS = {
    "xml": TOKEN.xml,
    "base64": base64.b64encode(TOKEN.xml.encode()).decode(),
    "data": DATA,
    "header": TOKEN.authorization_header(),
}


@pytest.fixture
def logs(capsys):
    """The process's logging as `serve` sets it up, at DEBUG, as JSON; what it wrote."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("DEBUG", fmt="json", secrets=["s3cret-signing-value", "xoxb-test"])
    library_logger()

    def written() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    yield written
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


@pytest.mark.parametrize("form", sorted(FORMS))
async def test_a_badly_signed_form_with_a_token_leaves_no_token_in_any_log(
    bolt, logs, form
) -> None:
    payload = {
        "type": "view_submission",
        "view": {
            "state": {
                "values": {"token": {"value": {"type": "plain_text_input", "value": FORMS[form]}}}
            }
        },
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed(body, secret="not-the-signing-secret")
    response = await dispatch(bolt, body, headers=headers)
    assert response.status == 401
    text = json.dumps(logs())
    encoded = urlencode({"x": FORMS["base64"]})[2:]
    for leak in (DATA, DATA[:24], FORMS["base64"][:24], encoded[:24]):
        assert leak not in text


async def test_json_lines_carry_a_request_id_from_the_command_into_its_check(
    bolt, slack, runtime, scenario, logs
) -> None:
    register(runtime, scenario, "healthy")
    await dispatch(bolt, command_body(slack, "check healthy"))
    await wait_async(slack, 2)
    lines = logs()
    (checked,) = [line for line in lines if line.get("trigger") == "command"]
    (request,) = [line for line in lines if line.get("slack_request") == "/afas check"]
    assert checked["org"] == "healthy" and checked["state"] == "healthy"
    assert checked["request_id"] == request["request_id"] != "-"
    assert request["outcome"] == "ok" and request["level"] == "INFO"
    assert "xoxb-test" not in json.dumps(lines)


def test_configured_secrets_are_redacted_whatever_their_shape(logs) -> None:
    logging.getLogger("anything").warning("signing secret is %s", "s3cret-signing-value")
    (line,) = logs()
    assert "s3cret-signing-value" not in line["message"] and "[redacted]" in line["message"]


def test_every_wrong_setting_is_named_at_once(cli) -> None:
    result = cli(
        "org",
        "list",
        env={
            "AFASBOT_CHECK_LEASE_SECONDS": "-1",
            "AFASBOT_LOG_LEVEL": "LOUD",
            "AFASBOT_PORT": "99999",
        },
    )
    assert result.exit_code == 2
    for name in ("AFASBOT_CHECK_LEASE_SECONDS", "AFASBOT_LOG_LEVEL", "AFASBOT_PORT"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr
