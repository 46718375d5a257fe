"""Reading what Slack sends back: the ids the bot put in buttons and forms, who acted, and where.

Slack signs what it sends, but what it sends back is whatever the bot drew, possibly long ago: a button on a
message an older version of the bot posted, a form whose metadata had another shape, a field Slack has since
changed. Every reader here takes any JSON value and either returns what the bot can use or raises `Stale`
with the words the person sees ("This button is out of date…"), which the listeners already turn into a reply
or a form's error. Nothing read here reaches the database unchecked: an id is a positive integer that fits a
64-bit signed column, a Slack id is a short string.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from bot.errors import Stale

MAX_ROW_ID = 2**63 - 1  # the largest value of a 64-bit signed integer column (SQLite's INTEGER, PostgreSQL's BIGINT)
MAX_SLACK_ID = 32  # the columns that keep Slack's ids (users, channels, timestamps) hold 32 characters
STALE_BUTTON = "This button is out of date. Run the command again for a fresh one."
NOBODY = "Slack did not say who did this, so the OKR bot did nothing. Please try again."


def row_id(raw: object, *, stale: str = STALE_BUTTON) -> int:
    """The id of a row, as the bot wrote it into a button's value or a form's metadata: ASCII digits, or a JSON
    integer, from 1 to the largest 64-bit signed integer. Anything else is a button or form out of date."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and 0 < len(raw) <= 19 and raw.isascii() and raw.isdigit():
        value = int(raw)
    else:
        raise Stale(stale)
    if not 0 < value <= MAX_ROW_ID:
        raise Stale(stale)
    return value


def small_number(raw: object, *, below: int, stale: str = STALE_BUTTON) -> int:
    """A count or an index the bot drew (a cycle's number, a key result's place): 0 up to `below` - 1."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and 0 < len(raw) <= 9 and raw.isascii() and raw.isdigit():
        value = int(raw)
    else:
        raise Stale(stale)
    if not 0 <= value < below:
        raise Stale(stale)
    return value


def metadata(view: object, *, stale: str) -> dict[str, Any]:
    """A form's `private_metadata`, which the bot always writes as a JSON object."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if raw in (None, ""):
        return {}
    return json_value(raw, stale=stale)


def json_value(raw: object, *, stale: str = STALE_BUTTON) -> dict[str, Any]:
    """A button's value that the bot wrote as a JSON object (the team picker's)."""
    try:
        found = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise Stale(stale)
    return found


def slack_id(value: object) -> TypeGuard[str]:
    """A Slack id or timestamp as Slack writes them: `U0ADA`, `C0ROCKET`, `1796152514.088371`."""
    return isinstance(value, str) and 0 < len(value) <= MAX_SLACK_ID and value.isascii() and value.isprintable()


def mapping(body: object, key: str) -> dict[str, Any]:
    """A part of the payload that should be an object (`container`, `channel`, `message`, `view`): {} otherwise."""
    found = body.get(key) if isinstance(body, dict) else None
    return found if isinstance(found, dict) else {}


def text(body: object, key: str) -> str | None:
    """A string field, or None whatever else is there."""
    found = body.get(key) if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def place(body: object, key: str) -> str | None:
    """A Slack id or timestamp field (`channel_id`, `message_ts`…), or None for anything Slack would not send."""
    found = body.get(key) if isinstance(body, dict) else None
    return found if slack_id(found) else None
