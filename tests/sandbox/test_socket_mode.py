"""The fake's Socket Mode against slack_sdk's own SocketModeClient (the one Bolt's SocketModeHandler runs): the app
token opens a link, Slack greets it, envelopes go out and acks come back, and Slack asks the app to move or drops it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.sandbox import FakeSlack
from bot.sandbox.fake.socket_mode import NotConnected


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


class App:
    """An app on slack_sdk's builtin client: it acks every envelope, with `answer(request)` as the payload."""

    def __init__(self, fake: FakeSlack, answer: Callable[[SocketModeRequest], dict | None] = lambda request: None):
        self.requests: list[SocketModeRequest] = []
        self.messages: list[dict] = []
        self.client = SocketModeClient(
            app_token=fake.app_token, web_client=WebClient(base_url=fake.api_url), ping_interval=2
        )
        self.client.message_listeners.append(lambda client, message, raw: self.messages.append(message))

        def ack(client: SocketModeClient, request: SocketModeRequest) -> None:
            self.requests.append(request)
            client.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer(request)))

        self.client.socket_mode_request_listeners.append(ack)

    def connect(self) -> App:
        self.client.connect()
        return self

    def close(self) -> None:
        """The client's close, without the second its message processor waits on its queue before it sees it."""
        self.client.closed = True
        self.client.message_queue.put(None)
        self.client.close()


@pytest.fixture
def apps(fake: FakeSlack) -> Iterator[Callable[..., App]]:
    started: list[App] = []

    def start(**kwargs) -> App:
        started.append(App(fake, **kwargs).connect())
        return started[-1]

    yield start
    fake.drop_socket("reset")  # a link cut first: the client's receive loop ends at once, so close() does not wait
    for app in started:
        app.close()


def wait(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return found


def command_payload(fake: FakeSlack, text: str = "help") -> dict:
    return {
        "command": "/okr",
        "text": text,
        "team_id": fake.workspace().team_id,
        "api_app_id": fake.app_id,
        "user_id": "U1",
        "channel_id": "C1",
    }


# apps.connections.open ----------------------------------------------------------------------------------------------


def test_only_the_app_level_token_opens_a_link(fake: FakeSlack):
    client = WebClient(base_url=fake.api_url)
    url = client.apps_connections_open(app_token=fake.app_token)["url"]
    where = urlsplit(url)
    assert where.scheme == "ws" and where.path == "/link/" and f"{where.hostname}:{where.port}" in fake.base_url
    assert parse_qs(where.query)["app_id"] == [fake.app_id] and parse_qs(where.query)["ticket"]
    assert fake.app_token.startswith("xapp-1-") and fake.workspace().app_token == fake.app_token

    errors = {}
    for token in (fake.workspace().bot_token, "xapp-1-A0OTHER-0000-nope", ""):
        with pytest.raises(SlackApiError) as refused:
            client.apps_connections_open(app_token=token)
        errors[token] = refused.value.response["error"]
    assert list(errors.values()) == ["not_allowed_token_type", "invalid_auth", "not_authed"]
    assert [call.ok for call in fake.calls_to("apps.connections.open")] == [True, False, False, False]


def test_another_app_has_its_own_token_and_links(fake: FakeSlack):
    fake.add_workspace("T0OTHER", "Other", "xoxb-other", bot_user_id="U0OBOT", bot_id="B0OBOT", app_id="A0OTHER")
    other = fake.workspace("T0OTHER").app_token
    assert other != fake.app_token and "A0OTHER" in other
    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=other)["url"]
    assert parse_qs(urlsplit(url).query)["app_id"] == ["A0OTHER"]


def handshake(url: str, *, key: str = "dGhlIHNhbXBsZSBub25jZQ==", upgrade: bool = True) -> str:
    """The status line a raw GET of `url` gets."""
    where = urlsplit(url)
    headers = f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n" if upgrade else ""
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(
            f"GET {where.path}?{where.query} HTTP/1.1\r\nHost: {where.hostname}\r\n{headers}"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        return sock.makefile("rb").readline().decode().strip()


def test_a_ticket_opens_one_link_and_a_plain_get_opens_none(fake: FakeSlack):
    client = WebClient(base_url=fake.api_url)
    url = client.apps_connections_open(app_token=fake.app_token)["url"]
    assert handshake(url, upgrade=False).startswith("HTTP/1.1 400")  # not a WebSocket handshake: the ticket stays
    assert handshake(url) == "HTTP/1.1 101 Switching Protocols"
    assert handshake(url).startswith("HTTP/1.1 401")  # used
    assert handshake(url.replace("ticket=", "ticket=forged")).startswith("HTTP/1.1 401")


# a link -------------------------------------------------------------------------------------------------------------


def test_slack_greets_a_link_and_answers_the_clients_pings(fake: FakeSlack, apps):
    app = apps()
    fake.wait_for_socket()
    hello = wait(lambda: [m for m in app.messages if m.get("type") == "hello"])[0]
    assert hello["num_connections"] == 1 and hello["connection_info"] == {"app_id": fake.app_id}
    assert {"host", "build_number", "approximate_connection_time"} <= set(hello["debug_info"])
    session = app.client.current_session
    wait(lambda: session.last_ping_pong_time is not None)  # its first ping, sent on connect, was answered
    second = apps()
    assert wait(lambda: [m for m in second.messages if m.get("type") == "hello"])[0]["num_connections"] == 2
    assert [link["state"] for link in fake.socket_links()] == ["open", "open"]


def test_an_envelope_goes_out_and_its_ack_comes_back_with_its_payload(fake: FakeSlack, apps):
    app = apps(answer=lambda request: {"text": f"got {request.payload['text']}"})
    fake.wait_for_socket()
    envelope = fake.send_envelope("slash_commands", command_payload(fake), accepts_response_payload=True)
    ack = envelope.wait_ack()
    assert ack is not None and ack.payload == {"text": "got help"} and ack.type == "slash_commands"
    assert ack.envelope_id == envelope.envelope_id and 0 <= ack.seconds < 3 and ack.connection == envelope.connection
    (request,) = app.requests
    assert (request.type, request.envelope_id, request.accepts_response_payload) == (
        "slash_commands",
        envelope.envelope_id,
        True,
    )
    assert request.payload == command_payload(fake)
    assert fake.acks == [ack]
    (call,) = fake.calls_to("socket_mode_ack")  # in the call log too, after the link was opened
    assert call.args == {"envelope_id": envelope.envelope_id, "type": "slash_commands", "payload": {"text": "got help"}}
    assert call.team_id == fake.workspace().team_id
    assert [c.method for c in fake.calls] == ["apps.connections.open", "socket_mode_ack"]


def test_an_event_carries_its_retry_and_an_ack_without_payload_is_recorded(fake: FakeSlack, apps):
    app = apps()
    fake.wait_for_socket()
    event = {
        "type": "event_callback",
        "team_id": fake.workspace().team_id,
        "api_app_id": fake.app_id,
        "event": {"type": "app_home_opened", "user": "U1"},
        "event_id": "Ev1",
    }
    first = fake.send_envelope("events_api", event)
    again = fake.send_envelope("events_api", event, retry_attempt=1, retry_reason="timeout")
    assert first.wait_ack().payload is None and again.wait_ack() is not None
    assert [(r.retry_attempt, r.retry_reason, r.accepts_response_payload) for r in app.requests] == [
        (0, "", False),
        (1, "timeout", False),
    ]
    assert fake.wait_for_ack(lambda ack: ack.envelope_id == again.envelope_id).type == "events_api"


def test_an_ack_for_no_envelope_is_recorded_as_such(fake: FakeSlack, apps):
    app = apps()
    fake.wait_for_socket()
    app.client.send_socket_mode_response({"envelope_id": "made-up"})
    ack = fake.wait_for_ack()
    assert (ack.envelope_id, ack.type, ack.seconds) == ("made-up", None, None)


def test_no_link_no_envelope(fake: FakeSlack):
    with pytest.raises(NotConnected):
        fake.send_envelope("events_api", {"type": "event_callback"})
    with pytest.raises(ValueError, match="slash_commands"):
        fake.send_envelope("hello", {})


def test_envelopes_take_turns_over_the_links_open(fake: FakeSlack, apps):
    first, second = apps(), apps()
    links = [link["id"] for link in fake.wait_for_socket(2)]
    sent = [fake.send_envelope("interactive", {"type": "block_actions", "api_app_id": fake.app_id}) for _ in range(4)]
    assert all(envelope.wait_ack() for envelope in sent)
    assert [envelope.connection for envelope in sent] == links * 2
    assert len(first.requests) == len(second.requests) == 2


# Slack ending a link ------------------------------------------------------------------------------------------------


def test_asked_to_refresh_the_app_moves_to_a_new_link_and_envelopes_follow(fake: FakeSlack, apps):
    apps()
    (old,) = fake.wait_for_socket()
    assert fake.drop_socket("refresh") == [old["id"]]  # the client acts on it itself: listeners never see it
    new = wait(lambda: [link for link in fake.socket_links() if link["state"] == "open"])[0]
    assert new["id"] != old["id"] and len(fake.calls_to("apps.connections.open")) == 2
    wait(lambda: fake.socket_links() == [new])  # the app closed the old one
    envelope = fake.send_envelope("events_api", {"type": "event_callback", "api_app_id": fake.app_id})
    assert envelope.wait_ack() is not None and envelope.connection == new["id"]


def test_a_link_closed_with_envelopes_unacked_loses_them(fake: FakeSlack, apps):
    apps(answer=lambda request: time.sleep(0.8))  # the app is slow to ack
    (link,) = fake.wait_for_socket()
    envelope = fake.send_envelope("slash_commands", command_payload(fake), accepts_response_payload=True)
    fake.drop_socket("close")  # a close frame: Slack's side goes away
    started = time.monotonic()
    assert envelope.wait_ack(timeout=5) is None
    assert envelope.lost and time.monotonic() - started < 0.8  # known as the link closes, before any ack could come
    assert link["id"] not in [other["id"] for other in fake.socket_links()]


def test_a_reset_cuts_the_link_without_a_word(fake: FakeSlack, apps):
    apps()
    (link,) = fake.wait_for_socket()
    fake.drop_socket("reset")
    wait(lambda: link["id"] not in [other["id"] for other in fake.socket_links()])
    with pytest.raises(NotConnected):
        fake.send_envelope("events_api", {"type": "event_callback", "api_app_id": fake.app_id})


def test_stopping_the_fake_cuts_its_links_at_once(apps):
    fake = FakeSlack().start()
    app = App(fake).connect()
    fake.wait_for_socket()
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    app.close()


def test_an_envelope_is_json_as_slack_sends_it(fake: FakeSlack):
    """The wire message, read raw: the documented fields and nothing else."""
    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]
    where = urlsplit(url)
    from bot.sandbox.fake.websocket import TEXT, encode_frame, read_frame

    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(
            f"GET {where.path}?{where.query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        stream = sock.makefile("rb")
        while stream.readline() not in (b"\r\n", b""):
            pass
        assert json.loads(read_frame(stream.read).payload)["type"] == "hello"
        fake.wait_for_socket()
        envelope = fake.send_envelope("events_api", {"type": "event_callback", "api_app_id": fake.app_id})
        message = json.loads(read_frame(stream.read).payload)
        assert message == {
            "envelope_id": envelope.envelope_id,
            "payload": envelope.payload,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        ack = json.dumps({"envelope_id": envelope.envelope_id}).encode()
        sock.sendall(encode_frame(TEXT, ack, mask=b"\x01\x02\x03\x04"))
        assert envelope.wait_ack() is not None and envelope.wait_ack().payload is None
        fake.drop_socket("refresh")
        disconnect = json.loads(read_frame(stream.read).payload)
        assert disconnect["type"] == "disconnect" and disconnect["reason"] == "refresh_requested", disconnect
        with pytest.raises(NotConnected):  # nothing more over a link being refreshed
            fake.send_envelope("events_api", {"type": "event_callback", "api_app_id": fake.app_id})
