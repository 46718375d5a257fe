"""The WSGI application served in production: Slack's endpoint, OAuth pages, and the operator's probes and metrics
(bot/health.py)."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIApplication

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from bot import metrics
from bot.health import Readiness, operations
from storage.db import Database

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
DASHBOARD_PATH = "/dashboard"
# Slack's largest payloads (a modal's whole state) are far below this
MAX_BODY = 1024 * 1024


def make_wsgi_app(
    app: App,
    db: Database,
    *,
    signing_secret: str,
    readiness: Readiness | None = None,
    dashboard: WSGIApplication | None = None,
) -> WSGIApplication:
    """Route the operator's paths (`/livez`, `/readyz`, `/healthz`, `/metrics`) to bot/health.py, `/dashboard…` to the
    web dashboard (bot/dashboard/) when there is one, and everything else to Bolt's adapter. `readiness` also watches
    this process's sweeps when it runs them."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret)
    operator = operations(readiness or Readiness(db))

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        answered = operator(environ, start_response)
        if answered is not None:
            return answered
        if dashboard is not None and (path == DASHBOARD_PATH or (path or "").startswith(DASHBOARD_PATH + "/")):
            return dashboard(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            started = time.monotonic()
            refusal = _refuse_malformed(environ)
            if refusal is not None:
                metrics.answered("other", int(refusal[0][:3]), started)
                return _text(start_response, *refusal)
            if _oddly_shaped(environ["wsgi.input"].getvalue(), environ.get("CONTENT_TYPE") or ""):
                return _unreadable(environ, start_response, verifier, started)
            try:
                return slack(environ, start_response)
            except Exception:
                # Bolt reads the payload's ids (channel, user, team…) before it checks the signature, and a
                # field of an unexpected type (a number for a channel) makes that raise: answer as it would
                # have, 401 when unsigned, and a signed request Slack sent oddly is acknowledged and ignored
                # rather than failing (Slack would retry it three times)
                return _unreadable(environ, start_response, verifier, started)
        return slack(environ, start_response)

    return wsgi


def _refuse_malformed(environ: dict[str, Any]) -> tuple[str, str] | None:
    """Turn away what cannot be a Slack request before Bolt parses it.

    Bolt's verifier raises (rather than refusing) on a timestamp that is not a number, and
    decoding a body that is not UTF-8 fails later still; both must be a plain refusal, and the
    body is read once here, bounded, so an oversized request cannot exhaust memory.
    """
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or not environ.get("HTTP_X_SLACK_SIGNATURE"):
        return "401 Unauthorized", "invalid request"
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "invalid content length"
    if length > MAX_BODY:
        return "413 Payload Too Large", "request too large"
    body = environ["wsgi.input"].read(length)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "400 Bad Request", "body is not UTF-8"
    environ["wsgi.input"] = io.BytesIO(body)
    return None


# what Slack POSTs as JSON, and as an interaction's `payload`, that the bot answers
_JSON_TYPES = ("event_callback", "url_verification", "ssl_check")
_INTERACTION_TYPES = (
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
    "dialog_cancellation",
    "dialog_suggestion",
)
# the interactions Bolt matches on their `callback_id`
_CALLBACK_TYPES = (
    "shortcut",
    "message_action",
    "interactive_message",
    "dialog_submission",
    "dialog_cancellation",
    "dialog_suggestion",
)


def _oddly_shaped(body: bytes, content_type: str) -> bool:
    """A payload whose ids are not the strings Slack sends (Bolt's matchers and ours would raise on them, or
    store them), or of a kind no listener answers: acknowledged and ignored, like a payload Bolt cannot read at
    all (Bolt would answer 404, which Slack retries, or shows as an app that did not respond)."""
    read = _payload(body, content_type)
    if read is None:
        return False
    payload, kinds = read
    if not isinstance(payload, dict) or payload.get("type") not in kinds:
        return True
    return _unmatched(payload) or _odd_ids(payload)


def _payload(body: bytes, content_type: str) -> tuple[Any, tuple[str, ...]] | None:
    """The payload as Slack sent it, and the types the bot answers in that form; None for a slash command (its
    fields are strings) and for what is not JSON at all (Bolt refuses it on its own)."""
    try:
        if content_type.startswith("application/json"):
            return json.loads(body), _JSON_TYPES
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = parse_qs(body.decode("utf-8"))
            if "payload" not in fields:
                return None
            return json.loads(fields["payload"][0]), _INTERACTION_TYPES
        return None
    except ValueError:
        return None


def _unmatched(payload: dict[str, Any]) -> bool:
    """What Bolt matches a listener on is missing, or not a string: no listener would answer (Bolt's 404)."""
    kind, event, view, actions = payload["type"], payload.get("event"), payload.get("view"), payload.get("actions")
    if kind == "event_callback" and not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        return True
    if kind in ("view_submission", "view_closed") and not (isinstance(view, dict) and view.get("callback_id")):
        return True
    if kind == "block_actions" and not (isinstance(actions, list) and actions):
        return True
    if kind in _CALLBACK_TYPES and not isinstance(payload.get("callback_id"), str):
        return True
    return kind == "block_suggestion" and not isinstance(payload.get("action_id"), str)


def _odd_ids(payload: dict[str, Any]) -> bool:
    """An id Bolt or a listener reads (the workspace, the user, the channel, a view, an action, a response_url) is
    there but is not what Slack sends."""
    event, view, actions = payload.get("event"), payload.get("view"), payload.get("actions")
    if not (
        _str_or_none(payload.get("type"))
        and _str_or_none(payload.get("team_id"))
        and _str_or_none(payload.get("enterprise_id"))
    ):
        return True
    if not all(_object_with_id(payload.get(name)) for name in ("team", "user", "channel", "enterprise")):
        return True
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list)
        and all(isinstance(a, dict) and _ids(a, "team_id", "enterprise_id", "user_id") for a in authorizations)
    ):
        return True
    if not (
        _ids(payload, "context_team_id", "context_enterprise_id")
        and _ids(payload.get("team"), "enterprise_id")
        and _ids(payload.get("user"), "team_id")
        and _ids(view, "team_id", "app_installed_team_id")
        and _ids(event, "team", "user_team", "team_id", "enterprise_id")
    ):
        return True
    if "event" in payload and not isinstance(event, dict):
        return True
    if view is not None and not (
        isinstance(view, dict) and _str_or_none(view.get("callback_id")) and _str_or_none(view.get("id"))
    ):
        return True
    response_url = payload.get("response_url")
    if not _str_or_none(payload.get("callback_id")) or not (response_url is None or _web_address(response_url)):
        return True
    return actions is not None and not (
        isinstance(actions, list)
        and all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) and _str_or_none(a.get("block_id"))
            for a in actions
        )
    )


def _str_or_none(value: Any) -> bool:
    return isinstance(value, str) or value is None


def _object_with_id(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and _str_or_none(value.get("id")))


def _ids(value: Any, *names: str) -> bool:
    """The ids Bolt may read from this object to tell the workspace and the user: strings, or absent."""
    return not isinstance(value, dict) or all(_str_or_none(value.get(name)) for name in names)


def _web_address(value: Any) -> bool:
    """What Slack gives as a `response_url`: an address the bot can POST to."""
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000


def _unreadable(
    environ: dict[str, Any], start_response: StartResponse, verifier: SignatureVerifier, started: float
) -> list[bytes]:
    """Answered as "other" requests in /metrics: refused when unsigned, ignored (200) when signed."""
    body = environ["wsgi.input"].getvalue()
    signed = verifier.is_valid(
        body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""), environ.get("HTTP_X_SLACK_SIGNATURE", "")
    )
    if not signed:
        metrics.answered("other", 401, started)
        return _text(start_response, "401 Unauthorized", "invalid request")
    log.warning("a signed request with a payload Bolt could not read was acknowledged and ignored")
    metrics.answered("other", 200, started, fallback="ignored")
    return _text(start_response, "200 OK", "")


def _text(start_response: StartResponse, status: str, message: str) -> list[bytes]:
    body = message.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


class BackgroundServer:
    """The WSGI app under waitress in a thread: the sandbox and the tests serve the bot this way.

    The thread runs waitress's event loop one short step at a time and checks a stop flag between steps, so
    `stop()` needs no wake-up pipe, and the sockets are closed by the loop's own thread once it has left
    `select()`: nothing else ever closes a descriptor that the loop might still be watching.
    """

    STEP = 0.05  # seconds one loop step may wait: the longest stop() waits for the loop to notice

    def __init__(self, wsgi_app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self._sockets: dict[int, Any] = {}  # waitress's socket map: the listening socket, then each connection
        server = create_server(wsgi_app, map=self._sockets, host=host, port=port, threads=threads)
        assert isinstance(server, BaseWSGIServer), "one address to listen on: one listening socket"
        self._server = server
        self.port: int = server.effective_port  # type: ignore[attr-defined]  # waitress sets it; its stubs omit it
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="okr-bot-http", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        sockets = self._sockets
        try:
            while sockets and not self._stopping.is_set():
                wasyncore.loop(timeout=self.STEP, map=sockets, count=1)
        finally:
            wasyncore.close_all(sockets, ignore_all=True)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown()
