"""SocketDriver: the SlackDriver's requests (commands, events, clicks, form submissions, shortcuts) sent as Socket Mode
envelopes over the fake's link to the bot, instead of as signed HTTP requests.

Every payload is built by SlackDriver, so a scenario sends over Socket Mode exactly what it sends over HTTP. What the
bot acks is handled as an HTTP answer is: a command's reply is shown, a form's ``response_action`` applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from .driver import HttpResult, SlackDriver
from .fake.recorder import Ack
from .fake.socket_mode import Envelope
from .fake_slack import FakeSlack

ACK_WAIT = 10.0  # seconds a request waits for its ack (Slack waits 3: `SocketResult.elapsed` tells how long it took)
RESPONSE_PAYLOADS = ("view_submission", "block_suggestion")  # interactions whose ack may carry a payload


@dataclass(frozen=True)
class SocketResult(HttpResult):
    """An ack read as an HTTP answer: status 200 and the ack's payload as the body; status 0 when no ack came
    (within the wait, or before the link closed)."""

    envelope: Envelope | None = None
    ack: Ack | None = None

    @property
    def payload(self) -> dict | None:
        return self.ack.payload if self.ack is not None else None


class SocketDriver(SlackDriver):
    """Plays Slack's side over the fake's Socket Mode links (the bot must have one open: ``fake.wait_for_socket()``).

    Each method returns once the bot acked, or after ``ack_wait`` seconds without an ack."""

    def __init__(
        self, fake: FakeSlack, *, clock: Callable[[], float] | None = None, ack_wait: float = ACK_WAIT
    ) -> None:
        # no URL and no signing secret: a Socket Mode link is authenticated when it opens
        self.fake = fake
        self.bot_url = ""
        self._clock = clock or (lambda: time.time())
        self.ack_wait = ack_wait

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        raise TypeError("Socket Mode requests are not signed")

    def send_raw(self, body: bytes, headers: dict[str, str]) -> HttpResult:
        raise TypeError("a Socket Mode app has no HTTP endpoint: send envelopes with FakeSlack.send_envelope()")

    def _send_command(self, fields: dict[str, str]) -> SocketResult:
        return self._deliver("slash_commands", fields, accepts_response_payload=True)

    def _send_event(self, envelope: dict, retry_num: int | None, retry_reason: str) -> SocketResult:
        if retry_num is None:
            return self._deliver("events_api", envelope)
        return self._deliver("events_api", envelope, retry_attempt=retry_num, retry_reason=retry_reason)

    def _send_interaction(self, payload: dict) -> SocketResult:
        accepts = payload.get("type") in RESPONSE_PAYLOADS
        return self._deliver("interactive", payload, accepts_response_payload=accepts)

    def _deliver(
        self,
        kind: str,
        payload: dict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> SocketResult:
        sent = self.fake.send_envelope(
            kind,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        ack = sent.wait_ack(self.ack_wait)
        if ack is None:
            return SocketResult(status=0, envelope=sent)
        if ack.payload is None:
            return SocketResult(200, {}, b"", ack.seconds or 0.0, envelope=sent, ack=ack)
        body = json.dumps(ack.payload).encode()
        return SocketResult(200, {"Content-Type": "application/json"}, body, ack.seconds or 0.0, envelope=sent, ack=ack)
