"""The elements of Slack's rich text (what people type in the message box) as HTML: styled text, links,
mentions, emoji, dates and broadcasts. The blocks around them (sections, lists, quotes) are in blocks.html.j2."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from bot.sandbox.web.mrkdwn import (
    BROADCASTS,
    Viewer,
    broadcast_html,
    channel_html,
    date_html,
    emoji_char,
    link_html,
    mention_html,
    subteam_html,
)

# innermost first: `code` inside ~strike~ inside _italic_ inside *bold*
_STYLES = (
    ("code", '<code class="bk-code">', "</code>"),
    ("strike", "<s>", "</s>"),
    ("italic", "<em>", "</em>"),
    ("bold", "<strong>", "</strong>"),
    ("underline", "<u>", "</u>"),
)
_UNICODE = re.compile(r"[0-9a-fA-F]{2,6}(?:-[0-9a-fA-F]{2,6})*")


def rich_elements(elements: Any, viewer: Viewer) -> Markup:
    """A rich_text_section's (or quote's, or list item's) elements as inline HTML."""
    if not isinstance(elements, list):
        return Markup("")
    return Markup("").join(_styled(element, viewer) for element in elements if isinstance(element, Mapping))


def _styled(element: Mapping, viewer: Viewer) -> Markup:
    html = _element(element, viewer)
    style = element.get("style")
    if isinstance(style, Mapping):
        for name, opening, closing in _STYLES:
            if style.get(name):
                html = Markup(opening) + html + Markup(closing)
    return html


def _element(element: Mapping, viewer: Viewer) -> Markup:
    kind = element.get("type")
    if kind == "text":
        return _lines(str(element.get("text") or ""))
    if kind == "link":
        url = str(element.get("url") or "")
        return link_html(url, str(element.get("text") or url))
    if kind == "user":
        return mention_html(str(element.get("user_id") or ""), viewer)
    if kind == "usergroup":
        group = str(element.get("usergroup_id") or "")
        return subteam_html(group, viewer.names.get(group, group))
    if kind == "channel":
        return channel_html(str(element.get("channel_id") or ""), viewer)
    if kind == "emoji":
        return escape(_emoji(element))
    if kind == "date":
        fallback = str(element.get("fallback") or element.get("timestamp") or "")
        template, link = str(element.get("format") or ""), str(element.get("url") or "")
        return date_html(element.get("timestamp"), template, viewer, link=link, fallback=fallback)
    if kind == "broadcast" and element.get("range") in BROADCASTS:
        return broadcast_html(str(element["range"]))
    return _lines(str(element.get("text") or element.get("value") or ""))


def _lines(text: str) -> Markup:
    return Markup("<br>").join(escape(line) for line in text.split("\n"))


def _emoji(element: Mapping) -> str:
    """The emoji's own code points when given (skin tones included), else its name looked up, else `:name:`."""
    name = str(element.get("name") or "")
    code = element.get("unicode")
    if isinstance(code, str) and _UNICODE.fullmatch(code):
        try:
            return "".join(chr(int(part, 16)) for part in code.split("-"))
        except ValueError:  # beyond Unicode's range
            pass
    return emoji_char(name) or f":{name}:"
