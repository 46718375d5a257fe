"""The ack path's pools on their own (bot/ack.py): the workers' bounds, the gate's deadline and slots, and a
transaction of an abandoned request rolling back. The whole path through Slack's requests is tested end to end in
tests/e2e/test_slack_weather.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy import text

from bot.ack import SLOT_WAIT, AckGate, Fallbacks, Workers
from storage.db import Database, request_abandoned


def test_workers_run_what_they_are_given_and_say_when_they_are_full() -> None:
    workers = Workers(2, backlog=1)
    release = threading.Event()
    ran: list[int] = []
    try:
        futures = [workers.submit(lambda n=n: (release.wait(5), ran.append(n))) for n in range(3)]
        assert workers.saturated() and workers.pending == 3
        dropped = workers.submit(ran.append, 99)  # two running, one waiting: nothing more is taken
        assert dropped.done() and dropped.result() is None and workers.dropped == 1
        release.set()
        assert workers.wait_idle(5) and not workers.saturated()
        assert sorted(ran) == [0, 1, 2] and all(f.done() for f in futures)
    finally:
        workers.shutdown()


def test_work_for_a_request_answered_without_it_never_starts() -> None:
    workers = Workers(1, backlog=5)
    gate_open = threading.Event()
    ran: list[str] = []
    try:
        workers.submit(gate_open.wait, 5)  # the only worker is busy
        abandoned = threading.Event()
        token = request_abandoned.set(abandoned)
        try:
            workers.submit(ran.append, "late")
        finally:
            request_abandoned.reset(token)
        abandoned.set()  # Slack was answered with a fallback meanwhile
        workers.submit(ran.append, "other")
        gate_open.set()
        assert workers.wait_idle(5)
        assert ran == ["other"]
    finally:
        workers.shutdown()


def _request() -> BoltRequest:
    return BoltRequest(body="command=%2Fokr&text=list&team_id=T1&user_id=U1&channel_id=C1", headers={})


@pytest.fixture
def gate():
    workers = Workers(4)
    made = AckGate(workers=workers, fallbacks=Fallbacks(notices=None), signing_secret=None, slots=2, deadline=0.3)
    yield made
    made.shutdown()
    workers.shutdown()


def test_an_answer_ready_in_time_is_the_answer(gate: AckGate) -> None:
    answer = gate.dispatch(lambda _req: BoltResponse(status=200, body="listed"), _request())
    assert (answer.status, answer.body) == (200, "listed")


def test_a_late_answer_is_replaced_by_the_fallback_and_its_transaction_rolls_back(
    gate: AckGate, tmp_path: Path
) -> None:
    db = Database(f"sqlite:///{tmp_path}/gate.db")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE saved (what TEXT)"))
    finished = threading.Event()
    outcome: list[BaseException | None] = []

    def slow(_req: BoltRequest) -> BoltResponse:
        try:
            with db.transaction() as session:
                session.execute(text("INSERT INTO saved VALUES ('typed')"))
                time.sleep(0.6)  # the database is slow: past the deadline
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)
            raise
        finally:
            finished.set()
        return BoltResponse(status=200, body="")

    started = time.monotonic()
    answer = gate.dispatch(slow, _request())
    assert time.monotonic() - started < 0.5
    assert answer.status == 200 and "did not run your command" in answer.body and "/okr list" in answer.body
    assert finished.wait(5)
    assert type(outcome[0]).__name__ == "RequestAbandoned"
    with db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM saved")) == 0  # the person was told: nothing was saved
    db.dispose()


def test_with_every_slot_held_by_stuck_work_a_request_is_answered_at_once(gate: AckGate) -> None:
    stuck = threading.Event()
    try:
        for _ in range(2):
            gate.dispatch(lambda _req: (stuck.wait(5), BoltResponse(status=200))[1], _request())  # past the deadline
        time.sleep(SLOT_WAIT + 0.1)  # the stuck ones are older than a burst's wait now
        started = time.monotonic()
        answer = gate.dispatch(lambda _req: BoltResponse(status=200, body="never run"), _request())
        assert time.monotonic() - started < 0.1
        assert "did not run your command" in answer.body
        assert gate.fallen_back == {"no_slot": 1, "no_worker": 0, "deadline": 2}
    finally:
        stuck.set()
