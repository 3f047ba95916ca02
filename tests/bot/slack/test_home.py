"""The App Home tab: every org's state, worst first, in the reader's language."""

from __future__ import annotations

import json
import time

from tests.bot.slack.requests import signed
from tests.bot.slack.test_afas_command import command_body, dispatch, register, wait_async


def home_event(user: str) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": "home",
                "event_ts": "1700000000.000300",
            },
        }
    )


async def test_opening_home_publishes_the_overview_in_dutch(bolt, slack, runtime, scenario):
    register(runtime, scenario, "healthy", "revoked-token")
    await dispatch(bolt, command_body(slack, "check revoked-token", user="U0GUEST"))
    await wait_async(slack, 2)
    body = home_event("U0AGENT")
    headers = {**signed(body), "content-type": "application/json"}
    response = await dispatch(bolt, body, headers=headers)
    assert response.status == 200
    (published,) = await slack.wait_for_async("views.publish")
    assert published.params["user_id"] == "U0AGENT"
    view = published.params["view"]
    assert view["type"] == "home"
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert text.index("*revoked-token*") < text.index("*healthy*")  # worst first
    assert "Fout" in text  # the Dutch state label
