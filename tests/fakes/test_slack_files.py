"""The fake's external file upload, driven by the real slack_sdk clients over HTTP: the three
steps ``files_upload_v2`` takes, and the refusals Slack gives at each."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import SlackWebApiFake, dm_channel_id
from tests.fakes.slack.files import shared_files, uploads


@pytest.fixture(scope="module")
def server() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


@pytest.fixture
def fake(server: SlackWebApiFake) -> SlackWebApiFake:
    server.reset()
    server.scopes += ",files:write"
    return server


@pytest.fixture
def client(fake: SlackWebApiFake) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def test_files_upload_v2_makes_the_three_calls_and_the_file_is_shared_in_the_thread(
    fake, client
) -> None:
    root = client.chat_postMessage(channel="C0HELPDESK", text="the note")
    content = "# Overdracht\n\nCafé ✅ 🟩\n"
    answer = client.files_upload_v2(
        channel="C0HELPDESK",
        thread_ts=root["ts"],
        filename="handover-acme-2026-11-26.md",
        content=content,
        title="Handover note acme",
        initial_comment="here it is",
    )
    assert answer["file"]["title"] == "Handover note acme"
    assert fake.methods() == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    announced = fake.calls("files.getUploadURLExternal")[0]
    assert announced.params["length"] == str(len(content.encode()))
    (upload,) = uploads(fake)
    assert upload.status == 200 and upload.content == content.encode()
    assert upload.file_id == answer["file"]["id"]
    (shared,) = shared_files(fake, "C0HELPDESK")
    assert shared["content"].decode() == content
    assert shared["name"] == "handover-acme-2026-11-26.md"
    assert shared["thread_ts"] == root["ts"] and shared["initial_comment"] == "here it is"
    (reply,) = fake.messages("C0HELPDESK", thread_ts=root["ts"])
    assert reply["subtype"] == "file_share" and reply["text"] == "here it is"
    assert reply["files"][0]["id"] == shared["id"]


async def test_the_async_client_uploads_the_same_way(fake) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
    await client.files_upload_v2(channel="C0ALERTS", filename="a.md", content=b"\x00\x01bytes")
    assert shared_files(fake, "#afas-alerts")[0]["content"] == b"\x00\x01bytes"


def test_without_files_write_the_upload_is_refused_with_missing_scope(fake, client) -> None:
    fake.scopes = "chat:write,commands"
    with pytest.raises(SlackApiError) as caught:
        client.files_upload_v2(channel="C0HELPDESK", filename="a.md", content="x")
    assert caught.value.response["error"] == "missing_scope"
    assert caught.value.response["needed"] == "files:write"
    assert uploads(fake) == [] and shared_files(fake) == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"filename": "a.md"}, "invalid_arguments"),  # no length
        ({"length": 5}, "invalid_arguments"),  # no filename
        ({"filename": "a.md", "length": 0}, "missing_argument"),
        ({"filename": "a.md", "length": "five"}, "invalid_arguments"),
    ],
)
def test_get_upload_url_needs_a_filename_and_a_length(fake, client, params, error) -> None:
    assert error_of(lambda: client.api_call("files.getUploadURLExternal", params=params)) == error


def test_the_upload_must_bring_the_announced_length_once(fake, client) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.md", length=5)
    assert ticket["upload_url"].startswith(fake.url)
    short = httpx.post(ticket["upload_url"], content=b"abc")
    assert short.status_code == 400 and "announced 5, received 3" in short.text
    good = httpx.post(ticket["upload_url"], content=b"abcde")
    assert good.status_code == 200 and good.text == "OK - 5"
    assert httpx.post(ticket["upload_url"], content=b"abcde").status_code == 409
    assert httpx.post(f"{fake.url}__upload__/F0NOPE", content=b"x").status_code == 404
    assert [u.status for u in uploads(fake)] == [400, 200, 409, 404]


def test_a_multipart_upload_is_read_like_slack_does(fake, client) -> None:
    ticket = client.files_getUploadURLExternal(filename="a.md", length=4)
    answer = httpx.post(ticket["upload_url"], files={"file": ("a.md", b"note")})
    assert answer.status_code == 200
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C0ALERTS")
    assert shared_files(fake)[0]["content"] == b"note" and shared_files(fake)[0]["title"] == "a.md"


def test_complete_refuses_files_unknown_or_not_uploaded_yet(fake, client) -> None:
    unknown = [{"id": "F0NOPE", "title": "x"}]
    complete = client.files_completeUploadExternal
    assert error_of(lambda: complete(files=unknown, channel_id="C0ALERTS")) == "file_not_found"
    ticket = client.files_getUploadURLExternal(filename="a.md", length=3)
    early = [{"id": ticket["file_id"], "title": "a"}]
    with pytest.raises(SlackApiError) as caught:
        complete(files=early, channel_id="C0ALERTS")
    assert caught.value.response["error"] == "file_not_found"
    assert "was not uploaded" in str(caught.value.response["response_metadata"])
    assert shared_files(fake) == [] and fake.messages("C0ALERTS") == []


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("C0NOWHERE", "invalid_channel"),
        ("C0OUTSIDE", "not_in_channel"),
        ("C0OLD", "is_archived"),
        ("U0ALICE", "invalid_arguments"),  # a user id is no channel id: Slack wants the D…
    ],
)
def test_complete_refuses_a_channel_the_file_cannot_go_to(fake, client, channel, error) -> None:
    fake.add_channel("C0OUTSIDE", "outside", is_member=False)
    fake.add_channel("C0OLD", "old", is_archived=True)
    ticket = client.files_getUploadURLExternal(filename="a.md", length=3)
    httpx.post(ticket["upload_url"], content=b"abc")
    files = [{"id": ticket["file_id"], "title": "a"}]
    assert (
        error_of(lambda: client.files_completeUploadExternal(files=files, channel_id=channel))
        == error
    )
    assert shared_files(fake) == []


def test_a_file_goes_to_a_dm_by_its_d_id(fake, client) -> None:
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    client.files_upload_v2(channel=dm, filename="a.md", content="for alice")
    assert dm == dm_channel_id("U0ALICE")
    assert shared_files(fake, "U0ALICE")[0]["content"] == b"for alice"
