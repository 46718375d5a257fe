"""Reading method arguments the way Slack does: form fields arrive as strings (JSON inside strings for
``blocks`` and ``view``), JSON bodies arrive typed, and both must behave the same."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .blockkit import block_problems
from .errors import ApiError
from .state import SlackState, Workspace

MAX_TEXT = 40_000
MESSAGE_BLOCKS = 50


@dataclass
class MethodCall:
    """One authenticated call: its arguments, the calling installation, and the world it acts on."""

    method: str
    args: dict
    state: SlackState
    workspace: Workspace | None
    basic_auth: tuple[str, str] | None = None
    token: str | None = None  # as it came (a method taking another kind of token than a bot's checks it itself)

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None, f"{self.method} runs only with a valid token"
        return self.workspace

    def get(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name, default)
        return default if value == "" else value

    def flag(self, name: str) -> bool:
        value = self.args.get(name)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        """A JSON-valued argument, decoded when it came as a string; ``error`` when it does not decode."""
        value = self.args.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error, messages=[f"[ERROR] {name} is not valid JSON"]) from None
        return value


def message_content(call: MethodCall, *, require_content: bool = True) -> tuple[str, list | None]:
    """The text and blocks of a message, checked like chat.postMessage checks them."""
    blocks = call.json("blocks", "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format", messages=["[ERROR] blocks must be an array"])
    attachments = call.json("attachments", "invalid_attachments")
    text = call.get("text")
    text = "" if text is None else str(text)
    if require_content and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if blocks:
        problems = block_problems(blocks, max_blocks=MESSAGE_BLOCKS)
        if problems:
            raise ApiError("invalid_blocks", messages=problems)
    return text, blocks
