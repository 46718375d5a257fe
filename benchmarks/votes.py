"""Votes: sustained `reaction_added` / `reaction_removed` events on one triage, then the stored tally checked
against what was sent.

Each event toggles one (person, item, emoji) vote; Slack's `event_ts` orders them, and several clients send at
once, so events for one vote can reach the bot out of order, as they can from Slack. The rate reported is
events recorded per second, from the first request to the moment every event is in the database: the median of
`ROUNDS` rounds of events one after the other (each round's figures are kept in the results too). The tally is
checked once, after the last round.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time

from sqlalchemy import func, select

from benchmarks.ack_path import reaction
from benchmarks.common import percentile
from benchmarks.stage import Stage, load
from storage.db import Database
from storage.models import ProcessedEvent, Vote

EMOJI = ("white_check_mark", "x", "thinking_face", "one")
EVENTS = 1_000
CLIENTS = 8
ROUNDS = 3  # the machine is small and noisy: each figure is the median of this many rounds of `events`
_runs = itertools.count()


def run(stage: Stage, *, events: int = EVENTS, clients: int = CLIENTS, rounds: int = ROUNDS, seed: int = 7) -> dict:
    run_id = next(_runs)
    ballots = stage.ballots[1:] or stage.ballots  # the ack-path benchmark reacts on the first item
    keys = [(b.round_item_id, b.ts, user, name) for b in ballots for user in stage.voters for name in EMOJI]
    chooser = random.Random(seed)
    present: dict[tuple, bool] = {}
    plan = []
    base = int(time.time())
    for n in range(events * rounds):
        key = chooser.choice(keys)
        added = not present.get(key, False)
        present[key] = added
        plan.append((key, "reaction_added" if added else "reaction_removed", f"{base}.{n:06d}"))

    db = Database(stage.database_url)
    measured = []
    try:
        for number in range(rounds):
            prefix = f"EvVOTE{run_id}r{number}x"
            measured.append(_round(stage, db, plan[number * events : (number + 1) * events], prefix, clients))
        items = {key[0] for key in keys}
        with db.read() as session:
            stored = set(
                session.execute(
                    select(Vote.round_item_id, Vote.user_id, Vote.emoji).where(
                        Vote.round_item_id.in_(items), Vote.present
                    )
                ).all()
            )
        expected = {(item, user, name) for (item, _ts, user, name), on in present.items() if on}
    finally:
        db.dispose()
    return {
        "events": events,
        "clients": clients,
        "rounds": measured,
        **{figure: statistics.median(r[figure] for r in measured) for figure in measured[0]},
        "votes_expected": len(expected),
        "tally_matches": stored == expected,
        "missing": len(expected - stored),
        "extra": len(stored - expected),
    }


def _round(stage: Stage, db: Database, plan: list, prefix: str, clients: int) -> dict:
    """Send the planned events as fast as the bot answers; how fast they were acknowledged and recorded."""

    def build(n: int):
        (_item, ts, user, name), kind, event_ts = plan[n]
        return reaction(
            stage, n, kind=kind, user=user, ts=ts, name=name, event_id=f"{prefix}{n:07d}", event_ts=event_ts
        )

    events = len(plan)
    started = time.perf_counter()
    latencies, statuses = load(stage.url, build, total=events, clients=clients)
    acked = time.perf_counter() - started
    refused = sum(1 for status in statuses if status != 200)
    if refused:  # Slack would retry those; the tally could not match what was sent
        raise RuntimeError(f"the bot refused {refused} of {events} reaction events: {sorted(set(statuses))}")
    deadline = time.monotonic() + 300
    while _recorded(db, prefix) < events:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {_recorded(db, prefix)} of {events} events were recorded within 300 s")
        time.sleep(0.05)
    recorded = time.perf_counter() - started
    return {
        "acked_per_s": events / acked,
        "ack_p99_ms": percentile(latencies, 0.99) * 1000,
        "recorded_per_s": events / recorded,
    }


def _recorded(db: Database, prefix: str) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id.startswith(prefix))
        )
