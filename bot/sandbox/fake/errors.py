"""The one way a fake Web API method says "no": raise ``ApiError`` with Slack's error name."""

from __future__ import annotations


class ApiError(Exception):
    """A Slack Web API error: becomes ``{"ok": false, "error": ...}`` on the wire.

    ``messages`` fills ``response_metadata.messages`` the way Slack explains ``invalid_arguments`` and
    ``invalid_blocks``, so a failing test shows which field was wrong, not only that something was.
    """

    def __init__(self, error: str, *, messages: list[str] | None = None, status: int = 200) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.status = status

    def body(self) -> dict:
        """The JSON body Slack would answer with."""
        body: dict = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body
