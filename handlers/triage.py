"""`/okr triage start|close` and `/okr sprint start|close`."""

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
    """Nothing but commands yet."""


def triage(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    raise OkrError("Not built yet.")


def sprint(parsed: ParsedCommand, request: CommandRequest, *, db: Database, respond: Respond, client: WebClient) -> None:
    raise OkrError("Not built yet.")
