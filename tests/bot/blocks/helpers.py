"""Reading Block Kit JSON back in tests."""

from __future__ import annotations

import json


def types(blocks: list[dict]) -> list[str]:
    return [block["type"] for block in blocks]


def header(blocks: list[dict]) -> str:
    (head,) = [b for b in blocks if b["type"] == "header"]
    return head["text"]["text"]


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def contexts(blocks: list[dict]) -> list[str]:
    return [
        " / ".join(element["text"] for element in b["elements"])
        for b in blocks
        if b["type"] == "context"
    ]


def dump(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def all_text(blocks: list[dict]) -> int:
    """Characters of text in the blocks, as Slack counts towards msg_blocks_too_long."""
    total = 0
    for block in blocks:
        if "text" in block:
            total += len(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            total += len(text["text"] if isinstance(text, dict) else text or "")
    return total


def assert_within_slack_limits(blocks: list[dict]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
    assert all_text(blocks) <= 12_000
