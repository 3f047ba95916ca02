"""The overview at 10,000 orgs on SQLite (inserted in one statement): every App Home page and
every ``/afas status`` page within Slack's limits, the last page reached by following Next,
every org shown once worst first, and the same few SQL statements for every page.

Timing-free: performance is measured by ``bench/org_list.py``, not here. What is asserted is
what makes a page cost the same on page 1 and page 400: the number of statements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.blocks.common import MESSAGE_TEXT_BUDGET
from bot.blocks.home import HOME_MAX_BLOCKS, NEXT_ACTION, PAGE_SIZE, home_view
from bot.blocks.status import NEXT_ACTION as STATUS_NEXT
from bot.blocks.status import PAGE_SIZE as STATUS_PAGE_SIZE
from bot.blocks.status import status_page_blocks
from bot.slack.listeners.home import parse_position
from storage import schema
from storage.crypto import TokenCipher, generate_key
from storage.dashboard import NEVER_CHECKED, STATE_ORDER, DashboardPage, dashboard_page
from storage.db import make_engine
from tests.bot.blocks.helpers import all_text, assert_within_slack_limits
from tests.storage.test_dashboard import bulk_state, insert_orgs, statements

ORGS = 10_000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The counts (one grouped query), the open incidents' count, the page, its open incidents.
STATEMENTS_PER_PAGE = 4


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('scale')) / 'afasbot.sqlite3'}"
    schema.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        insert_orgs(session, TokenCipher.from_keys([generate_key()]), ORGS, now=NOW)
        yield session
    engine.dispose()


def rank(key: str) -> tuple[int, str]:
    state = bulk_state(int(key.removeprefix("org-")))
    return STATE_ORDER.index(state if state in STATE_ORDER else NEVER_CHECKED), key


def button_value(blocks: list[dict], action_id: str) -> str | None:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element["value"]
    return None


def read_page(session: Session, value: str | None, size: int) -> tuple[DashboardPage, int]:
    """The page a Next button's value asks for (the first when None), and its statements."""
    position, problem = parse_position(value) if value else (None, None)
    assert problem is None
    with statements(session) as seen:
        page = dashboard_page(
            session,
            page=position.page if position else 0,
            page_size=size,
            now=NOW,
            state=position.state if position else None,
        )
    return page, len(seen)


def test_every_page_fits_and_next_reaches_the_last_one(session: Session) -> None:
    """Both page by 25: each page is read once and laid out as the Home tab (validated by
    slack_sdk's ``View`` as it is built) and as the status message, following the Home's Next
    and checking that the status' Next asks for the same page."""
    assert PAGE_SIZE == STATUS_PAGE_SIZE
    shown: list[str] = []
    costs: Counter[int] = Counter()
    value: str | None = None
    while True:
        page, cost = read_page(session, value, PAGE_SIZE)
        costs[cost] += 1
        view = home_view(page, language="nl", now=NOW, is_agent=True)
        assert len(view["blocks"]) <= HOME_MAX_BLOCKS
        assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if "text" in b)
        shown += [b["block_id"].split(".", 2)[2] for b in view["blocks"] if _is_org(b)]
        blocks = status_page_blocks(page, language="en", now=NOW)
        assert_within_slack_limits(blocks)
        assert all_text(blocks) <= MESSAGE_TEXT_BUDGET
        value = button_value(view["blocks"], NEXT_ACTION)
        assert button_value(blocks, STATUS_NEXT) == value
        if value is None:
            break
    pages = ORGS // PAGE_SIZE
    assert (page.page, page.page_count) == (pages - 1, pages)
    assert "pagina 400 van 400" in str(view)
    assert len(shown) == ORGS and shown == sorted(shown, key=rank)  # each once, worst first
    assert costs == {STATEMENTS_PER_PAGE: pages}  # page 1 costs what page 400 does


def _is_org(block: dict) -> bool:
    return block.get("block_id", "").startswith("home_org.")


@pytest.mark.parametrize("state", STATE_ORDER)
def test_each_filters_last_page_is_reachable_at_the_same_cost(session: Session, state) -> None:
    first, first_cost = read_page(session, f'{{"page": 0, "state": "{state}"}}', PAGE_SIZE)
    value = f'{{"page": {first.page_count - 1}, "state": "{state}"}}'
    last, last_cost = read_page(session, value, PAGE_SIZE)
    expected = sum(1 for n in range(ORGS) if rank(f"org-{n:04d}")[0] == STATE_ORDER.index(state))
    assert first.matching == last.matching == expected
    assert len(last.rows) == expected - (first.page_count - 1) * PAGE_SIZE
    assert {row.state or NEVER_CHECKED for row in last.rows} == {state}
    assert first_cost == last_cost == STATEMENTS_PER_PAGE
    assert (
        button_value(home_view(last, language="en", now=NOW, is_agent=False)["blocks"], NEXT_ACTION)
        is None
    )
