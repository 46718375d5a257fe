"""Slack's mrkdwn as the browser sandbox shows it (bot/sandbox/web/mrkdwn.py): formatting, quotes, code, links,
mentions, dates and emoji as Slack draws them, and everything else people and the bot type as harmless text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.web.mrkdwn import Viewer, plain_to_html, to_html, to_plain
from tests.unit.html_tree import Node, parse

HOSTILE_NAME = '<img src=x onerror="alert(1)">'
VIEWER = Viewer(
    names={"U1": "dana", "U2": "eli", "U0BOT": "OKR bot", "C1": "general", "U666": HOSTILE_NAME, "S1": "leads"},
    zone=ZoneInfo("America/New_York"),
    now=datetime(2024, 3, 15, 16, 0, tzinfo=UTC),
    user_id="U1",
)


def html(text: str) -> Node:
    return parse(to_html(text, VIEWER))


def words(node: Node) -> str:
    return " ".join(node.text().split())


def assert_harmless(root: Node) -> None:
    """No script, no event handler, no link or image anywhere but the web and mail."""
    for node in root.elements():
        assert node.tag in {"strong", "em", "s", "code", "pre", "blockquote", "br", "a", "span", "time"}, node.tag
        assert not [name for name in node.attrs if name.startswith("on")], node.attrs
        if node.tag == "a":
            assert node.attrs["href"].lower().startswith(("http://", "https://", "mailto:"))
            assert node.attrs["target"] == "_blank" and node.attrs["rel"] == "noopener"


# formatting ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag", "inner"),
    [("*bold*", "strong", "bold"), ("_italic_", "em", "italic"), ("~gone~", "s", "gone"), ("`x = 1`", "code", "x = 1")],
)
def test_each_style_is_its_own_element(text: str, tag: str, inner: str):
    root = html(f"before {text} after")
    assert root.one(tag).text() == inner
    assert words(root) == f"before {inner} after"


def test_styles_nest_inside_each_other():
    root = html("*_bold italic_* and _*italic bold*_ and *bold with ~strike~ inside*")
    assert root.select("strong")[0].one("em").text() == "bold italic"
    assert root.select("em")[1].one("strong").text() == "italic bold"
    assert root.select("strong")[2].one("s").text() == "strike"


@pytest.mark.parametrize(
    "text",
    ["snake_case_name", "my_var_ and _private_thing", "2*3*4 = 24", "file_name_v2.txt", "a~b~c", "**", "* not bold *"],
)
def test_markers_inside_words_or_next_to_spaces_stay_text(text: str):
    root = html(text)
    assert not root.select("strong") and not root.select("em") and not root.select("s")
    assert root.text() == text


def test_crossing_markers_never_make_overlapping_tags():
    root = html("*a _b* c_ and _x *y_ z*")
    assert [node.text() for node in root.select("strong")] == ["a _b"]
    assert [node.text() for node in root.select("em")] == ["x *y"]


def test_nothing_is_formatted_inside_code():
    root = html("`*not bold* _nor italic_ :tada: <@U1>`")
    assert root.one("code").text() == "*not bold* _nor italic_ :tada: @dana"
    assert root.one("code").elements() == []


def test_a_code_block_keeps_its_lines_and_drops_the_fence_newlines():
    root = html("Run:\n```\nokr-bot sandbox\n  *indented* <@U2> &lt;x&gt;\n```\nthen wait")
    pre = root.one("pre", cls="bk-pre")
    assert pre.text() == "okr-bot sandbox\n  *indented* @eli <x>"
    assert not root.select("br")
    assert words(root) == "Run:okr-bot sandbox *indented* @eli <x>then wait"


def test_newlines_are_line_breaks():
    root = html("one\ntwo\n\nfour")
    assert len(root.select("br")) == 3
    assert root.text() == "one\ntwo\n\nfour"


@pytest.mark.parametrize("marker", [">", "&gt;"])
def test_quoted_lines_are_one_blockquote(marker: str):
    root = html(f"Said:\n{marker} first line\n{marker}second *line*\nand then")
    quote = root.one("blockquote", cls="bk-quote")
    assert quote.text() == "first line\nsecond line"
    assert quote.one("strong").text() == "line"
    assert root.text() == "Said:first line\nsecond lineand then"


def test_a_quoted_line_may_start_with_a_typed_angle_bracket():
    root = html(">&gt; not a third level\n>&gt;&gt; nor this")  # a reason typed as "> …", quoted by the bot
    assert root.one("blockquote").text() == "> not a third level\n>> nor this"


def test_three_quote_marks_quote_the_rest():
    root = html("Intro\n>>> all of\nthis")
    assert root.one("blockquote").text() == "all of\nthis"


# Slack's escapes and hostile text ----------------------------------------------------------------------------------


def test_slack_escapes_are_read_once():
    root = html("R&amp;D &lt;b&gt;not bold&lt;/b&gt; &amp;lt; stays")
    assert root.text() == "R&D <b>not bold</b> &lt; stays"
    assert root.elements() == []


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '" onmouseover="alert(1)',
        "<b><i>nested</i></b>",
        "</span></div><script>x</script>",
        "<a href='javascript:alert(1)'>click</a>",
    ],
)
def test_markup_people_type_is_text(text: str):
    root = html(text)
    assert_harmless(root)
    assert root.elements() == []
    assert root.text() == text


def test_a_hostile_display_name_is_text():
    root = html("<@U666> said hi")
    mention = root.one("span", cls="mention")
    assert mention.text() == "@" + HOSTILE_NAME
    assert mention.elements() == []


# links -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "href", "label"),
    [
        ("<https://example.com/a?b=1&amp;c=2|the report>", "https://example.com/a?b=1&c=2", "the report"),
        ("<http://example.com>", "http://example.com", "http://example.com"),
        ("<mailto:dana@example.com|Dana>", "mailto:dana@example.com", "Dana"),
        ("<https://example.com/*a*/_b_|x*y*z>", "https://example.com/*a*/_b_", "x*y*z"),
        ('<https://x.io/" onmouseover="alert(1)|quoted>', 'https://x.io/" onmouseover="alert(1)', "quoted"),
    ],
)
def test_web_and_mail_links_open_in_a_new_tab(text: str, href: str, label: str):
    root = html(f"see {text} now")
    link = root.one("a", cls="bk-link")
    assert (link.attrs["href"], link.text()) == (href, label)
    assert_harmless(root)
    assert not root.select("strong") and not root.select("em")


@pytest.mark.parametrize(
    "text", ["<javascript:alert(1)|click me>", "<JavaScript:alert(1)>", "<data:text/html,x|x>", "<vbscript:x|y>"]
)
def test_other_schemes_are_shown_as_text(text: str):
    root = html(text)
    assert not root.select("a")
    assert root.text() == text


def test_a_bare_web_address_becomes_a_link_without_its_full_stop():
    root = html("Read https://example.com/snake_case_*page*. Then go.")
    assert root.one("a").attrs["href"] == "https://example.com/snake_case_*page*"
    assert root.text() == "Read https://example.com/snake_case_*page*. Then go."


# mentions ----------------------------------------------------------------------------------------------------------


def test_people_are_named_as_the_reader_knows_them():
    root = html("<@U2> <@U9|bob> <@U8> <@U1>")
    mentions = root.select("span", cls="mention")
    assert [m.text() for m in mentions] == ["@eli", "@bob", "@U8", "@dana"]
    assert [m.attrs.get("data-self") for m in mentions] == [None, None, None, "1"]
    assert mentions[0].attrs["class"] == "mention"


def test_channels_broadcasts_and_groups():
    root = html("<#C1> <#C9|random> <!here> <!channel> <!everyone> <!subteam^S1|@leads> <!subteam^S1>")
    names = [m.text() for m in root.select("span", cls="mention")]
    assert names == ["#general", "#random", "@here", "@channel", "@everyone", "@leads", "@leads"]


# dates -------------------------------------------------------------------------------------------------------------


def test_a_date_reads_in_the_readers_zone():
    epoch = int(datetime(2024, 3, 15, 13, 30, tzinfo=UTC).timestamp())
    root = html(f"Due <!date^{epoch}^{{date_short_pretty}} at {{time}}|2024-03-15 13:30 UTC>.")
    time = root.one("time", cls="bk-date")
    assert time.text() == "Today at 09:30"  # New York, on the reader's calendar day
    assert time.attrs["datetime"] == "2024-03-15T09:30:00-04:00"


def test_a_date_with_a_link_is_a_link_and_an_unreadable_one_its_fallback():
    root = html("<!date^1710509400^{date_num}^https://example.com/due|fb> <!date^x^{time}|never> <!date^1^{nope}|fb2>")
    assert root.one("a").attrs["href"] == "https://example.com/due"
    assert root.one("a").one("time").text() == "2024-03-15"
    assert words(root) == "2024-03-15 never fb2"


def test_a_date_linking_elsewhere_than_the_web_is_not_a_link():
    root = html("<!date^1710509400^{date_num}^javascript:alert(1)|fb>")
    assert not root.select("a")
    assert root.one("time").text() == "2024-03-15"


# emoji -------------------------------------------------------------------------------------------------------------


def test_emoji_shortcodes_become_emoji():
    root = html(":white_check_mark: done :thumbsup::skin-tone-3: :no_such_emoji: at 10:30:00 *:tada:*")
    assert root.text() == "✅ done 👍 :no_such_emoji: at 10:30:00 🎉"
    assert root.one("strong").text() == "🎉"


# plain text and plain words ----------------------------------------------------------------------------------------


def test_plain_text_is_escaped_with_emoji_and_line_breaks():
    root = parse(plain_to_html("<b>*not bold*</b> :tada:\n&amp;"))
    assert root.text() == "<b>*not bold*</b> 🎉\n&amp;"
    assert [node.tag for node in root.elements()] == ["br"]
    assert parse(plain_to_html(":tada:", emoji=False)).text() == ":tada:"


def test_plain_words_of_mrkdwn():
    assert to_plain("*Drop* <@U2>'s KR &amp; :wastebasket:?\nSure?", VIEWER) == "Drop @eli's KR & 🗑️? Sure?"


# any text at all ---------------------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "*",
        "_",
        "~",
        "`",
        "```",
        ">",
        "&gt;",
        "&lt;",
        "&amp;",
        "<",
        ">",
        "|",
        "\n",
        " ",
        "a",
        "é",
        ":",
        "tada",
        "<@U1>",
        "<#C1|x>",
        "<https://x.y/",
        "javascript:",
        '"',
        "'",
        "on",
        "=",
        "<!date^1^{time}|f>",
        "<!here>",
        "script",
        "/",
        "\ue000",
        "0",
        "\ue001",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_text_renders_balanced_harmless_html(text: str):
    root = html(text)
    assert_harmless(root)
