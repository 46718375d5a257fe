"""The ack path: every request Slack sends is answered within `ACK_DEADLINE`, whatever the work waits on.

Slack gives a request 3 seconds. Behind it the bot may wait on Slack itself (latency, 429s with Retry-After), on a
database that is slow, down or hanging, or on a burst of other requests. Three bounded pools keep those waits
away from the answer (README, "Answering Slack in time"):

- **Dispatch slots.** `AckGate.dispatch` runs Bolt's whole dispatch (signature check, our middleware's workspace
  read, events' writes, the listener up to its `ack()`) on a pool of its own and waits for it at most until the
  deadline. A request that finds every slot taken (for longer than `SLOT_WAIT`), or is still unanswered at the
  deadline, gets a *fallback* answer (`Fallbacks`); its work is then abandoned: a listener that has not started
  never starts, and a transaction still open never commits (`storage.db.request_abandoned`), so what the person
  was told ("nothing was saved, try again") stays true.
- **Workers** (Bolt's `listener_executor`). The listeners, and the work they do after their ack. Bolt's default is
  five threads, and the ack runs in that same pool: five handlers waiting on Slack left nothing to ack with. The
  pool is larger, and a request is admitted only if a worker can take it (events excepted: their durable part is
  written before the ack, and what follows it is redone by the minute sweep if it is dropped).
- **Notices.** A click or a shortcut answered by a fallback is told so in Slack (an ephemeral reply through its
  `response_url`, or a small form), from a pool of two threads with a bounded queue, so that telling people never
  holds up an answer.

The fallback says what happened in the person's words and keeps what they typed: a command's text is shown back to
them, a form stays open with the reason next to its first field. An event is answered 503, so Slack sends it again.
"""

from __future__ import annotations

import contextvars
import enum
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot import metrics
from bot.render import render_message, render_view
from storage.db import request_abandoned

log = logging.getLogger(__name__)

# Slack waits 3 s; the answer must also travel back, and a request may have queued in the HTTP server first
ACK_DEADLINE = 2.5
SLOT_WAIT = 1.0  # seconds a request may wait for a free dispatch slot (a burst on SQLite's one writer takes turns)
NOTICE_TIMEOUT = 5  # seconds a fallback's message to Slack may take; it is a courtesy, never retried
NOTICE_BACKLOG = 100
FALLBACK = "okr_fallback"  # the attribute a fallback answer carries: why it was given


class Reason(enum.Enum):
    BUSY = "busy"  # no slot or worker free, or the answer was not ready by the deadline
    DATABASE = "database"  # the database refused


class Workers(Executor):
    """Bolt's `listener_executor`: `size` threads, and a bounded backlog behind them.

    Work submitted on behalf of a request whose answer was already given by a fallback is dropped when its turn
    comes. `saturated()` is what the gate admits requests by; `wait_idle()` lets the sandbox and tests wait until
    the work after the acks is done.
    """

    def __init__(self, size: int = 32, *, backlog: int = 256, name: str = "okr-listener") -> None:
        if size < 1 or backlog < 0:
            raise ValueError(f"a pool needs at least one worker and a backlog of zero or more, not {size}/{backlog}")
        self.size, self.backlog = size, backlog
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        self._pending = 0  # submitted and not finished
        self._idle = threading.Condition()
        self.dropped = 0

    @property
    def pending(self) -> int:
        return self._pending

    def saturated(self) -> bool:
        """True when new work would wait behind `size` running listeners rather than start at once."""
        return self._pending >= self.size

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        abandoned = request_abandoned.get()
        context = contextvars.copy_context()
        with self._idle:
            if self._pending >= self.size + self.backlog:
                self.dropped += 1
                metrics.WORK_DROPPED.inc()
                log.warning(
                    "the listener pool is full: work after an ack was dropped", extra={"pending": self._pending}
                )
                future: Future = Future()
                future.set_result(None)
                return future
            self._pending += 1

        def run() -> Any:
            try:
                if abandoned is not None and abandoned.is_set():
                    return None  # Slack was answered for this request already: the work must not happen now
                return context.run(fn, *args, **kwargs)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

        try:
            return self._pool.submit(run)
        except RuntimeError:  # shutting down
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
            raise

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class Notices:
    """Tells a person in Slack that their click was not taken (see the module's docstring)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="okr-notice")
        self._queued = threading.BoundedSemaphore(NOTICE_BACKLOG)

    def tell(self, body: dict[str, Any], message: str) -> None:
        if not self._queued.acquire(blocking=False):
            log.warning("too many notices queued: a refused click is not told")
            return

        def send() -> None:
            try:
                self._send(body, message)
            except Exception as error:  # a courtesy message: its failure is logged, never raised
                log.warning("could not tell a person their click was not taken", extra={"error": type(error).__name__})
            finally:
                self._queued.release()

        try:
            self._pool.submit(send)
        except RuntimeError:
            self._queued.release()

    def _send(self, body: dict[str, Any], message: str) -> None:
        reply = render_message("not_taken.j2", message=message)
        response_url = body.get("response_url")
        if isinstance(response_url, str) and response_url:
            WebhookClient(response_url, timeout=NOTICE_TIMEOUT).send(
                response_type="ephemeral", replace_original=False, text=reply["text"], blocks=reply["blocks"]
            )
            return
        trigger_id = body.get("trigger_id")
        if not (isinstance(trigger_id, str) and trigger_id) or not self._client.token:
            log.info("a refused click had nowhere to be told", extra={"type": body.get("type")})
            return
        view = render_view("modal_error.j2", title="OKR bot", message=message)
        view_clicked = body.get("view")
        in_a_form = isinstance(view_clicked, dict) and view_clicked.get("type") == "modal"  # else the App Home
        method = self._client.views_push if in_a_form else self._client.views_open
        method(trigger_id=trigger_id, view=view)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Fallbacks:
    """The answer a request gets when its work cannot answer in time, by the kind of request."""

    def __init__(self, notices: Notices) -> None:
        self.notices = notices

    def answer(self, body: dict[str, Any], reason: Reason) -> BoltResponse:
        response = self._answer(body, reason)
        setattr(response, FALLBACK, reason.value)  # counted as such (bot/metrics.py), not as an answer like any other
        return response

    def _answer(self, body: dict[str, Any], reason: Reason) -> BoltResponse:
        if not isinstance(body, dict):
            return BoltResponse(status=503, body="")
        kind = body.get("type")
        message = MESSAGES[reason]
        if body.get("command"):
            text = body.get("text") if isinstance(body.get("text"), str) else ""
            template = "unavailable.j2" if reason is Reason.DATABASE else "busy.j2"
            reply = {"response_type": "ephemeral", **render_message(template, command=body["command"], text=text)}
            return json_answer(reply)
        if kind == "view_submission":
            return json_answer(form_refusal(body.get("view"), message))
        if kind in ("block_actions", "message_action", "shortcut", "interactive_message"):
            self.notices.tell(body, message)
            return BoltResponse(status=200, body="")
        if kind == "block_suggestion":
            return json_answer({"options": []})
        if kind == "view_closed":
            return BoltResponse(status=200, body="")
        # an event (or anything else): Slack sends it again later, so nothing it carries is lost
        return BoltResponse(status=503, body="")


MESSAGES = {
    Reason.BUSY: "The OKR bot is overloaded or waiting on its database, so this was not done and nothing was saved. "
    "Please try again in a minute.",
    Reason.DATABASE: "The OKR bot can't reach its database right now, so this was not done and nothing was saved. "
    "Please try again in a minute.",
}


_WHY = {
    "no_slot": "every dispatch slot was taken",
    "no_worker": "every listener worker was busy",
    "deadline": "its answer was not ready in time",
}


def form_refusal(view: Any, message: str) -> dict[str, Any]:
    """A form whose submission was not saved stays open with everything typed in it: the reason is shown under its
    first field, or, for a form without fields, on a small form stacked on top of it."""
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str):
            return {"response_action": "errors", "errors": {block["block_id"]: message}}
    title = ((view or {}).get("title") or {}).get("text") if isinstance(view, dict) else None
    return {
        "response_action": "push",
        "view": render_view("modal_error.j2", title=str(title or "OKR bot"), message=message),
    }


def event_not_stored() -> BoltResponse:
    """The answer to an event whose write before the ack the database refused: 503, so Slack sends it again (counted
    as a fallback for the database)."""
    response = BoltResponse(status=503, body="")
    setattr(response, FALLBACK, Reason.DATABASE.value)
    return response


def json_answer(payload: dict[str, Any]) -> BoltResponse:
    """An HTTP 200 answer to Slack carrying `payload` as JSON (an ack's body)."""
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})


class AckGate:
    """Runs Bolt's dispatch so that its answer comes within the deadline (see the module's docstring)."""

    def __init__(
        self,
        *,
        workers: Workers,
        fallbacks: Fallbacks,
        signing_secret: str | None,
        slots: int = 16,
        deadline: float = ACK_DEADLINE,
    ) -> None:
        self.workers, self.fallbacks, self.deadline, self.slots = workers, fallbacks, deadline, slots
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="okr-dispatch")
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._running: dict[object, float] = {}  # when each dispatch holding a slot began
        self.fallen_back: dict[str, int] = {"no_slot": 0, "no_worker": 0, "deadline": 0}

    def dispatch(self, run: Callable[[BoltRequest], BoltResponse], request: BoltRequest) -> BoltResponse:
        """Bolt's dispatch of `request` by `run`, or a fallback at the deadline; counted by kind and outcome."""
        started = time.monotonic()
        response = self._dispatch(run, request, started)
        metrics.answered(
            metrics.request_kind(request.body), response.status, started, fallback=getattr(response, FALLBACK, None)
        )
        return response

    def _dispatch(
        self, run: Callable[[BoltRequest], BoltResponse], request: BoltRequest, started: float
    ) -> BoltResponse:
        body = request.body if isinstance(request.body, dict) else {}
        if not self._signed(request):
            return run(request)  # Bolt refuses it before touching anything slow
        if body.get("type") != "event_callback" and self.workers.saturated():
            return self._fall_back(body, "no_worker")
        # a burst may find every slot taken for an instant: it waits a little for one. Not when the slots are held
        # by dispatches that have run for longer than that already (stuck on a hanging database, they free up only
        # when it answers): waiting for them would only hold up the answer
        wait = 0.0 if self._stuck(started) else min(SLOT_WAIT, max(0.0, self.deadline - (time.monotonic() - started)))
        if not self._free.acquire(timeout=wait):
            return self._fall_back(body, "no_slot")
        token = object()
        with self._lock:
            self._running[token] = started
        abandoned = threading.Event()
        context = contextvars.copy_context()
        context.run(request_abandoned.set, abandoned)

        def dispatched() -> BoltResponse:
            try:
                return context.run(run, request)
            finally:
                with self._lock:
                    self._running.pop(token, None)
                self._free.release()

        try:
            future = self._pool.submit(dispatched)
        except RuntimeError:
            with self._lock:
                self._running.pop(token, None)
            self._free.release()
            return self._fall_back(body, "no_slot")
        try:
            return future.result(timeout=max(0.0, self.deadline - (time.monotonic() - started)))
        except FutureTimeout:
            abandoned.set()
            if future.done() and future.exception() is None:  # answered in the instant before the mark
                response = future.result()
                if response is not None:
                    return response
            return self._fall_back(body, "deadline")

    def in_flight(self) -> int:
        """Requests being dispatched now (received, not answered yet)."""
        with self._lock:
            return len(self._running)

    def _stuck(self, now: float) -> bool:
        """Every slot is held by a dispatch that began longer than `SLOT_WAIT` ago."""
        with self._lock:
            return len(self._running) >= self.slots and now - max(self._running.values()) > SLOT_WAIT

    def _signed(self, request: BoltRequest) -> bool:
        if self._verifier is None or request.mode == "socket_mode":  # Socket Mode's connection is authenticated
            return True
        headers = request.headers
        timestamp = (headers.get("x-slack-request-timestamp") or [""])[0]
        signature = (headers.get("x-slack-signature") or [""])[0]
        return self._verifier.is_valid(request.raw_body, timestamp, signature)

    def _fall_back(self, body: dict[str, Any], why: str) -> BoltResponse:
        self.fallen_back[why] += 1
        log.warning(
            "a %s request was answered without its work: %s",
            body.get("type") or "command",
            _WHY[why],
            extra={"why": why},
        )
        response = self.fallbacks.answer(body, Reason.BUSY)
        setattr(response, FALLBACK, why)
        return response

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
