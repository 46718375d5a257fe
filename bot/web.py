"""The WSGI application served in production: Slack's endpoint, OAuth pages and a health check."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from storage.db import Database

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


def make_wsgi_app(app: App, db: Database):
    """Route `/healthz` to a database check and everything else to Bolt's adapter."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(db, start_response)
        return slack(environ, start_response)

    return wsgi


def _health(db: Database, start_response) -> list[bytes]:
    try:
        db.ping()
    except Exception as error:  # any failure to answer means "not healthy"; the reason goes to the log
        log.warning("health check failed", extra={"error": type(error).__name__})
        return _json(start_response, "503 Service Unavailable", {"ok": False, "database": "unreachable"})
    return _json(start_response, "200 OK", {"ok": True, "database": "ok"})


def _json(start_response, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
