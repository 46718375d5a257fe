"""Slack's opaque pagination cursors: base64 of ``<kind>:<where the next page starts>``.

``dXNlcjpVMDYxTkZUVDI=`` in Slack's docs is ``user:U061NFTT2``; conversations use ``next_ts:<ts>``. A cursor
that does not decode to the expected kind answers ``invalid_cursor``, as Slack does.
"""

from __future__ import annotations

import base64

from .args import MethodCall
from .errors import ApiError


def next_cursor(kind: str, start: str) -> str:
    """The ``response_metadata.next_cursor`` of a page whose successor starts at ``start``."""
    return base64.b64encode(f"{kind}:{start}".encode()).decode("ascii")


def cursor_start(call: MethodCall, kind: str) -> str | None:
    """Where the page the ``cursor`` argument asks for starts; None without a cursor (the first page)."""
    cursor = call.get("cursor")
    if cursor is None:
        return None
    try:
        prefix, _, start = base64.b64decode(str(cursor), validate=True).decode("ascii").partition(":")
    except ValueError:
        raise ApiError("invalid_cursor") from None
    if prefix != kind or not start:
        raise ApiError("invalid_cursor")
    return start
