"""RFC 6455 WebSockets, the server's side, as much as Socket Mode uses: the opening handshake, text frames both
ways (a client's are masked, a server's never are), fragmented messages, ping/pong, and the close handshake.

No extensions (no compression) and no subprotocols: Slack's Socket Mode client asks for neither. A frame that
breaks the protocol (unmasked from the client, a reserved bit set, an unknown opcode, a fragmented or oversized
control frame) closes the connection with 1002, as section 7.4.1 says; a message larger than `MAX_MESSAGE` with 1009,
and text that is not UTF-8 with 1007.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from email.message import Message
from io import BufferedIOBase
from typing import NamedTuple

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # section 1.3: what the accept key is derived with
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA, _CONTROL = {CONTINUATION, TEXT, BINARY}, {CLOSE, PING, PONG}
MAX_MESSAGE = 1 << 20  # bytes; Slack's payloads are far smaller
NORMAL, GOING_AWAY, PROTOCOL_ERROR, NOT_TEXT, NO_STATUS, TOO_BIG = 1000, 1001, 1002, 1007, 1005, 1009


class ProtocolError(Exception):
    """The peer broke the protocol: the connection is closed with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Frame(NamedTuple):
    fin: bool
    opcode: int
    payload: bytes
    masked: bool


def accept_key(key: str) -> str:
    """`Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key.strip() + GUID).encode("ascii")).digest()).decode("ascii")


def upgrade_problem(method: str, headers: Mapping[str, str] | Message) -> str | None:
    """Why this HTTP request is not a WebSocket opening handshake (section 4.2.1), or None when it is one."""
    if method != "GET":
        return "the handshake is a GET"
    if (headers.get("Upgrade") or "").strip().lower() != "websocket":
        return "Upgrade: websocket is missing"
    if "upgrade" not in [part.strip().lower() for part in (headers.get("Connection") or "").split(",")]:
        return "Connection: Upgrade is missing"
    if (headers.get("Sec-WebSocket-Version") or "").strip() != "13":
        return "Sec-WebSocket-Version is not 13"
    try:
        key = base64.b64decode((headers.get("Sec-WebSocket-Key") or "").strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) != 16:
        return "Sec-WebSocket-Key is not 16 bytes in base64"
    return None


def _masked(data: bytes, mask: bytes) -> bytes:
    """`data` XOR-ed with the 4-byte `mask`, repeated (section 5.3); masking and unmasking are the same."""
    if not data:
        return data
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One frame on the wire; a client masks (`mask`, 4 bytes), a server does not (section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length <= 125:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if mask is None:
        return header + payload
    return header + mask + _masked(payload, mask)


def _exactly(read: Callable[[int], bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    wanted = size
    while wanted:
        chunk = read(wanted)
        if not chunk:
            raise EOFError("the connection closed in the middle of a frame" if chunks else "the connection closed")
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def read_frame(read: Callable[[int], bytes], *, max_size: int = MAX_MESSAGE) -> Frame:
    """The next frame from `read` (a blocking read of up to n bytes; b"" at the end), unmasked. Raises EOFError when
    the connection ends, ProtocolError on a frame the protocol forbids."""
    first, second = _exactly(read, 2)
    fin, opcode, masked, length = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
    if first & 0x70:
        raise ProtocolError(PROTOCOL_ERROR, "a reserved bit is set and no extension was agreed")
    if opcode not in _DATA | _CONTROL:
        raise ProtocolError(PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
    if length == 126:
        (length,) = struct.unpack("!H", _exactly(read, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _exactly(read, 8))
        if length >> 63:
            raise ProtocolError(PROTOCOL_ERROR, "the length's most significant bit is set")
    if opcode in _CONTROL and (not fin or length > 125):
        raise ProtocolError(PROTOCOL_ERROR, "a control frame is fragmented or longer than 125 bytes")
    if length > max_size:
        raise ProtocolError(TOO_BIG, "the frame is too big")
    mask = _exactly(read, 4) if masked else None
    payload = _exactly(read, length)
    return Frame(fin, opcode, _masked(payload, mask) if mask else payload, masked)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode("utf-8")[:123]


class WebSocket:
    """The server's end of one connection, after the handshake.

    One thread reads (`receive`), answering pings and the peer's close as it goes; any thread may send. `abort()`
    ends the connection without a close frame (a network drop): the reading thread then sees the end and returns.
    """

    def __init__(self, sock: socket.socket, reader: BufferedIOBase, *, max_message: int = MAX_MESSAGE) -> None:
        self._sock = sock
        self._reader = reader  # the HTTP server's buffered reader: bytes already read past the handshake stay in it
        self._max = max_message
        self._send_lock = threading.Lock()
        self.close_sent: int | None = None  # the code of the close frame this side sent
        self.close_received: int | None = None  # the code the peer's close frame carried (1005: none given)
        self.pongs: list[bytes] = []
        self.closed = threading.Event()

    # sending ----------------------------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Send a text message (one frame); ConnectionError once the connection is closing or gone."""
        if self.close_sent is not None or self.closed.is_set():
            raise ConnectionError("the WebSocket is closing")
        self._send(TEXT, text.encode("utf-8"))

    def ping(self, payload: bytes = b"") -> None:
        self._send(PING, payload)

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Start the close handshake: send a close frame (once); the peer answers with its own, or drops the
        connection, and `receive` returns None."""
        with self._send_lock:
            if self.close_sent is not None or self.closed.is_set():
                return
            self.close_sent = code
        try:
            self._send(CLOSE, close_payload(code, reason), closing=True)
        except ConnectionError:
            self.abort()

    def abort(self) -> None:
        """Drop the connection without a close frame."""
        with contextlib.suppress(OSError):  # gone already
            self._sock.shutdown(socket.SHUT_RDWR)

    def _send(self, opcode: int, payload: bytes, *, closing: bool = False) -> None:
        frame = encode_frame(opcode, payload)
        with self._send_lock:
            if self.closed.is_set() or (self.close_sent is not None and not closing):
                raise ConnectionError("the WebSocket is closed")
            try:
                self._sock.sendall(frame)
            except OSError as error:
                raise ConnectionError(f"the WebSocket is gone: {error}") from error

    # receiving --------------------------------------------------------------------------------------------------

    def receive(self) -> str | None:
        """The next whole text message, or None once the connection is closed (the close handshake done, the peer
        gone, or a protocol error answered with a close frame). Pings are answered here; binary messages dropped."""
        parts: list[bytes] = []
        kind: int | None = None
        while True:
            try:
                frame = read_frame(self._reader.read, max_size=self._max)
                if not frame.masked:
                    raise ProtocolError(PROTOCOL_ERROR, "a client's frames are masked")
                if frame.opcode == PING:
                    self._send(PONG, frame.payload)
                    continue
                if frame.opcode == PONG:
                    self.pongs.append(frame.payload)
                    continue
                if frame.opcode == CLOSE:
                    self._closed_by_peer(frame.payload)
                    return None
                if (frame.opcode == CONTINUATION) != (kind is not None):
                    raise ProtocolError(PROTOCOL_ERROR, "a continuation frame out of place")
                kind = frame.opcode if kind is None else kind
                parts.append(frame.payload)
                if sum(map(len, parts)) > self._max:
                    raise ProtocolError(TOO_BIG, "the message is too big")
                if not frame.fin:
                    continue
                data, opcode, parts, kind = b"".join(parts), kind, [], None
                if opcode == TEXT:
                    try:
                        return data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError(NOT_TEXT, "a text message that is not UTF-8") from None
            except ProtocolError as error:
                self.close(error.code, error.reason)
                self._end()
                return None
            except (EOFError, OSError, ConnectionError):
                self._end()
                return None

    def _closed_by_peer(self, payload: bytes) -> None:
        self.close_received = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else NO_STATUS
        if self.close_sent is None:  # echo it (section 5.5.1), then the server closes TCP first (section 7.1.1)
            self.close(self.close_received if self.close_received != NO_STATUS else NORMAL)
        self._end()

    def _end(self) -> None:
        with self._send_lock:
            self.closed.set()
        self.abort()
