"""The digest's blocks cut into messages Slack accepts: at most its 50 blocks each, and well under the text it takes
in one message, a team's blocks kept together when they fit."""

from __future__ import annotations

from typing import Any

from bot.blockkit import MESSAGE_BLOCKS

# blocks and characters per message: Slack's 50 blocks, and well under the ~12,000 characters of text it
# accepts in one message's blocks
MESSAGE_CHARACTERS = 10_000
PART_FRAME = 500  # characters kept for each message's own header and footer (digest_part.j2)


def block_text(block: dict[str, Any]) -> int:
    """Characters of text in one block, as Slack counts them towards a message's size."""
    text = block.get("text")
    size = len(text.get("text", "")) if isinstance(text, dict) else 0
    for element in block.get("elements", []) + block.get("fields", []):
        size += len(element.get("text", "")) if isinstance(element.get("text"), str) else 0
    return size


def split_messages(
    blocks: list[dict[str, Any]], *, room: int = MESSAGE_BLOCKS - 2, characters: int = MESSAGE_CHARACTERS - PART_FRAME
) -> list[list[dict[str, Any]]]:
    """Cut the digest's blocks into messages of at most `room` blocks and `characters` of text, leaving room for
    each part's header and footer. A team's blocks (from its divider) stay together unless they alone fill a
    message; then they are cut at block boundaries."""
    groups: list[list[dict[str, Any]]] = []
    for block in blocks:
        if block.get("type") == "divider" or not groups:
            groups.append([])
        groups[-1].append(block)
    parts: list[list[dict[str, Any]]] = [[]]
    for group in groups:
        for chunk in _chunks(group, room=room, characters=characters):
            size = sum(block_text(b) for b in parts[-1] + chunk)
            if parts[-1] and (len(parts[-1]) + len(chunk) > room or size > characters):
                parts.append([])
            parts[-1].extend(chunk)
    return [part for part in parts if part] or [[]]


def _chunks(group: list[dict[str, Any]], *, room: int, characters: int) -> list[list[dict[str, Any]]]:
    """A group cut into runs of blocks that each fit one message (a block is at most 3,000 characters)."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for block in group:
        if chunks[-1] and (len(chunks[-1]) == room or size + block_text(block) > characters):
            chunks.append([])
            size = 0
        chunks[-1].append(block)
        size += block_text(block)
    return chunks
