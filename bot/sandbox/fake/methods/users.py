"""users.info: realistic user objects, with the time-zone offset computed for today (DST included)."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

from ..args import MethodCall
from .registry import method


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
