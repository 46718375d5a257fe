"""The OAuth states of installs and of the dashboard's sign-in: each works once, on whichever replica, and expired
ones do not pile up."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from storage.slack_tables import OAuthStates, oauth_states


def _count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(oauth_states))


def test_a_state_is_taken_once(db):
    states = OAuthStates(expiration_seconds=600, engine=db.engine)
    state = states.issue()
    assert states.consume(state) is True
    assert states.consume(state) is False
    assert states.consume("never-issued") is False


def test_an_expired_state_is_refused_and_cleared_by_the_next_one(db):
    expired = OAuthStates(expiration_seconds=-1, engine=db.engine)
    old = [expired.issue() for _ in range(5)]
    assert _count(db) == 1  # each new state cleared the ones before, expired as they were
    states = OAuthStates(expiration_seconds=600, engine=db.engine)
    assert not any(states.consume(state) for state in old)
    assert _count(db) == 1  # a refused state is not deleted by consume (its WHERE wants it unexpired)
    fresh = states.issue()
    assert _count(db) == 1  # only the fresh one is left
    assert states.consume(fresh) is True
    assert _count(db) == 0


def _race(db, state: str, replicas: int) -> list[bool]:
    """`replicas` stores consuming `state` at the same moment: what each got."""
    start = threading.Barrier(replicas)
    taken: list[bool] = []

    def take() -> None:
        start.wait()
        taken.append(OAuthStates(expiration_seconds=600, engine=db.engine).consume(state))

    threads = [threading.Thread(target=take) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken


def test_two_replicas_given_the_same_state_at_once_take_it_once(db):
    states = OAuthStates(expiration_seconds=600, engine=db.engine)
    for _ in range(10):
        assert sorted(_race(db, states.issue(), 4)) == [False, False, False, True]
