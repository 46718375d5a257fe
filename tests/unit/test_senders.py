"""The pool of senders (bot/delivery/senders.py) on its own: results in the order given, workspaces served side by
side and in turns, at most `per_workspace` tasks of one workspace at once, a workspace's first task before its
others, a task's exception raised once every task has run, and one sender running everything in order.

Tasks stand for Slack calls: where a test needs tasks to overlap, each holds for a few milliseconds (Slack's
answer); where it needs one task to wait for another, it waits on an event with a timeout, so a pool that got it
wrong fails the test instead of hanging it."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from bot.delivery.senders import PER_WORKSPACE, SENDERS, Senders

TIMEOUT = 5.0  # seconds an event is waited for before the test calls it a failure
SLACK = 0.02  # seconds a task standing for a Slack call holds


class Tracker:
    """Who runs at once, overall and per workspace, and the order tasks start and end in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.most_overall = 0
        self.log: list[tuple[str, str, int]] = []  # ("start" | "end", workspace, index)
        self.threads: set[int] = set()

    def task(self, workspace: str, index: int, *, hold: float = SLACK, then=None):
        def run():
            with self.lock:
                self.running[workspace] += 1
                self.most[workspace] = max(self.most[workspace], self.running[workspace])
                self.most_overall = max(self.most_overall, sum(self.running.values()))
                self.log.append(("start", workspace, index))
                self.threads.add(threading.get_ident())
            try:
                time.sleep(hold)  # the call's answer
                return then() if then is not None else (workspace, index)
            finally:
                with self.lock:
                    self.running[workspace] -= 1
                    self.log.append(("end", workspace, index))

        return workspace, run

    def order(self, what: str) -> list[tuple[str, int]]:
        return [(workspace, index) for kind, workspace, index in self.log if kind == what]


def test_the_defaults():
    assert (SENDERS, PER_WORKSPACE) == (16, 8)
    pool = Senders()
    assert (pool.size, pool.per_workspace) == (SENDERS, PER_WORKSPACE)
    assert Senders(2, 8).per_workspace == 2  # never more per workspace than in all
    for size, per_workspace in ((0, 1), (1, 0), (-1, 8)):
        with pytest.raises(ValueError, match="at least one sender"):
            Senders(size, per_workspace)
    assert Senders().run([]) == []


def test_results_come_in_the_order_the_tasks_were_given():
    tracker = Tracker()
    # the later a task is given, the sooner it ends: the results must still follow the input
    work = [tracker.task(f"T{n % 3}", n, hold=0.002 * (12 - n)) for n in range(12)]
    assert Senders(6, 2).run(work) == [(f"T{n % 3}", n) for n in range(12)]
    assert tracker.order("end") != tracker.order("start")  # they did end out of order


def test_workspaces_are_served_side_by_side_not_one_after_another():
    """Workspace A's ten tasks are given first, B's one last: B's must run while A's first is still running."""
    tracker = Tracker()
    b_ran = threading.Event()

    def a_first() -> str:
        return "A saw B" if b_ran.wait(TIMEOUT) else "B waited for A"

    work = [tracker.task("A", 0, then=a_first)] + [tracker.task("A", n) for n in range(1, 10)]
    work.append(tracker.task("B", 0, then=lambda: b_ran.set() or "B"))
    results = Senders(2, 2).run(work)
    assert results[0] == "A saw B" and results[-1] == "B"


def test_workspaces_take_turns():
    """With one sender per workspace and two in all, A's four tasks given before B's four: the workspaces' tasks
    start alternately, never one of them two ahead of the other."""
    tracker = Tracker()
    work = [tracker.task("A", n) for n in range(4)] + [tracker.task("B", n) for n in range(4)]
    Senders(2, 1).run(work)
    starts = tracker.order("start")
    assert sorted(starts[:2]) == [("A", 0), ("B", 0)]
    ahead = [sum(1 if w == "A" else -1 for w, _ in starts[: n + 1]) for n in range(len(starts))]
    assert max(map(abs, ahead)) == 1, starts


def test_never_more_than_per_workspace_tasks_of_one_workspace_at_once():
    tracker = Tracker()
    work = [tracker.task(workspace, n) for n in range(24) for workspace in ("A", "B")]
    results = Senders(8, 3).run(work)
    assert len(results) == 48
    assert tracker.most == {"A": 3, "B": 3}  # the cap, and reached: the pool is not merely slow
    assert tracker.most_overall == 6


def test_never_more_than_size_tasks_in_all():
    tracker = Tracker()
    work = [tracker.task(f"T{n}", m) for m in range(3) for n in range(10)]
    Senders(4, 4).run(work)
    assert tracker.most_overall == 4
    assert len(tracker.threads) <= 4


def test_a_workspaces_first_task_ends_before_any_other_of_its_tasks_starts():
    tracker = Tracker()
    work = [tracker.task(workspace, n, hold=0.05 if n == 0 else SLACK) for n in range(6) for workspace in "ABC"]
    Senders(8, 4).run(work)
    for workspace in "ABC":
        first_ends = tracker.log.index(("end", workspace, 0))
        others = [i for i, (kind, w, n) in enumerate(tracker.log) if kind == "start" and w == workspace and n > 0]
        assert others and min(others) > first_ends, tracker.log
    # the first tasks of the three workspaces ran side by side
    assert tracker.log[:3] == [("start", w, 0) for w in "ABC"] or sorted(tracker.log[:3]) == [
        ("start", w, 0) for w in "ABC"
    ]


def test_a_first_task_that_fails_still_lets_the_workspaces_others_run_and_the_failure_is_raised_at_the_end():
    """A dead token costs one try: the first task fails (a sweep step reports its own trouble, so an exception is a
    bug), its workspace's other tasks still run, and so do every other workspace's; then the exception is raised."""
    tracker = Tracker()

    def broken():
        raise RuntimeError("the first send blew up")

    work = [tracker.task("A", 0, then=broken)]
    work += [tracker.task(workspace, n) for n in range(1, 5) for workspace in "AB"] + [tracker.task("B", 0)]
    with pytest.raises(RuntimeError, match="the first send blew up"):
        Senders(4, 2).run(work)
    ended = set(tracker.order("end"))
    assert ended == {(w, n) for w in "AB" for n in range(5)}


def test_an_exception_in_a_middle_task_is_raised_after_the_others_ran():
    tracker = Tracker()
    work = [tracker.task("A", n) for n in range(3)]
    work.append(("A", lambda: (_ for _ in ()).throw(ValueError("row 3"))))
    work += [tracker.task("A", n) for n in range(4, 12)] + [tracker.task("B", n) for n in range(5)]
    with pytest.raises(ValueError, match="row 3"):
        Senders(4, 2).run(work)
    assert len(tracker.order("end")) == 16


@pytest.mark.parametrize("size", [1, 5])
def test_one_sender_or_one_task_runs_in_the_callers_thread_in_the_order_given(size):
    tracker = Tracker()
    work = [tracker.task(f"T{n % 2}", n, hold=0) for n in range(6 if size == 1 else 1)]
    results = Senders(size, 1).run(work)
    assert results == [(f"T{n % 2}", n) for n in range(len(work))]
    assert tracker.order("start") == [(f"T{n % 2}", n) for n in range(len(work))]  # not in turns: as given
    assert tracker.threads == {threading.get_ident()}
    assert tracker.most_overall == 1


def test_one_sender_also_raises_a_tasks_exception_only_after_the_others_ran():
    ran: list[int] = []

    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        Senders(1).run([("A", lambda: ran.append(0)), ("A", boom), ("B", lambda: ran.append(2))])
    assert ran == [0, 2]
