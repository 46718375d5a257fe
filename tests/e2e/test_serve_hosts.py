"""`okr-bot serve --host` given a name that stands for several addresses (waitress's `*`, or `localhost` where it
is both 127.0.0.1 and ::1): one port on each address, and the same orderly stop."""

from __future__ import annotations

import signal
import socket

import pytest

from tests.e2e.test_cli import _wait_healthy, start_serve


def _addresses(host: str | None) -> int:
    """How many addresses waitress listens on for `host` (None: every interface, as `*` says)."""
    found = socket.getaddrinfo(host, 0, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP, socket.AI_PASSIVE)
    return len({info[4][0] for info in found})


def test_serve_listens_on_every_address_of_a_host_and_stops_cleanly(slack, database_url):
    if _addresses(None) < 2:
        pytest.skip("this machine has no IPv6: `*` is one address here")
    process, port = start_serve(slack, database_url, host="*")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        _wait_healthy(f"http://[::1]:{port}/healthz", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert '"message": "serving Slack over HTTP"' in err
    assert '"message": "stopped"' in err
    assert "Traceback" not in err
