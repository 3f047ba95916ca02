"""A local fake of the Slack Web API, speaking real HTTP on 127.0.0.1 (a free port).

Point the real SDK clients at it and assert on what they sent::

    with SlackWebApiFake() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.url)
        client.chat_postMessage(channel="C0ALERTS", text="hi")
        assert fake.messages("C0ALERTS")[0]["text"] == "hi"
        assert fake.calls("chat.postMessage")[0].params["channel"] == "C0ALERTS"

``async with SlackWebApiFake() as fake:`` works the same from async tests (``AsyncWebClient``).

Answers use Slack's shapes: HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``;
rate limits are HTTP 429 with ``Retry-After`` (see ``rate_limit`` and ``fail``). Every request is
recorded as a ``RecordedCall`` with the parsed parameters (query string, form or JSON body, JSON
strings in ``blocks``/``view``/``attachments``/... decoded) and the lower-cased headers.

One job a module: ``objects`` (the users, channels and identity it starts with), ``params``
(reading a request), ``workspace`` (configuration, recorded state, read-outs), ``methods``,
``history`` (reading a conversation back) and ``views`` (the Web API methods), ``dispatch``
(faults, auth, recording), ``http_app`` (the Starlette app) and ``fake`` (serving it in a
thread, waiting for calls). Message timestamps follow the workspace's ``clock`` (the wall
clock unless a test sets it), as Slack's follow its time.
"""

from .fake import SlackWebApiFake
from .objects import dm_channel_id, make_channel, make_user
from .params import parse_params
from .workspace import RecordedCall

__all__ = [
    "RecordedCall",
    "SlackWebApiFake",
    "dm_channel_id",
    "make_channel",
    "make_user",
    "parse_params",
]
