"""The HTTP face of the fake: ``/api/<method>``, response URLs, upload URLs, Sign in with Slack's pages and Socket
Mode links on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import hosted_files, openid, webhooks
from .methods.apps import LINK_PATH
from .recorder import ApiCall, Recorder
from .socket_mode import SocketMode
from .state import SlackState
from .webapi import WebApi


class FakeSlackServer(ThreadingHTTPServer):
    """A threading HTTP server that knows the fake it serves; port 0 picks a free port."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of concurrent calls must not overflow the listen backlog

    def __init__(self, api: WebApi, state: SlackState, recorder: Recorder) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        self.state = state
        self.recorder = recorder
        self.sockets = SocketMode(state, recorder)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()

    def wait_until(self, due: float) -> bool:
        """Sit on an answer until ``due``, a ``time.monotonic()`` instant (no lock held); False when the server
        stopped meanwhile."""
        return not self._stopping.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        """Stop serving; answers still being held are abandoned (their connections close unanswered), and Socket
        Mode links are cut (server_close waits for every connection's thread)."""
        self._stopping.set()
        self.shutdown()
        self.sockets.close_all()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _form(body: bytes) -> dict:
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _multipart_parts(body: bytes, content_type: str) -> list[tuple[str, bool, bytes]]:
    """(field name, is a file, bytes) for each named part of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)  # bytes, or None for a part that is itself multipart
        if isinstance(name, str):  # not a field without a name (nor one in RFC 2231's encoding: no client sends it)
            parts.append((name, part.get_filename() is not None, payload if isinstance(payload, bytes) else b""))
    return parts


class _Handler(BaseHTTPRequestHandler):
    server: FakeSlackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read the recorded calls, not an access log."""

    def do_GET(self) -> None:
        self._route(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._route(self.rfile.read(length) if length else b"")

    def _route(self, body: bytes) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/api/"):
            self._api_call(path.removeprefix("/api/"), body)
        elif path.startswith("/response/") and self.command == "POST":
            self._response_url(path.removeprefix("/response/"), body)
        elif path.startswith("/upload/") and self.command == "POST":
            self._upload(path.removeprefix("/upload/"), body)
        elif path == LINK_PATH:
            self.server.sockets.serve(self)  # this connection is the link from now on, until it closes
        elif self.command == "GET" and (path.startswith(hosted_files.FILES_PATH) or path == hosted_files.SIGN_IN_PATH):
            self._download(path)
        elif self.command == "GET" and path in openid.PATHS:
            self._openid_page(path)
        else:
            self._reply(404, {"ok": False, "error": "not_found"})

    def _api_call(self, method: str, body: bytes) -> None:
        due = self._arrived()
        args: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        content_type = self.headers.get("Content-Type", "")
        try:
            if "application/json" in content_type and body:
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise ValueError("not an object")
                args.update(decoded)
            elif "multipart/form-data" in content_type:
                args.update(
                    {
                        name: data if is_file else data.decode("utf-8")
                        for name, is_file, data in _multipart_parts(body, content_type)
                    }
                )
            elif body:
                args.update(_form(body))
        except ValueError:
            error = "invalid_json" if "json" in content_type else "invalid_form_data"
            self._reply_at(due, 200, self.server.api.refuse(method, error))
            return
        token, basic = self._credentials(args)
        status, answer, headers, hold = self.server.api.handle(method, args, token, basic)
        self._reply_at(due + (hold or 0.0), status, answer, headers)

    def _arrived(self) -> float:
        """When the answer to the call that just arrived is due: now, plus Slack's latency when one is set.

        Real time, not the fake's clock: a test may freeze that one, and the answer still has to leave."""
        return time.monotonic() + self.server.api.faults.latency()

    def _credentials(self, args: dict) -> tuple[str | None, tuple[str, str] | None]:
        header = self.headers.get("Authorization", "")
        token = args.pop("token", None) or None
        basic = None
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip() or token
        elif header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header.removeprefix("Basic ")).decode("utf-8")
            except ValueError:
                decoded = ""
            client_id, _, secret = decoded.partition(":")
            basic = (client_id, secret)
        return token, basic

    def _response_url(self, url_id: str, body: bytes) -> None:
        due = self._arrived()
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        state = self.server.state
        with state.lock:
            status, answer = webhooks.post_response(state, url_id, payload)
            target = state.response_urls.get(url_id)
        recorder, now = self.server.recorder, state.clock()
        if status == 200 and target is not None:
            recorder.record_response(
                {
                    "url_id": url_id,
                    "body": payload,
                    "at": now,
                    "channel": target.channel_id,
                    "user": target.user_id,
                }
            )
        # also in the call log, so fake.calls reads as one timeline of everything the bot sent to Slack
        args = payload if isinstance(payload, dict) else {"body": payload}
        team_id = target.team_id if target is not None else None
        recorder.record_call(ApiCall("response_url", args, None, answer, status, now, team_id))
        if status == 200 and self.server.api.faults.take_lost("response_url") is not None:
            self.close_connection = True  # posted, and the connection drops before the answer: the client hears nothing
            return
        self._reply_at(due, status, answer)

    def _upload(self, file_id: str, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if "multipart/form-data" in content_type:
            parts = _multipart_parts(body, content_type)
            body = parts[0][2] if parts else b""
        state = self.server.state
        with state.lock:
            pending = state.pending_uploads.get(file_id)
            if pending is not None:
                pending.content = body
        if pending is None:
            self._reply(404, {"ok": False, "error": "file_not_found"})
            return
        self._send(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8", {})

    def _download(self, path: str) -> None:
        """A file's bytes for its workspace's bot; recorded as a ``files.download`` call when a file was asked for."""
        token, _basic = self._credentials({})
        fault = self.server.api.faults.take("files.download") if path != hosted_files.SIGN_IN_PATH else None
        served = hosted_files.serve(self.server.state, path, token, fault)
        if served.file_id is not None:
            answer: dict = {"ok": served.status == 200, "bytes": len(served.body)}
            if served.status != 200:
                answer["error"] = {302: "redirected_to_sign_in", 404: "file_not_found"}.get(served.status, "failed")
            state = self.server.state
            with state.lock:
                ws = state.workspace_for_token(token) if token else None
            call = ApiCall(
                "files.download",
                {"file": served.file_id},
                token,
                answer,
                served.status,
                state.clock(),
                ws.team_id if ws else None,
            )
            self.server.recorder.record_call(call)
        self._send(served.status, served.body, served.content_type, served.headers)

    def _openid_page(self, path: str) -> None:
        """Sign in with Slack's authorize page, or the redirect back to the app a choice on it makes."""
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        page = openid.visit(self.server.state, self.server.recorder, path, params)
        self._send(page.status, page.body, "text/html; charset=utf-8", page.headers)

    def _reply_at(self, due: float, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        """Answer at ``due`` (a ``time.monotonic()`` instant) at the earliest; abandoned if the server stops first."""
        if not self.server.wait_until(due):
            self.close_connection = True
            return
        self._reply(status, body, headers)

    def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers or {})

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (killed, or gave up on a held answer)
