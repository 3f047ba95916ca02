"""The short notices: checking, errors, an unknown org, how to use /afas."""

from __future__ import annotations

from bot.blocks.messages import (
    checking_blocks,
    checking_text,
    error_blocks,
    error_text,
    unknown_org_blocks,
    unknown_org_text,
    usage_blocks,
    usage_text,
)
from tests.bot.blocks import factories as f
from tests.bot.blocks.helpers import contexts, dump, sections


def test_checking_says_which_org_in_the_readers_language() -> None:
    assert sections(checking_blocks("acme", language="en")) == [
        ":hourglass_flowing_sand: Checking acme…"
    ]
    assert checking_text("acme", language="nl") == (
        ":hourglass_flowing_sand: Bezig met controleren van acme…"
    )
    assert checking_text("acme", language="en", deep=True) == (
        ":hourglass_flowing_sand: Running a deep check of acme…"
    )


def test_an_error_is_a_warning_line_that_cannot_mention() -> None:
    assert sections(error_blocks("AFAS is down.", language="en")) == [":warning: AFAS is down."]
    assert error_text("<!here> & co", language="nl") == ":warning: &lt;!here&gt; &amp; co"


def test_an_unknown_org_suggests_close_keys() -> None:
    blocks = unknown_org_blocks("helthy", ["healthy"], language="en")
    assert sections(blocks) == [":mag: No org is registered as `helthy`. Did you mean `healthy`?"]
    assert contexts(blocks) == ["`/afas status` lists all orgs."]
    dutch = unknown_org_text("acm", ["acme", "acme-bv", "acme", "acm2", "acm3"], language="nl")
    assert dutch == (
        ":mag: Er is geen organisatie geregistreerd als `acm`. "
        "Bedoelde je `acme`, `acme-bv` of `acm2`?"
    )
    assert unknown_org_text("x", [], language="en") == ":mag: No org is registered as `x`."


def test_a_typed_token_is_never_echoed() -> None:
    typed = f.TOKEN.xml
    for text in (
        dump(unknown_org_blocks(typed, [], language="en")),
        dump(usage_blocks(language="en", subcommand=typed)),
        checking_text(typed, language="en"),
    ):
        assert f.TOKEN.reveal_data()[:20] not in text
        assert "<token>" not in text


def test_usage_lists_the_commands_everyone_may_use() -> None:
    blocks = usage_blocks(language="en")
    assert sections(blocks) == [
        "Usage: `/afas check &lt;org&gt;`, `/afas check &lt;org&gt; deep`, "
        "`/afas history &lt;org&gt;`, `/afas status`, `/afas help`"
    ]
    assert contexts(blocks) == ["Type `/afas help` for all commands."]
    dutch = usage_text(language="nl", subcommand="<@U1>")
    assert dutch.splitlines()[0] == "De opdracht `&lt;@U1&gt;` ken ik niet."
    assert dutch.splitlines()[1].startswith("Gebruik: `/afas check &lt;org&gt;`")
