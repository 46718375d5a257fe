"""One error hierarchy for everything a user can get wrong; each carries the words they will see.

Listeners never format errors themselves: `handlers.errors` turns an `OkrError` into an ephemeral
reply (or modal field errors), so every mistake gets the same clear treatment.
"""

from __future__ import annotations


class OkrError(Exception):
    """An expected problem with a message meant for the person who caused it."""

    code = "okr_error"

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class UsageError(OkrError):
    """The command was not understood; `usage` shows the right form."""

    code = "usage"


class NotFound(OkrError):
    code = "not_found"


class NotAllowed(OkrError):
    code = "not_allowed"


class Conflict(OkrError):
    code = "conflict"


class Stale(OkrError):
    """What Slack sent back is not what the bot drew, or no longer matches what is stored: a button, menu or form
    from an older message or version of the bot, or one whose row has gone. The message says how to get a fresh one.
    Only the code that reads what Slack sends back raises it (handlers/payload.py, and the listeners' own checks of
    a button's value or a form's metadata), from what it checked; a programming error is never turned into one."""

    code = "stale"


class InvalidFields(OkrError):
    """Modal input that failed validation: `fields` maps block ids to messages shown under them."""

    code = "invalid_fields"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields
