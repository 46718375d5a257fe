"""users.info and users.list: realistic user objects, with the time-zone offset computed for today (DST included)."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

from ..args import MethodCall
from ..cursors import cursor_start, next_cursor
from ..errors import ApiError
from .registry import method

MAX_LIST_LIMIT = 1000


def user_object(record: dict, now: float) -> dict:
    """The stored user as Slack returns it: ``tz_offset`` in seconds for the given instant."""
    user = copy.deepcopy(record)
    zone = ZoneInfo(user["tz"])
    offset = datetime.fromtimestamp(now, zone).utcoffset()
    user["tz_offset"] = int(offset.total_seconds()) if offset is not None else 0
    user["tz_label"] = datetime.fromtimestamp(now, zone).tzname()
    return user


@method("users.info")
def users_info(call: MethodCall) -> dict:
    record = call.state.user(call.get("user"), call.ws)
    return {"user": user_object(record, call.state.wall_clock())}


def _list_limit(call: MethodCall) -> int:
    """The page size. Slack's default (no ``limit``, or 0) is "as many as possible"; the fake serves at most
    ``MAX_LIST_LIMIT`` a page then, and for any larger limit too (Slack may return fewer than asked). A limit
    that is not a whole number of zero or more is ``invalid_arguments``."""
    value = call.get("limit", 0)
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = -1
    if limit < 0:
        raise ApiError("invalid_arguments", messages=[f"[ERROR] limit must be a whole number, not {value!r}"])
    return min(limit or MAX_LIST_LIMIT, MAX_LIST_LIMIT)


@method("users.list")
def users_list(call: MethodCall) -> dict:
    """Every member of the calling workspace, deactivated ones and bots included, as users.info shows them.

    Members come in order of id, so a cursor (``user:<id of the next member>``) resumes at the right place even
    when people are added between pages. ``team_id`` matters only to org-wide tokens, which the fake does not
    issue: like Slack with a workspace token, it is ignored.
    """
    limit, start = _list_limit(call), cursor_start(call, "user")
    now = call.state.wall_clock()
    members = sorted(
        (record for record in call.state.users.values() if record["team_id"] == call.ws.team_id),
        key=lambda record: record["id"],
    )
    window = [record for record in members if start is None or record["id"] >= start]
    page, rest = window[:limit], window[limit:]
    return {
        "members": [user_object(record, now) for record in page],
        "cache_ts": int(now),
        "response_metadata": {"next_cursor": next_cursor("user", rest[0]["id"]) if rest else ""},
    }
