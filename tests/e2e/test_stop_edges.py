"""The edges of a stop, each where it can go wrong: a claim taken over from a dead process keeps what was known of
it whenever it is given back; claims handed back at a stop's deadline wait for the calls that may still be on their
way; a taken-over send does not post once its process is stopping; the watchdog gives the hand-back its time; a
port already taken is said in words."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from bot import clock, shutdown
from bot.delivery.posting import post
from bot.slack import Outcome, web_client
from storage.claims import IN_FLIGHT, LEASE, push_back_all, release, take
from storage.db import Database
from storage.models import ClaimState, SendClaim
from tests import factories
from tests.conftest import child_env
from tests.e2e.test_checkin_delivery import ROOT


def _workspace(db: Database) -> int:
    with db.transaction() as session:
        return factories.workspace(session).id


def _row(db: Database, claim_id: int) -> SendClaim:
    with db.read() as session:
        return session.scalars(select(SendClaim).where(SendClaim.id == claim_id)).one()


def _taken_over(db: Database, workspace_id: int, now):
    """A claim a dead process took an hour ago, taken over now."""
    dead = take(db, workspace_id=workspace_id, kind="checkin", key="k1", now=now - timedelta(hours=1), worker="dead")
    claim = take(db, workspace_id=workspace_id, kind="checkin", key="k1", now=now, worker="alive")
    assert claim is not None and claim.previous_claimed_at == dead.claimed_at
    return dead, claim


def test_a_taken_over_claim_given_back_is_taken_over_again_looking_as_far_back(db):
    workspace_id = _workspace(db)
    now = clock.now()
    dead, claim = _taken_over(db, workspace_id, now)

    release(db, claim)  # e.g. a 429, or a stop, before this process posted: the dead one may have

    row = _row(db, claim.id)
    assert row.state is ClaimState.CLAIMED and row.claimed_at == dead.claimed_at  # kept, not deleted
    again = take(db, workspace_id=workspace_id, kind="checkin", key="k1", now=now + timedelta(minutes=1), worker="next")
    assert again is not None and again.previous_claimed_at == dead.claimed_at  # it looks in Slack from there


def test_a_claim_of_this_process_s_own_is_released_for_good(db):
    workspace_id = _workspace(db)
    now = clock.now()
    claim = take(db, workspace_id=workspace_id, kind="checkin", key="k2", now=now, worker="alive")

    release(db, claim)

    fresh = take(db, workspace_id=workspace_id, kind="checkin", key="k2", now=now, worker="next")
    assert fresh is not None and fresh.previous_claimed_at is None  # nobody posted: nothing to look for


def test_claims_handed_back_at_a_stop_wait_for_calls_still_on_their_way(db):
    workspace_id = _workspace(db)
    now = clock.now()
    take(db, workspace_id=workspace_id, kind="checkin", key="k3", now=now, worker="stopping")

    assert push_back_all(db, "stopping", now=now) == 1

    early = now + IN_FLIGHT - timedelta(seconds=1)
    assert take(db, workspace_id=workspace_id, kind="checkin", key="k3", now=early, worker="next") is None
    later = take(
        db,
        workspace_id=workspace_id,
        kind="checkin",
        key="k3",
        now=now + IN_FLIGHT + timedelta(seconds=1),
        worker="next",
    )
    assert later is not None and later.previous_claimed_at is not None  # and it looks in Slack first
    assert IN_FLIGHT < LEASE


def test_a_taken_over_send_does_not_post_once_its_process_is_stopping(slack, db):
    workspace_id = _workspace(db)
    now = clock.now()
    _dead, claim = _taken_over(db, workspace_id, now)
    client = web_client(base_url=slack.api_url, token=slack.workspace().bot_token, resend=False)
    shutdown.STOPPING.set()

    sent = post(client, claim, channel="C0ROCKET", message={"text": "hello"})

    assert (sent.outcome, sent.error) == (Outcome.FAILED, shutdown.STOPPED)
    assert slack.calls_to("chat.postMessage") == []


def test_the_watchdog_gives_a_hand_back_under_way_its_time_before_exiting():
    spoken, exited = [], []

    def last_words() -> None:
        time.sleep(0.5)
        spoken.append(time.monotonic())

    stop = shutdown.Shutdown(0.1, last_words=last_words)
    stop._exit_now = lambda: exited.append(time.monotonic())  # os._exit would end the test run
    finishing = threading.Thread(target=stop.finish)
    finishing.start()
    time.sleep(0.05)  # the orderly stop is handing back when the deadline comes
    stop._end_now()
    finishing.join()

    assert spoken and exited and exited[0] >= spoken[0]


def test_a_port_already_taken_is_said_in_words(slack, database_url):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_env(
            DATABASE_URL=database_url,
            SLACK_BOT_TOKEN=slack.workspace().bot_token,
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=slack.api_url,
            PORT=str(port),
        )
        env.pop("SLACK_CLIENT_ID", None)
        done = subprocess.run(
            [sys.executable, "-m", "bot", "scheduler"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )

    assert done.returncode == 2, done.stderr
    assert f"Cannot listen on PORT {port}" in done.stderr and "Traceback" not in done.stderr
    assert slack.calls_to("chat.postMessage") == []  # nothing was swept by a process that could not serve
