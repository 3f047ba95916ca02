"""``/afas edit``'s interval with the default as a setting (``AFASBOT_CHECK_INTERVAL_SECONDS``):
"the default (1 hour)" is a choice of its own, preselected for an org without an interval of
its own, and choosing it goes back to the default, audited and confirmed as such."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.bot.slack.test_edit import inputs, unchanged_values, updates
from tests.bot.slack.test_rotate import (
    AGENT,
    app_with_admin,
    dumped,
    open_modal,
    register_org,
    stored_org,
    submit,
)

DEFAULT = 3600


@pytest.fixture
def hourly(make_runtime, sandbox):
    """The runtime with a default interval of an hour."""
    return make_runtime(sandbox.url_template, check_interval_seconds=DEFAULT)


@pytest.fixture
async def app(hourly, slack) -> AsyncIterator:
    async with app_with_admin(hourly, slack) as bolt:
        yield bolt


def acme(runtime, scenario, **fields):
    return register_org(
        runtime,
        scenario,
        "healthy",
        display_name="Acme BV",
        alert_channel="C0ALERTS",
        cs_owner="U0AGENT",
        notes="Contact: Jan",
        **fields,
    )


async def test_an_org_without_its_own_interval_shows_the_default_chosen(
    app, slack, hourly, scenario
) -> None:
    acme(hourly, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    interval = inputs(view)["interval"]["element"]
    first = interval["options"][0]
    assert (first["value"], first["text"]["text"]) == ("default", "standaard (1 uur)")
    assert [o["value"] for o in interval["options"][1:]] == [
        str(s) for s in (300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)
    ]
    assert interval["initial_option"]["value"] == "default"


async def test_an_org_with_its_own_interval_has_it_chosen(app, slack, hourly, scenario) -> None:
    acme(hourly, scenario, check_interval_seconds=900)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    assert inputs(view)["interval"]["element"]["initial_option"]["value"] == "900"


async def test_choosing_the_default_goes_back_to_it(app, slack, hourly, scenario) -> None:
    org = acme(hourly, scenario, check_interval_seconds=86400)
    with hourly.session() as session:
        session.get(type(org), org.id).next_check_at = datetime.now(UTC) + timedelta(hours=20)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    before = datetime.now(UTC)
    answer = await submit(app, view, unchanged_values(interval="default"), user=AGENT)
    assert answer == {}
    stored = stored_org(hourly, "healthy")
    assert stored.check_interval_seconds is None
    # Brought forward to at most one default interval from now, not 20 hours away.
    due = stored.next_check_at
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    assert due <= before + timedelta(seconds=DEFAULT + 5)
    assert updates(hourly) == [{"field": "check_interval_seconds", "old": 86400, "new": None}]
    (told,) = await slack.wait_for_async("chat.postEphemeral")
    assert "controle-interval: 1 dag → standaard (1 uur)" in dumped(told.params["blocks"])


async def test_keeping_the_default_changes_nothing(app, slack, hourly, scenario) -> None:
    acme(hourly, scenario)
    view = await open_modal(app, slack, "edit healthy", user=AGENT)
    assert await submit(app, view, unchanged_values(interval="default"), user=AGENT) == {}
    assert stored_org(hourly, "healthy").check_interval_seconds is None
    assert updates(hourly) == []
