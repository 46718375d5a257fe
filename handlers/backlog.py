"""`/okr backlog …`, `/okr idea`, and the "Add to OKR backlog" message shortcut."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.commands import ParsedCommand
from bot.errors import OkrError
from storage.db import Database

if TYPE_CHECKING:
    from handlers.commands import CommandRequest


def register(app: App) -> None:
    """The message shortcut."""


def route(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    raise OkrError("Not built yet.")


def idea(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    raise OkrError("Not built yet.")
