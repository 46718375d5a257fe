"""Structured logging: one JSON object per line, with secrets masked whatever logs them."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from typing import TextIO

# Slack tokens look like xoxb-…, xoxp-…, xapp-…; mask them even when they are not ours.
_TOKEN_PATTERN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # a secret appears in the JSON line as JSON escapes it (quotes and backslashes doubled up)
        forms = {form for s in secrets if len(s) >= 6 for form in (s, json.dumps(s, ensure_ascii=False)[1:-1])}
        self._secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, default=str, ensure_ascii=False))

    def redact(self, line: str) -> str:
        for secret in self._secrets:
            line = line.replace(secret, "[redacted]")
        return _TOKEN_PATTERN.sub(lambda m: f"{m.group(1)}-[redacted]", line)


def configure_logging(
    level: str = "INFO",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    path: str | os.PathLike[str] | None = None,
) -> None:
    """JSON lines to `stream` (stderr by default), or appended to the file at `path` (the terminal sandbox's, so
    that they do not break up its session)."""
    if path is not None:
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # waitress and urllib3 are chatty at INFO about things operators do not act on
    logging.getLogger("waitress.queue").setLevel(logging.WARNING)
