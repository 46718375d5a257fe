"""Slack's Block Kit limits, checked on everything we render so a long list never gets rejected."""

from __future__ import annotations

import re
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
FALLBACK_TEXT = 4000


class BlockKitLimitError(ValueError):
    """A rendered message or view would be refused by Slack."""


def clip(text: str, limit: int) -> str:
    """Shorten `text` to `limit` characters, marking the cut with an ellipsis. Escaped text is cut before an
    entity (`&amp;`), mention or link (`<@U1>`, `<https://…|name>`) rather than through it."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1]
    if cut := _PARTIAL_MARKUP.search(kept):
        kept = kept[: cut.start()]
    return kept + "…"


# the start of an entity or of a Slack mention or link with its end cut off
_PARTIAL_MARKUP = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$|<(?:[@#!]|https?:|mailto:)[^<>]{0,200}$")


def check_message(message: dict[str, Any]) -> dict[str, Any]:
    if not message.get("text"):
        raise BlockKitLimitError("a message needs a top-level text fallback for notifications")
    if len(message["text"]) > FALLBACK_TEXT:
        raise BlockKitLimitError("the fallback text is too long")
    check_blocks(message.get("blocks", []), MESSAGE_BLOCKS)
    return message


def check_view(view: dict[str, Any]) -> dict[str, Any]:
    if view["type"] == "modal" and len(view["title"]["text"]) > MODAL_TITLE:
        raise BlockKitLimitError(f"modal title longer than {MODAL_TITLE}: {view['title']['text']!r}")
    if len(view.get("private_metadata", "")) > PRIVATE_METADATA:
        raise BlockKitLimitError("private_metadata too long")
    check_blocks(view["blocks"], VIEW_BLOCKS)
    return view


def check_blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    if len(blocks) > limit:
        raise BlockKitLimitError(f"{len(blocks)} blocks, Slack allows {limit}")
    for block in blocks:
        text = block.get("text", {}).get("text", "") if isinstance(block.get("text"), dict) else ""
        if block["type"] == "section" and len(text) > SECTION_TEXT:
            raise BlockKitLimitError(f"section text of {len(text)} characters, Slack allows {SECTION_TEXT}")
        if block["type"] == "header" and len(text) > HEADER_TEXT:
            raise BlockKitLimitError(f"header text of {len(text)} characters, Slack allows {HEADER_TEXT}")
        for element in block.get("elements", []):
            label = element.get("text", {}).get("text", "") if element.get("type") == "button" else ""
            if len(label) > BUTTON_TEXT:
                raise BlockKitLimitError(f"button text {label!r} longer than {BUTTON_TEXT}")
