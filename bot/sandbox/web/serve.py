"""`okr-bot sandbox` (and `make run` without credentials): the browser sandbox on http://localhost:PORT/."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from bot.log import configure_logging
from bot.playground import sandbox_log_path
from bot.sandbox.session import Sandbox
from bot.sandbox.web.app import SandboxWeb
from bot.settings import Settings
from bot.web import BackgroundServer


def serve_sandbox(
    settings: Settings, *, host: str = "127.0.0.1", out: TextIO | None = None, stop: threading.Event | None = None
) -> int:
    """Serve the page until SIGTERM, SIGINT (Ctrl-C) or `stop`; print its address first."""
    out = out or sys.stdout
    stop = stop or threading.Event()
    log_to = sandbox_log_path(settings)  # the terminal stays for the address and what goes wrong at start
    configure_logging(settings.log_level, secrets=settings.secrets, path=log_to)
    # a click is answered once Slack has been quiet for 0.1 s; what the bot does later (a tally redrawn after the
    # votes settle) reaches the page through its poll
    sandbox = Sandbox(settings, quiet=0.1).start()
    try:
        server = BackgroundServer(SandboxWeb(sandbox), host=host, port=settings.port, threads=8)
    except OSError as error:
        sandbox.stop()
        print(
            f"okr-bot: cannot listen on port {settings.port} ({error.strerror}); set PORT to a free one.",
            file=sys.stderr,
        )
        return 2
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    sandbox.serve_page_at(f"http://{shown}:{server.port}")
    print(
        f"The OKR bot sandbox is ready: open http://{shown}:{server.port}/ in your browser (Ctrl-C stops it).",
        file=out,
        flush=True,
    )
    print(f"(the bot's logs go to {log_to})", file=out, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
        sandbox.stop()
    return 0
