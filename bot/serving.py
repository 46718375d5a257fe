"""The long-running commands, `okr-bot serve`, `socket` and `scheduler`: what each runs, and how each stops.

On SIGTERM or SIGINT (bot/shutdown.py), in this order, within the grace period:
1. stop taking work: `/readyz` says 503, the HTTP server closes its listening socket (Socket Mode: an envelope
   arriving now is not taken, and once those taken are answered over it the connection to Slack is closed), no new
   sweep starts;
2. answer the requests already received, then run the work after their acks to its end;
3. let a sweep running end early: sends not yet claimed stay due, calls already made are answered and recorded,
   and a send waiting for Slack's rate limits gives its claim back;
4. hand back any claim still held, and exit 0.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from bot import clock, scheduler, shutdown
from bot.ack import ACK_DEADLINE
from bot.app import OkrApp
from bot.dashboard.web import dashboard_for
from bot.health import Readiness, only_operations
from bot.settings import Settings, SettingsError
from bot.web import BackgroundServer, make_wsgi_app
from storage.claims import push_back_all, worker_name
from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
STEP = 0.2  # seconds the HTTP loop waits in one step: how soon it notices a signal


def serve_http(settings: Settings, app: OkrApp, db: Database, *, host: str, threads: int) -> int:
    """`okr-bot serve`: Slack's requests on PORT, the minute sweep unless SCHEDULER=off."""
    stop = _stop(settings, db)
    readiness = Readiness(db)
    wsgi = make_wsgi_app(
        app,
        db,
        signing_secret=settings.require_http_credentials(),
        readiness=readiness,
        dashboard=dashboard_for(settings, db),
    )
    # waitress's channels: a listening socket for each address `host` stands for (`*`, or a `localhost` that is both
    # 127.0.0.1 and ::1, stand for two), and one per connection
    sockets: dict[int, Any] = {}
    server = _bound(
        lambda: create_server(wsgi, map=sockets, host=host, port=settings.port, threads=threads, ident="okr-bot"),
        settings,
    )
    listening = [channel for channel in sockets.values() if isinstance(channel, BaseWSGIServer)]
    sweeps = scheduler.start(settings, db)  # once the port is the bot's: a process that cannot serve sends nothing
    readiness.sweeps = sweeps.watch if sweeps else None
    settle_heap()
    port = listening[0].getsockname()[1]  # PORT, on every address
    log.info("serving Slack over HTTP", extra={"port": port, "mode": settings.mode.value})
    while not shutdown.STOPPING.is_set():
        wasyncore.loop(timeout=STEP, map=sockets, count=1)
    # no new connections (the listening sockets closed; waitress's wake-up pipe stays for the answers under way)
    for listener in listening:
        wasyncore.dispatcher.close(listener)
    if sweeps is not None:
        sweeps.stop()
    answered = _answer_received(sockets, stop)
    app.gate.shutdown()
    worked = app.workers.wait_idle(stop.remaining())
    swept = sweeps.wait(stop.remaining()) if sweeps is not None else True
    grace = min(1.0, stop.remaining())
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=grace)  # type: ignore[arg-type]  # stubs: int; any seconds do
    wasyncore.close_all(sockets, ignore_all=True)
    return _finish(stop, app, db, readiness, answered=answered, worked=worked, swept=swept)


def settle_heap() -> None:
    """What the process loaded to start (modules, the app, its templates) lives as long as the process: it is moved
    out of the garbage collector's sight, so that a request that allocates much (a dashboard page of 200 teams, about
    3 MB of HTML) sets off collections that walk what requests made, not the whole process (about 100 ms a page
    otherwise; README, "Performance")."""
    gc.collect()
    gc.freeze()


def serve_socket(settings: Settings, app: OkrApp, db: Database) -> int:
    """`okr-bot socket`: Slack's requests over Socket Mode, `/livez`, `/readyz` and `/metrics` on PORT, and the
    minute sweep unless SCHEDULER=off."""
    stop = _stop(settings, db)
    readiness = Readiness(db)
    operations = _bound(
        lambda: BackgroundServer(only_operations(readiness), host="0.0.0.0", port=settings.port), settings
    )
    log.info("connecting to Slack over Socket Mode", extra={"port": operations.port})
    connection = _Connection(app, settings.slack_app_token)
    try:
        connection.connect()
    except SlackApiError as error:  # the app-level token refused: nothing will work until it is replaced
        operations.stop()
        raise SettingsError(
            f"Slack refused to open a Socket Mode connection with SLACK_APP_TOKEN ({error.response.get('error')}): "
            "check that it is the app-level token (xapp-…) of this app, with the connections:write scope."
        ) from None
    readiness.checks["slack"] = lambda: "ok" if connection.client.is_connected() else "not connected"
    sweeps = scheduler.start(settings, db)
    readiness.sweeps = sweeps.watch if sweeps else None
    stop.wait()
    if sweeps is not None:
        sweeps.stop()
    # what was taken before the signal is answered over the connection, so it stays open for those answers
    answered = connection.stop_taking(min(ACK_DEADLINE + 0.5, stop.remaining()))
    connection.close()
    worked = app.workers.wait_idle(stop.remaining())
    swept = sweeps.wait(stop.remaining()) if sweeps is not None else True
    operations.stop()
    return _finish(stop, app, db, readiness, answered=answered, worked=worked, swept=swept)


def run_scheduler(settings: Settings, db: Database) -> int:
    """`okr-bot scheduler`: the minute sweep and nothing else, with `/livez`, `/readyz` and `/metrics` on PORT."""
    stop = _stop(settings, db)
    readiness = Readiness(db)
    operations = _bound(
        lambda: BackgroundServer(only_operations(readiness), host="0.0.0.0", port=settings.port), settings
    )
    sweeps = scheduler.start(settings, db)
    assert sweeps is not None, "the command refuses SCHEDULER=off"
    readiness.sweeps = sweeps.watch
    log.info("sweeping every minute; serving /livez, /readyz and /metrics", extra={"port": operations.port})
    stop.wait()
    sweeps.stop()
    swept = sweeps.wait(stop.remaining())
    operations.stop()
    return _finish(stop, None, db, readiness, answered=True, worked=True, swept=swept)


def _bound(start: Callable[[], T], settings: Settings) -> T:
    """A server listening on PORT, or the reason it cannot, in words (not a traceback)."""
    try:
        return start()
    except OSError as error:
        raise SettingsError(
            f"Cannot listen on PORT {settings.port}: {error.strerror or error}. Set PORT to a free port."
        ) from None


def _stop(settings: Settings, db: Database) -> shutdown.Shutdown:
    worker = worker_name()
    return shutdown.Shutdown(
        settings.shutdown_grace, last_words=lambda: push_back_all(db, worker, now=clock.now())
    ).install()


def _answer_received(sockets: dict[int, Any], stop: shutdown.Shutdown) -> bool:
    """Run the HTTP loop on waitress's channels `sockets` until every connection has had its requests answered and
    sent (then close it), or until the grace period is over; True when all were."""
    while stop.remaining() > 0:
        connections = [channel for channel in list(sockets.values()) if isinstance(channel, HTTPChannel)]
        busy = [channel for channel in connections if _busy(channel)]
        for idle in (channel for channel in connections if not _busy(channel)):
            idle.handle_close()  # a kept-alive connection with nothing asked on it
        if not busy:
            return True
        wasyncore.loop(timeout=0.05, map=sockets, count=1)
    return False


def _busy(channel: HTTPChannel) -> bool:
    """A connection with a request being received, waiting, being answered, or an answer not yet sent."""
    return bool(channel.requests or channel.request is not None or channel.total_outbufs_len)


class _Connection(SocketModeHandler):
    """Bolt's Socket Mode handler, stopping the way the HTTP server does: from `stop_taking()` on, an envelope is not
    taken (neither done nor acked: Slack sends an event again later, and tells the person a command or a click did
    not go through, as when the HTTP port is closed), and the connection is closed only once every envelope taken
    has been answered over it. The gate's count of dispatches is not enough for that: an envelope waits in the
    client's queue before its dispatch, and its ack is sent after it."""

    def __init__(self, app: OkrApp, app_token: str | None) -> None:
        super().__init__(app, app_token)
        self._taking = True
        self._answering = 0  # taken, and not yet answered over the connection
        self._answered = threading.Condition()

    # narrower than BaseSocketModeHandler.handle's client, as Bolt's own override is (with the same ignore)
    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with self._answered:
            if not self._taking:
                return
            self._answering += 1
        try:
            super().handle(client, req)  # Bolt's dispatch, then the ack over the connection
        finally:
            with self._answered:
                self._answering -= 1
                self._answered.notify_all()

    def stop_taking(self, timeout: float) -> bool:
        """Take no more envelopes, and wait up to `timeout` seconds for those taken to be answered; True if they
        were."""
        with self._answered:
            self._taking = False
            return self._answered.wait_for(lambda: self._answering == 0, timeout)


def _finish(
    stop: shutdown.Shutdown,
    app: OkrApp | None,
    db: Database,
    readiness: Readiness,
    *,
    answered: bool,
    worked: bool,
    swept: bool,
) -> int:
    if not (answered and worked and swept):
        log.warning(
            "the grace period ran out before everything was done",
            extra={"requests_answered": answered, "work_after_acks_done": worked, "sweep_ended": swept},
        )
    if app is not None:
        app.close()
    readiness.close()
    stop.finish()
    db.dispose()
    return 0
