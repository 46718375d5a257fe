"""Socket Mode, Slack's side of it: the links an app opens with the URL apps.connections.open gave it, the envelopes
Slack sends over them, and the acks that come back.

As Slack documents it:
- the app calls apps.connections.open with its app-level token and opens a WebSocket to the URL (a one-time ticket);
- Slack greets each link with ``{"type": "hello", "num_connections", "debug_info", "connection_info"}``;
- what Slack would POST to a request URL comes as an envelope, ``{"envelope_id", "type", "payload",
  "accepts_response_payload"}``: ``events_api`` (with ``retry_attempt`` and ``retry_reason``), ``slash_commands``,
  ``interactive``. With several links open Slack spreads envelopes over them (here: in turn);
- the app acks each one with ``{"envelope_id", "payload"}`` within 3 seconds; a payload (a command's reply, a
  form's ``response_action``) is what an HTTP response body would have been;
- ``{"type": "disconnect", "reason": "refresh_requested"}`` asks the app to move to a new link; Slack sends nothing
  more over the old one.

The fake does not retry an envelope nobody acked, and it does not show an ack's payload (a command's reply) in the
workspace: the test's driver does, as it does with an HTTP answer (``bot/sandbox/socket_driver.py``).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import websocket
from .recorder import Ack, ApiCall, Recorder
from .state import SlackState

ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
DROPS = ("refresh", "close", "reset")
ACK_CALL = "socket_mode_ack"  # how an ack reads in the fake's call log, next to Web API methods and response_url
OPENING, OPEN, REFRESHING, CLOSING, CLOSED = "opening", "open", "refreshing", "closing", "closed"


class NotConnected(LookupError):
    """No link of the app is open: Slack has nowhere to send the envelope."""


class Envelope:
    """One envelope Slack sent; ``wait_ack`` waits for the app's answer to it."""

    def __init__(self, envelope_id: str, kind: str, payload: dict, connection: str) -> None:
        self.envelope_id, self.type, self.payload, self.connection = envelope_id, kind, payload, connection
        self.sent_at = time.monotonic()
        self.ack: Ack | None = None
        self.lost = False  # its link closed (or was gone) before an ack came
        self._done = threading.Event()

    def wait_ack(self, timeout: float = 5.0) -> Ack | None:
        """The app's ack, or None if none came within ``timeout`` or the link closed first (``lost``)."""
        self._done.wait(timeout)
        return self.ack

    def _settle(self, ack: Ack | None) -> None:
        if ack is None:
            self.lost = True
        else:
            self.ack = ack
        self._done.set()

    def __repr__(self) -> str:
        outcome = "acked" if self.ack else "lost" if self.lost else "waiting"
        return f"<Envelope {self.type} {self.envelope_id} over {self.connection}: {outcome}>"


class _Link:
    def __init__(self, link_id: str, app_id: str, ws: websocket.WebSocket) -> None:
        self.id, self.app_id, self.ws = link_id, app_id, ws
        self.state = OPENING  # then OPEN once greeted
        self.opened_at = time.monotonic()
        self.pending: dict[str, Envelope] = {}

    def describe(self) -> dict:
        return {"id": self.id, "app_id": self.app_id, "state": self.state, "opened_at": self.opened_at}


class SocketMode:
    """Every link of every app, and the envelopes sent over them."""

    def __init__(self, state: SlackState, recorder: Recorder) -> None:
        self.state = state
        self.recorder = recorder
        self._lock = threading.Condition()
        self._links: dict[str, _Link] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._link_ids = itertools.count(1)
        self._turn = itertools.count()
        self._gone = False  # Slack went away: no link opens any more

    # a link, from handshake to close ----------------------------------------------------------------------------

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Run the link the HTTP request ``GET /link/?ticket=…`` opens, on its thread, until the link closes."""
        request.close_connection = True
        problem = websocket.upgrade_problem(request.command, request.headers)
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self.state.lock:
            granted = self.state.socket_tickets.pop(ticket, None) if problem is None else None
        if granted is None:
            _refuse(request, 400 if problem else 401, problem or "invalid_ticket")
            return
        request.send_response(101, "Switching Protocols")
        request.send_header("Upgrade", "websocket")
        request.send_header("Connection", "Upgrade")
        request.send_header("Sec-WebSocket-Accept", websocket.accept_key(request.headers["Sec-WebSocket-Key"]))
        request.end_headers()
        link = _Link(
            f"L{next(self._link_ids):04d}", granted.app_id, websocket.WebSocket(request.connection, request.rfile)
        )
        with self._lock:
            if self._gone:
                link.ws.abort()
            self._links[link.id] = link
            count = 1 + sum(other.app_id == link.app_id and other.state == OPEN for other in self._links.values())
        try:
            link.ws.send_text(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": count,
                        "debug_info": {
                            "host": f"applink-fake-{link.id.lower()}",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": link.app_id},
                    }
                )
            )
            with self._lock:
                if link.state == OPENING:
                    link.state = OPEN  # greeted: envelopes may come now
                self._lock.notify_all()
            while (message := link.ws.receive()) is not None:
                self._received(link, message)
        except ConnectionError:
            pass  # gone before the greeting
        finally:
            self._closed(link)

    def _received(self, link: _Link, message: str) -> None:
        """An ack (anything else an app might send, Slack ignores)."""
        try:
            body = json.loads(message)
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("envelope_id"), str):
            return
        envelope_id = body["envelope_id"]
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else None
        with self._lock:
            envelope = self._envelopes.get(envelope_id)
            # the envelope this ack is the first answer to, if any
            settled = envelope if envelope is not None and envelope.ack is None and not envelope.lost else None
            if settled is not None:
                link.pending.pop(envelope_id, None)
        seconds = time.monotonic() - envelope.sent_at if envelope is not None else None
        ack = Ack(envelope_id, payload, envelope.type if envelope else None, seconds, link.id, self.state.clock())
        args = {"envelope_id": envelope_id, "type": ack.type, "payload": payload}
        team_id = _team_of(envelope.payload) if envelope is not None else None
        self.recorder.record_ack(ack, ApiCall(ACK_CALL, args, None, {"ok": True}, 200, ack.at, team_id))
        if settled is not None:
            settled._settle(ack)

    def _closed(self, link: _Link) -> None:
        with self._lock:
            link.state = CLOSED
            self._links.pop(link.id, None)
            lost, link.pending = list(link.pending.values()), {}
            self._lock.notify_all()
        for envelope in lost:
            envelope._settle(None)

    # what Slack sends -------------------------------------------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict,
        *,
        app_id: str,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> Envelope:
        """Send an envelope over one of the app's open links (NotConnected when there is none); it returns at
        once: ``Envelope.wait_ack`` waits for the ack."""
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"Slack sends {', '.join(ENVELOPE_TYPES)} envelopes, not {kind!r}")
        envelope_id = str(uuid.uuid4())
        message = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            message.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        with self._lock:
            links = [link for link in self._links.values() if link.app_id == app_id and link.state == OPEN]
            if not links:
                raise NotConnected(f"no Socket Mode link of app {app_id} is open")
            link = links[next(self._turn) % len(links)]
            envelope = Envelope(envelope_id, kind, copy.deepcopy(payload), link.id)
            self._envelopes[envelope_id] = envelope
            link.pending[envelope_id] = envelope
        try:
            link.ws.send_text(json.dumps(message))
        except ConnectionError:  # the link went in the meantime: the app never gets it
            with self._lock:
                link.pending.pop(envelope_id, None)
            envelope._settle(None)
        return envelope

    def drop(self, how: str = "refresh", *, app_id: str | None = None, connection: str | None = None) -> list[str]:
        """End the app's links (or the one named); returns their ids.

        ``refresh``: Slack's ``disconnect`` message (``refresh_requested``): the app should open a new link; nothing
        more is sent over this one, which stays open until the app closes it. ``close``: a close frame (1001, going
        away), as when Slack's server goes. ``reset``: the TCP connection is gone without a word.
        """
        if how not in DROPS:
            raise ValueError(f"a link is dropped by one of {', '.join(DROPS)}, not {how!r}")
        with self._lock:
            links = [
                link
                for link in self._links.values()
                if link.state in (OPENING, OPEN, REFRESHING)
                and (app_id is None or link.app_id == app_id)
                and (connection is None or link.id == connection)
            ]
            for link in links:
                link.state = REFRESHING if how == "refresh" else CLOSING
        for link in links:
            if how == "refresh":
                disconnect = {
                    "type": "disconnect",
                    "reason": "refresh_requested",
                    "debug_info": {"host": f"applink-fake-{link.id.lower()}"},
                }
                with contextlib.suppress(ConnectionError):  # gone already
                    link.ws.send_text(json.dumps(disconnect))
            elif how == "close":
                link.ws.close(websocket.GOING_AWAY, "going away")
            else:
                link.ws.abort()
        return [link.id for link in links]

    def close_all(self) -> None:
        """Slack goes away: every link is cut (the fake is stopping)."""
        with self._lock:
            self._gone = True
            links = list(self._links.values())
        for link in links:
            link.ws.abort()

    # what tests read --------------------------------------------------------------------------------------------

    def links(self, app_id: str | None = None) -> list[dict]:
        """The links not closed yet, oldest first."""
        with self._lock:
            return [link.describe() for link in self._links.values() if app_id is None or link.app_id == app_id]

    def wait_for_links(self, count: int, *, app_id: str, timeout: float) -> list[dict]:
        """Block until ``count`` links of the app are open and greeted; their descriptions."""

        def ready() -> list[_Link]:
            return [link for link in self._links.values() if link.app_id == app_id and link.state == OPEN]

        with self._lock:
            if not self._lock.wait_for(lambda: len(ready()) >= count, timeout):
                found = [link.describe() for link in self._links.values()]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} open Socket Mode link(s) of "
                    f"app {app_id}; links: {found or 'none'}"
                )
            return [link.describe() for link in ready()]


def _team_of(payload: dict) -> str | None:
    team = payload.get("team_id") or payload.get("team")
    return team.get("id") if isinstance(team, dict) else team if isinstance(team, str) else None


def _refuse(request: BaseHTTPRequestHandler, status: int, error: str) -> None:
    body = json.dumps({"ok": False, "error": error}).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
