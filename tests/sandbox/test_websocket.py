"""The fake's WebSocket framing (RFC 6455), and that it speaks with slack_sdk's own Socket Mode client code: the frames
and accept key that client builds and checks are the ones read and written here."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from slack_sdk.socket_mode.builtin.frame_header import FrameHeader
from slack_sdk.socket_mode.builtin.internals import (
    _build_data_frame_for_sending,
    _fetch_messages,
    _generate_sec_websocket_key,
    _validate_sec_websocket_accept,
)

from bot.sandbox.fake import websocket
from bot.sandbox.fake.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    ProtocolError,
    WebSocket,
    accept_key,
    encode_frame,
    read_frame,
    upgrade_problem,
)

MASK = b"\x37\xfa\x21\x3d"


def reader(data: bytes):
    """A read(n) over bytes, handing out at most 7 bytes at a time (frames arrive in pieces)."""
    view = memoryview(data)
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        chunk = bytes(view[position : position + min(size, 7)])
        position += len(chunk)
        return chunk

    return read


# the handshake ------------------------------------------------------------------------------------------------------


def test_the_accept_key_is_rfc_6455s_and_the_slack_client_takes_it():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # section 1.3's example
    key = _generate_sec_websocket_key()
    assert _validate_sec_websocket_accept(key, {"sec-websocket-accept": accept_key(key)})


GOOD = {
    "Upgrade": "websocket",
    "Connection": "keep-alive, Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest.mark.parametrize(
    ("method", "change", "problem"),
    [
        ("GET", {}, None),
        ("POST", {}, "GET"),
        ("GET", {"Upgrade": "h2c"}, "Upgrade"),
        ("GET", {"Connection": "keep-alive"}, "Connection"),
        ("GET", {"Sec-WebSocket-Version": "8"}, "Version"),
        ("GET", {"Sec-WebSocket-Key": "c2hvcnQ="}, "Key"),
        ("GET", {"Sec-WebSocket-Key": "not base64!"}, "Key"),
    ],
)
def test_an_upgrade_request_is_checked_as_section_4_2_1_says(method, change, problem):
    found = upgrade_problem(method, GOOD | change)
    assert (found is None) if problem is None else (problem in found)


# frames -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536])
@pytest.mark.parametrize("mask", [None, MASK])
def test_frames_of_every_length_encoding_read_back(length, mask):
    payload = os.urandom(length)
    frame = read_frame(reader(encode_frame(BINARY, payload, mask=mask)), max_size=1 << 17)
    assert frame == (True, BINARY, payload, mask is not None)


def test_a_masked_frame_from_the_slack_client_reads_as_it_was_sent():
    ping = "3f2a9c1e-session:1765281600.123"  # what the client pings with: its session id and the time
    for opcode, payload in ((TEXT, '{"envelope_id": "✓"}' * 40), (PING, ping), (PONG, ping)):
        sent = _build_data_frame_for_sending(payload, opcode)
        frame = read_frame(reader(sent))
        assert frame.masked and frame.fin and frame.opcode == opcode
        assert frame.payload.decode() == payload


def test_the_slack_client_reads_the_servers_frames_even_split_and_back_to_back():
    big, small = "x" * 3000, '{"type": "hello"}'
    wire = encode_frame(TEXT, big.encode()) + encode_frame(PING, b"are you there") + encode_frame(TEXT, small.encode())
    chunks = [wire[i : i + 1024] for i in range(0, len(wire), 1024)]  # what recv(1024) hands the client
    messages: list[tuple[FrameHeader, bytes]] = []
    while chunks:
        messages += _fetch_messages(
            messages=[], receive=lambda size=None: chunks.pop(0) if chunks else b"", logger=None
        )
    assert [(header.opcode, data) for header, data in messages] == [
        (TEXT, big.encode()),
        (PING, b"are you there"),
        (TEXT, small.encode()),
    ]
    assert not any(header.masked for header, _ in messages)  # a server never masks (section 5.1)


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (bytes([0x81 | 0x40, 0x80]) + MASK, 1002),  # a reserved bit, no extension agreed
        (bytes([0x83, 0x80]) + MASK, 1002),  # opcode 3 is reserved
        (bytes([0x09, 0x80]) + MASK, 1002),  # a fragmented ping
        (bytes([0x89, 0xFE]) + struct.pack("!H", 126) + MASK + bytes(126), 1002),  # a control frame over 125
        (bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63), 1002),  # the length's top bit
        (bytes([0x82, 0xFE]) + struct.pack("!H", 2000), 1009),  # over the size allowed
    ],
)
def test_frames_the_protocol_forbids_are_refused_with_their_close_code(wire, code):
    with pytest.raises(ProtocolError) as refused:
        read_frame(reader(wire), max_size=1000)
    assert refused.value.code == code


def test_a_frame_cut_short_is_the_end_of_the_connection():
    with pytest.raises(EOFError):
        read_frame(reader(encode_frame(TEXT, b"hello", mask=MASK)[:-2]))
    with pytest.raises(EOFError):
        read_frame(reader(b""))


# a connection -------------------------------------------------------------------------------------------------------


class Peer:
    """The client's end of a socket pair, sending masked frames and reading the server's."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.read = sock.makefile("rb").read

    def send(self, opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = MASK) -> None:
        self.sock.sendall(encode_frame(opcode, payload, fin=fin, mask=mask))

    def frame(self) -> websocket.Frame:
        return read_frame(self.read)


@pytest.fixture
def pair() -> Iterator[tuple[WebSocket, Peer]]:
    server, client = socket.socketpair()
    server.settimeout(5)
    client.settimeout(5)
    ws = WebSocket(server, server.makefile("rb"), max_message=4096)
    yield ws, Peer(client)
    server.close()
    client.close()


def test_text_both_ways_and_a_ping_answered_with_its_payload(pair):
    ws, peer = pair
    peer.send(PING, b"1700000000.5")
    peer.send(TEXT, b'{"envelope_id": "e1"}')
    assert ws.receive() == '{"envelope_id": "e1"}'
    assert peer.frame() == (True, PONG, b"1700000000.5", False)
    ws.send_text("héllo")
    assert peer.frame() == (True, TEXT, "héllo".encode(), False)
    ws.ping(b"server")
    peer.send(PONG, b"server")
    peer.send(TEXT, b"after")
    assert ws.receive() == "after" and ws.pongs == [b"server"]


def test_a_fragmented_message_is_joined_with_a_ping_between_its_fragments(pair):
    ws, peer = pair
    peer.send(TEXT, b"one ", fin=False)
    peer.send(PING, b"p")
    peer.send(CONTINUATION, b"two ", fin=False)
    peer.send(CONTINUATION, b"three")
    assert ws.receive() == "one two three"
    assert peer.frame().opcode == PONG


def test_binary_messages_are_dropped(pair):
    ws, peer = pair
    peer.send(BINARY, b"\x00\x01")
    peer.send(TEXT, b"text")
    assert ws.receive() == "text"


def test_the_peers_close_is_echoed_and_ends_the_connection(pair):
    ws, peer = pair
    peer.send(CLOSE, struct.pack("!H", 1001) + b"bye")
    assert ws.receive() is None
    assert ws.close_received == 1001 and ws.closed.is_set()
    assert peer.frame() == (True, CLOSE, struct.pack("!H", 1001), False)
    assert peer.read(1) == b""  # and the server closed TCP
    with pytest.raises(ConnectionError):
        ws.send_text("too late")


def test_a_close_without_a_code_is_answered_1000(pair):
    ws, peer = pair
    peer.send(CLOSE)
    assert ws.receive() is None and ws.close_received == 1005
    assert peer.frame().payload == struct.pack("!H", 1000)  # 1005 is never sent (section 7.4.1)


def test_the_server_closing_first_waits_for_the_peer_and_sends_nothing_more(pair):
    ws, peer = pair
    ws.close(1001, "going away")
    assert peer.frame() == (True, CLOSE, struct.pack("!H", 1001) + b"going away", False)
    with pytest.raises(ConnectionError):
        ws.send_text("after the close")
    peer.send(CLOSE, struct.pack("!H", 1001))
    assert ws.receive() is None and ws.close_sent == 1001


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda peer: peer.send(TEXT, b"unmasked", mask=None), 1002),
        (lambda peer: peer.send(CONTINUATION, b"nothing to continue"), 1002),
        (lambda peer: (peer.send(TEXT, b"a", fin=False), peer.send(TEXT, b"b")), 1002),
        (lambda peer: peer.send(TEXT, b"\xff\xfe"), 1007),
        (lambda peer: [peer.send(kind, b"x" * 1000, fin=False) for kind in (TEXT, *[CONTINUATION] * 4)], 1009),
    ],
)
def test_a_protocol_error_closes_with_its_code(pair, send, code):
    ws, peer = pair
    send(peer)
    assert ws.receive() is None
    assert ws.close_sent == code and ws.closed.is_set()
    frames = []
    while (frame := _next_frame(peer)) is not None:
        frames.append(frame)
    assert frames[-1].opcode == CLOSE and struct.unpack("!H", frames[-1].payload[:2])[0] == code


def _next_frame(peer: Peer) -> websocket.Frame | None:
    try:
        return peer.frame()
    except EOFError:
        return None


def test_the_peer_vanishing_ends_receive_and_abort_wakes_a_blocked_reader(pair):
    ws, peer = pair
    peer.sock.close()
    assert ws.receive() is None

    server, client = socket.socketpair()
    blocked = WebSocket(server, server.makefile("rb"))
    ended = []
    thread = threading.Thread(target=lambda: ended.append(blocked.receive()))
    thread.start()
    blocked.abort()
    thread.join(timeout=5)
    assert ended == [None]
    server.close()
    client.close()
