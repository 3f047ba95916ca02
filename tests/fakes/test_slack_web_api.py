"""The Slack Web API fake, driven by the real slack_sdk clients over HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers, builtin_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack import RecordedCall, SlackWebApiFake

TS = re.compile(r"^\d{10}\.\d{6}$")
MODAL = {
    "type": "modal",
    "callback_id": "token_add",
    "title": {"type": "plain_text", "text": "Add token"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Paste the token"}}],
}
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}


@pytest.fixture(scope="module")
def server() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        yield fake


@pytest.fixture
def fake(server: SlackWebApiFake) -> SlackWebApiFake:
    server.reset()
    return server


@pytest.fixture
def client(fake: SlackWebApiFake) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


@pytest.fixture
def aclient(fake: SlackWebApiFake) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.url)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return excinfo.value.response["error"]


# ---------------------------------------------------------------- auth


def test_auth_test_ok_and_invalid_auth(fake: SlackWebApiFake, client: WebClient) -> None:
    assert fake.url.endswith("/api/")
    result = client.auth_test()
    assert result["ok"] is True
    assert {k: result[k] for k in ("team_id", "user_id", "bot_id")} == {
        "team_id": "T0TEST",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
    }
    assert result["url"].startswith("https://") and result["team"] and result["user"]

    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=fake.url).auth_test()
    assert api_error(excinfo) == "invalid_auth"
    assert excinfo.value.response.status_code == 200

    calls = fake.calls("auth.test")
    assert [c.token for c in calls] == ["xoxb-test", "xoxb-wrong"]
    assert isinstance(calls[0], RecordedCall)
    assert calls[0].headers["authorization"] == "Bearer xoxb-test"
    assert calls[0].at <= calls[1].at


async def test_auth_test_async(fake: SlackWebApiFake, aclient: AsyncWebClient) -> None:
    assert (await aclient.auth_test())["bot_id"] == "B0BOT"
    fake.valid_tokens = {"xoxb-other"}
    with pytest.raises(SlackApiError) as excinfo:
        await aclient.auth_test()
    assert api_error(excinfo) == "invalid_auth"


def test_unknown_method(fake: SlackWebApiFake, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.teleport", json={"channel": "C0ALERTS"})
    assert api_error(excinfo) == "unknown_method"
    assert fake.calls("chat.teleport")[0].params == {"channel": "C0ALERTS"}


# ---------------------------------------------------------------- messages


def test_post_update_and_thread_reply(fake: SlackWebApiFake, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*acme* is broken"}}]
    posted = client.chat_postMessage(channel="C0ALERTS", text="acme is broken", blocks=blocks)
    ts = posted["ts"]
    assert TS.match(ts)
    assert posted["channel"] == "C0ALERTS"
    assert posted["message"]["text"] == "acme is broken"
    assert posted["message"]["blocks"] == blocks
    assert "thread_ts" not in posted["message"]

    updated = client.chat_update(channel="C0ALERTS", ts=ts, text="acme is fixed")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C0ALERTS", ts, "acme is fixed")

    reply = client.chat_postMessage(channel="C0ALERTS", text="details", thread_ts=ts)
    assert reply["message"]["thread_ts"] == ts
    assert float(reply["ts"]) > float(ts)

    stored = fake.messages("C0ALERTS")
    assert [m["text"] for m in stored] == ["acme is fixed", "details"]
    assert stored[0]["blocks"] == blocks  # chat.update without blocks keeps them, as Slack does
    assert stored[0]["reply_count"] == 1
    assert [m["text"] for m in fake.messages("C0ALERTS", thread_ts=ts)] == ["details"]
    assert fake.messages("#afas-alerts") == stored
    assert fake.messages("C0HELPDESK") == []


def test_message_errors(fake: SlackWebApiFake, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0NOPE", text="x")
    assert api_error(excinfo) == "channel_not_found"
    with pytest.raises(SlackApiError) as excinfo, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0ALERTS")
    assert api_error(excinfo) == "no_text"
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C0ALERTS", ts="1700000000.999999", text="x")
    assert api_error(excinfo) == "message_not_found"
    # D-ids and known user ids (→ their DM) are accepted
    assert client.chat_postMessage(channel="D0SOMEONE", text="dm")["channel"] == "D0SOMEONE"
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["channel"] == "D0ALICE"
    assert [m["text"] for m in fake.messages("U0ALICE")] == ["hi"]


def test_form_encoded_and_get_params_are_parsed(fake: SlackWebApiFake, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call(
        "chat.postMessage",
        data={"channel": "C0HELPDESK", "text": "form", "blocks": json.dumps(blocks)},
    )
    call = fake.calls("chat.postMessage")[0]
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.params == {"channel": "C0HELPDESK", "text": "form", "blocks": blocks}
    assert fake.messages("C0HELPDESK")[0]["blocks"] == blocks

    client.users_info(user="U0BOB")  # sent as GET with a query string
    assert fake.calls("users.info")[0].params == {"user": "U0BOB"}


async def test_post_and_update_async(fake: SlackWebApiFake, aclient: AsyncWebClient) -> None:
    first = await aclient.chat_postMessage(channel="C0ALERTS", text="one")
    second = await aclient.chat_postMessage(channel="C0ALERTS", text="two")
    assert float(second["ts"]) > float(first["ts"])
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "new"}}]
    await aclient.chat_update(channel="C0ALERTS", ts=first["ts"], text="uno", blocks=blocks)
    assert [(m["text"], m["blocks"]) for m in fake.messages("C0ALERTS")] == [
        ("uno", blocks),
        ("two", []),
    ]


def test_concurrent_posts_get_unique_timestamps(fake: SlackWebApiFake) -> None:
    def post() -> None:
        c = WebClient(token="xoxb-test", base_url=fake.url)
        for i in range(5):
            c.chat_postMessage(channel="C0ALERTS", text=str(i))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [m["ts"] for m in fake.messages("C0ALERTS")]
    assert len(stamps) == len(set(stamps)) == 30
    assert stamps == sorted(stamps)


def test_ephemeral(fake: SlackWebApiFake, client: WebClient) -> None:
    result = client.chat_postEphemeral(channel="C0HELPDESK", user="U0ALICE", text="only you")
    assert TS.match(result["message_ts"])
    assert fake.messages("C0HELPDESK") == []
    assert fake.ephemerals == [
        {
            "channel": "C0HELPDESK",
            "user": "U0ALICE",
            "text": "only you",
            "blocks": [],
            "message_ts": result["message_ts"],
        }
    ]
    assert fake.ephemeral_messages(user="U0BOB") == []
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postEphemeral", json={"channel": "C0HELPDESK", "text": "x"})
    assert api_error(excinfo) == "invalid_arguments"


# ---------------------------------------------------------------- users and groups


def test_users_info_locale(fake: SlackWebApiFake, client: WebClient) -> None:
    plain = client.users_info(user="U0ALICE")["user"]
    assert "locale" not in plain
    assert plain["id"] == "U0ALICE" and plain["tz"] == "Europe/Amsterdam"
    assert plain["is_bot"] is False and plain["profile"]["email"] == "alice@example.com"
    with_locale = client.users_info(user="U0ALICE", include_locale=True)["user"]
    assert with_locale["locale"] == "nl-NL"

    fake.add_user("U0CARLA", "carla", locale="de-DE")
    assert client.users_info(user="U0CARLA", include_locale=True)["user"]["locale"] == "de-DE"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U0NOBODY")
    assert api_error(excinfo) == "user_not_found"


async def test_users_info_async(aclient: AsyncWebClient) -> None:
    assert "locale" not in (await aclient.users_info(user="U0BOB"))["user"]
    user = (await aclient.users_info(user="U0BOB", include_locale=True))["user"]
    assert user["locale"] == "en-US"


def test_usergroups(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.usergroups["S0ONCALL"] = ["U0BOB"]
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0BOB"]
    with pytest.raises(SlackApiError) as excinfo:
        client.usergroups_users_list(usergroup="S0MISSING")
    assert api_error(excinfo) == "no_such_subteam"


def test_conversations_info(client: WebClient) -> None:
    assert client.conversations_info(channel="C0HELPDESK")["channel"]["name"] == "helpdesk"
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_info(channel="C0NOPE")
    assert api_error(excinfo) == "channel_not_found"


# ---------------------------------------------------------------- views


def test_views_open_update_publish(fake: SlackWebApiFake, client: WebClient) -> None:
    opened = client.views_open(trigger_id="trig-1", view=MODAL)["view"]
    assert opened["id"] and opened["hash"] and opened["callback_id"] == "token_add"
    call = fake.calls("views.open")[0]
    assert call.params["view"] == MODAL  # decoded into a dict

    fake.expired_trigger_ids.add("trig-old")
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="trig-old", view=MODAL)
    assert api_error(excinfo) == "expired_trigger_id"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="trig-1", view=MODAL)
    assert api_error(excinfo) == "exchanged_trigger_id"

    new_modal = {**MODAL, "title": {"type": "plain_text", "text": "Saved"}}
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=opened["id"], hash="stale", view=new_modal)
    assert api_error(excinfo) == "hash_conflict"
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=new_modal)
    assert updated["view"]["id"] == opened["id"]
    assert updated["view"]["hash"] != opened["hash"]
    assert fake.views[opened["id"]]["title"]["text"] == "Saved"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id="V0NOPE", view=new_modal)
    assert api_error(excinfo) == "not_found"

    pushed = client.views_push(trigger_id="trig-2", view={**MODAL, "external_id": "ext-1"})
    by_external = client.views_update(external_id="ext-1", view={**MODAL, "external_id": "ext-1"})
    assert by_external["view"]["id"] == pushed["view"]["id"]

    first = client.views_publish(user_id="U0ALICE", view=HOME)["view"]
    again = client.views_publish(user_id="U0ALICE", view={**HOME, "blocks": []})["view"]
    assert again["id"] == first["id"]
    assert fake.home_views["U0ALICE"]["blocks"] == []
    assert list(fake.home_views) == ["U0ALICE"]


async def test_views_async_form_encoded_view(
    fake: SlackWebApiFake, aclient: AsyncWebClient
) -> None:
    # bolt/apps may send the view as a JSON string in a form body; both must be decoded
    result = await aclient.api_call(
        "views.open", data={"trigger_id": "trig-9", "view": json.dumps(MODAL)}
    )
    assert result["view"]["type"] == "modal"
    assert fake.calls("views.open")[0].params["view"] == MODAL


# ---------------------------------------------------------------- response URLs


def test_response_url_recording(fake: SlackWebApiFake) -> None:
    url = fake.response_url("cmd")
    assert url.startswith(fake.url) and url.endswith("cmd-1")
    answer = httpx.post(url, json={"text": "working on it", "response_type": "ephemeral"})
    assert answer.status_code == 200 and answer.json() == {"ok": True}

    other = fake.response_url("action")
    WebhookClient(other).send(text="done", replace_original=True)
    assert fake.responses == [
        ("cmd", {"text": "working on it", "response_type": "ephemeral"}),
        ("action", {"text": "done", "replace_original": True}),
    ]
    assert fake.responses_to(other) == [{"text": "done", "replace_original": True}]
    assert fake.calls() == []  # response URLs are not Web API calls


async def test_response_url_async(fake: SlackWebApiFake) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(fake.response_url(), json={"text": "hi"})
    assert answer.json() == {"ok": True}
    assert fake.responses == [("cmd", {"text": "hi"})]


# ---------------------------------------------------------------- rate limits and faults


def test_rate_limit_retried_by_sdk_handler(
    fake: SlackWebApiFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))
    monkeypatch.setattr(builtin_handlers, "random", SimpleNamespace(random=lambda: 0.0))
    client = WebClient(
        token="xoxb-test",
        base_url=fake.url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit("chat.postMessage", times=1, retry_after=3)

    result = client.chat_postMessage(channel="C0ALERTS", text="eventually")
    assert result["ok"] is True
    assert slept == [3]  # the handler read our Retry-After
    calls = fake.calls("chat.postMessage")
    assert [(c.status, c.response.get("error")) for c in calls] == [
        (429, "ratelimited"),
        (200, None),
    ]
    assert len(fake.messages("C0ALERTS")) == 1


def test_rate_limit_without_retry_handler(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.rate_limit("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U0ALICE")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["retry-after"] in ("7", ["7"])
    assert api_error(excinfo) == "ratelimited"
    assert client.users_info(user="U0ALICE")["ok"] is True  # only the next call


async def test_rate_limit_async_retry(
    fake: SlackWebApiFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def sleep(duration: float) -> None:
        slept.append(duration)

    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.0))
    aclient = AsyncWebClient(
        token="xoxb-test",
        base_url=fake.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.rate_limit("views.publish", times=2, retry_after=1)
    assert (await aclient.views_publish(user_id="U0BOB", view=HOME))["ok"] is True
    assert slept == [1, 1]
    assert len(fake.calls("views.publish")) == 3


def test_fail(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.fail("chat.postMessage", error="fatal_error", status=500)
    fake.fail("auth.test", error="account_inactive", times=2)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0ALERTS", text="x")
    assert excinfo.value.response.status_code == 500
    assert api_error(excinfo) == "fatal_error"
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.auth_test()
        assert api_error(excinfo) == "account_inactive"
    assert client.auth_test()["ok"] is True
    assert client.chat_postMessage(channel="C0ALERTS", text="x")["ok"] is True


# ---------------------------------------------------------------- waiting, lifecycle


def test_wait_for_success_and_timeout(fake: SlackWebApiFake, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.05)
        client.chat_postMessage(channel="C0ALERTS", text="after ack")
        client.chat_postMessage(channel="C0ALERTS", text="second")

    worker = threading.Thread(target=later)
    worker.start()
    calls = fake.wait_for("chat.postMessage", count=2, timeout=5.0)
    worker.join()
    assert [c.params["text"] for c in calls] == ["after ack", "second"]

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"views\.open.*chat\.postMessage"):
        fake.wait_for("views.open", timeout=0.1)
    assert time.monotonic() - started < 1


async def test_wait_for_async(fake: SlackWebApiFake, aclient: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await aclient.chat_postEphemeral(channel="C0ALERTS", user="U0BOB", text="hi")

    task = asyncio.create_task(later())  # runs on this loop: the wait must not block it
    calls = await fake.wait_for_async("chat.postEphemeral", timeout=5.0)
    await task
    assert calls[0].params["user"] == "U0BOB"
    with pytest.raises(AssertionError, match="expected 1 call"):
        await fake.wait_for_async("chat.update", timeout=0.05)


def test_clear_keeps_configuration(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.valid_tokens.add("xoxb-second")
    client.chat_postMessage(channel="C0ALERTS", text="x")
    fake.rate_limit("auth.test")
    fake.clear()
    assert fake.calls() == [] and fake.messages("C0ALERTS") == []
    assert WebClient(token="xoxb-second", base_url=fake.url).auth_test()["ok"] is True


async def test_async_context_manager() -> None:
    async with SlackWebApiFake(valid_tokens={"xoxb-a"}) as own:
        result = await AsyncWebClient(token="xoxb-a", base_url=own.url).auth_test()
        assert result["ok"] is True
    with pytest.raises(RuntimeError):
        _ = own.url


# ---------------------------------------------------------------- metadata, reading back

TAG = {"event_type": "afasbot_outbox", "event_payload": {"outbox_id": 7, "part": 0}}


def test_timestamps_follow_the_workspace_clock(fake: SlackWebApiFake, client: WebClient) -> None:
    before = time.time()
    first = float(client.chat_postMessage(channel="C0ALERTS", text="now")["ts"])
    assert before - 1 <= first <= time.time() + 1  # the wall clock, as Slack's ts
    fake.clock = lambda: 1_800_000_000.25
    assert client.chat_postMessage(channel="C0ALERTS", text="a")["ts"] == "1800000000.250000"
    # the clock stood still: the next message is still later than every earlier one
    assert client.chat_postMessage(channel="C0ALERTS", text="b")["ts"] == "1800000000.250100"


def test_metadata_is_kept_and_validated_like_slack(fake: SlackWebApiFake, client: WebClient):
    posted = client.chat_postMessage(channel="C0ALERTS", text="alert", metadata=TAG)
    assert fake.messages("C0ALERTS")[0]["metadata"] == TAG
    assert "warning" not in posted.data
    for broken in (
        {"event_type": "afasbot_outbox"},  # no payload
        {"event_payload": {"outbox_id": 1}},  # no type
        {"event_type": "", "event_payload": {}},
        {"event_type": "x", "event_payload": "not an object"},
    ):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0ALERTS", text="x", metadata=broken)
        assert api_error(excinfo) == "invalid_metadata_format"
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call(
            "chat.postMessage", json={"channel": "C0ALERTS", "text": "x", "metadata": "nope"}
        )
    assert api_error(excinfo) == "invalid_metadata_format"
    # an event type with a period is ignored with a warning, as Slack documents
    odd = client.chat_postMessage(
        channel="C0ALERTS", text="odd", metadata={"event_type": "a.b", "event_payload": {}}
    )
    assert odd["warning"] == "invalid_metadata_schema"
    assert "metadata" not in fake.messages("C0ALERTS")[-1]
    assert len(fake.messages("C0ALERTS")) == 2


def test_history_is_newest_first_top_level_only_metadata_on_request(
    fake: SlackWebApiFake, client: WebClient
) -> None:
    root = client.chat_postMessage(channel="C0ALERTS", text="root", metadata=TAG)["ts"]
    client.chat_postMessage(channel="C0ALERTS", text="reply", thread_ts=root, metadata=TAG)
    client.chat_postMessage(channel="C0ALERTS", text="later")
    client.chat_postMessage(channel="C0HELPDESK", text="elsewhere")
    plain = client.conversations_history(channel="C0ALERTS")
    assert [m["text"] for m in plain["messages"]] == ["later", "root"]
    assert plain["has_more"] is False
    assert all("metadata" not in m and "channel" not in m for m in plain["messages"])
    assert plain["messages"][1]["reply_count"] == 1  # the thread's parent, not its replies
    tagged = client.conversations_history(channel="C0ALERTS", include_all_metadata=True)
    assert [m.get("metadata") for m in tagged["messages"]] == [None, TAG]


def test_history_pages_by_cursor(fake: SlackWebApiFake, client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0ALERTS", text=str(i))["ts"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_history(channel="C0ALERTS", limit=2, cursor=cursor)
        pages += 1
        seen += [m["ts"] for m in page["messages"]]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert pages == 3 and seen == stamps[::-1]
    assert len(client.conversations_history(channel="C0ALERTS")["messages"]) == 5  # default 100
    assert len(client.conversations_history(channel="C0ALERTS", limit=5000)["messages"]) == 5
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel="C0ALERTS", cursor="bm9wZQ==")
    assert api_error(excinfo) == "invalid_cursor"


def test_history_between_oldest_and_latest(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.clock = lambda: 1_800_000_000.0
    a, b, c = (client.chat_postMessage(channel="C0ALERTS", text=t)["ts"] for t in "abc")
    between = client.conversations_history(channel="C0ALERTS", oldest=a, latest=c)
    assert [m["text"] for m in between["messages"]] == ["b"]  # exclusive
    inclusive = client.conversations_history(channel="C0ALERTS", oldest=a, latest=c, inclusive=1)
    assert [m["text"] for m in inclusive["messages"]] == ["c", "b", "a"]
    assert client.conversations_history(channel="C0ALERTS", oldest="1900000000")["messages"] == []
    assert b > a


def test_reading_back_needs_an_id_membership_and_the_history_scope(
    fake: SlackWebApiFake, client: WebClient
) -> None:
    fake.add_channel("C0OUTSIDE", "outside", is_member=False)
    fake.add_channel("G0PRIVATE", "private", is_private=True)
    for channel, error in (
        ("#afas-alerts", "channel_not_found"),  # a name: Slack wants the id here
        ("C0NOPE", "channel_not_found"),
        ("C0OUTSIDE", "not_in_channel"),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            client.conversations_history(channel=channel)
        assert api_error(excinfo) == error, channel
    fake.scopes = "chat:write,channels:history"
    assert client.conversations_history(channel="C0ALERTS")["ok"] is True
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel="G0PRIVATE")
    assert api_error(excinfo) == "missing_scope"
    assert excinfo.value.response["needed"] == "groups:history"
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_replies(channel="D0ALICE", ts="1800000000.000000")
    assert excinfo.value.response["needed"] == "im:history"


def test_replies_are_the_parent_then_the_thread(fake: SlackWebApiFake, client: WebClient) -> None:
    root = client.chat_postMessage(channel="C0ALERTS", text="root")["ts"]
    replies = [
        client.chat_postMessage(channel="C0ALERTS", text=f"r{i}", thread_ts=root, metadata=TAG)[
            "ts"
        ]
        for i in range(3)
    ]
    client.chat_postMessage(channel="C0ALERTS", text="other")
    thread = client.conversations_replies(channel="C0ALERTS", ts=root, include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["root", "r0", "r1", "r2"]
    assert thread["messages"][1]["metadata"] == TAG
    assert (
        "metadata" not in client.conversations_replies(channel="C0ALERTS", ts=root)["messages"][1]
    )
    # a reply's ts names its whole thread; paging goes on from the cursor
    first = client.conversations_replies(channel="C0ALERTS", ts=replies[1], limit=2)
    assert [m["text"] for m in first["messages"]] == ["root", "r0"]
    rest = client.conversations_replies(
        channel="C0ALERTS", ts=root, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["r1", "r2"] and rest["has_more"] is False
    after = client.conversations_replies(channel="C0ALERTS", ts=root, oldest=replies[0])
    assert [m["text"] for m in after["messages"]] == ["root", "r1", "r2"]
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_replies(channel="C0ALERTS", ts="1800000000.000000")
    assert api_error(excinfo) == "thread_not_found"


async def test_reading_back_async(fake: SlackWebApiFake, aclient: AsyncWebClient) -> None:
    await aclient.chat_postMessage(channel="C0ALERTS", text="x", metadata=TAG)
    page = await aclient.conversations_history(channel="C0ALERTS", include_all_metadata=True)
    assert page["messages"][0]["metadata"]["event_payload"] == {"outbox_id": 7, "part": 0}


def test_a_fault_may_be_for_one_channel(fake: SlackWebApiFake, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", times=2, retry_after=30, channel="C0ALERTS")
    assert client.chat_postMessage(channel="C0HELPDESK", text="elsewhere")["ok"] is True
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="#afas-alerts", text="limited")  # by name too
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "30"
    fake.fail("chat.postMessage", error="not_in_channel", channel="C0GENERAL")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0GENERAL", text="x")
    assert api_error(excinfo) == "not_in_channel"
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0ALERTS", text="still limited")
    assert client.chat_postMessage(channel="C0ALERTS", text="then through")["ok"] is True
