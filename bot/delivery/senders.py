"""A bounded pool of senders: several workspaces served at once, and sends within one workspace concurrent up to
a cap, so a Monday's thousands of DMs are not made one after another.

Slack answers in 100–300 ms, so a sender spends nearly all its time waiting: with one sender a workspace gets a
few DMs a second whatever Slack allows. With `size` senders, work is taken in turns across workspaces (one item
of each, then the next of each), and no workspace holds more than `per_workspace` senders, so one large workspace
waiting on its rate limits (bot/delivery/pacing.py) never stops the others. A workspace's first task runs before
its others start: a workspace whose token died, or whose Slack is down, costs one try, not one per owner.
Exactly-once does not depend on the pool: every send is claimed in the database first (storage/claims.py).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

SENDERS = 16  # threads sending at once in a process (`okr-bot serve --senders`, `okr-bot sweep --senders`)
PER_WORKSPACE = 8  # of them, at most this many for one workspace


class Senders:
    def __init__(self, size: int = SENDERS, per_workspace: int = PER_WORKSPACE) -> None:
        if size < 1 or per_workspace < 1:
            raise ValueError("a pool of senders needs at least one sender, and one per workspace")
        self.size = size
        self.per_workspace = min(per_workspace, size)

    def run(self, work: Iterable[tuple[Hashable, Callable[[], T]]]) -> list[T]:
        """Run each `(workspace, task)`, taking workspaces in turns; the results in the order the tasks were given.
        A task's exception is raised here once every task has run (tasks report their own trouble as outcomes)."""
        tasks = list(work)
        if not tasks:
            return []
        if self.size == 1 or len(tasks) == 1:
            return _one_by_one(tasks)
        caps: dict[Hashable, threading.Semaphore] = {}
        first: dict[Hashable, int] = {}
        tried: dict[Hashable, threading.Event] = {}
        for i, (workspace, _) in enumerate(tasks):
            caps.setdefault(workspace, threading.Semaphore(self.per_workspace))
            first.setdefault(workspace, i)
            tried.setdefault(workspace, threading.Event())

        def capped(i: int) -> T:
            workspace, task = tasks[i]
            if i != first[workspace]:
                tried[workspace].wait()
            try:
                with caps[workspace]:
                    return task()
            finally:
                tried[workspace].set()

        order = list(_in_turns(range(len(tasks)), key=lambda i: tasks[i][0]))
        results: list[T | None] = [None] * len(tasks)
        with ThreadPoolExecutor(max_workers=min(self.size, len(tasks)), thread_name_prefix="sender") as pool:
            futures = {i: pool.submit(capped, i) for i in order}
            for i, future in futures.items():
                results[i] = future.result()
        return results  # type: ignore[return-value]


def _one_by_one(tasks: list[tuple[Hashable, Callable[[], T]]]) -> list[T]:
    """The tasks in the caller's thread, in the order given; like the pool, every task runs before an exception is
    raised (the first one)."""
    results: list[T | None] = []
    failure: Exception | None = None
    for _, task in tasks:
        try:
            results.append(task())
        except Exception as error:
            failure = failure or error
            results.append(None)
    if failure is not None:
        raise failure
    return results  # type: ignore[return-value]


def _in_turns(indexes: Iterable[int], *, key: Callable[[int], Hashable]) -> Iterator[int]:
    """The indexes grouped by key, then taken one of each group in turn, groups in order of first appearance."""
    groups: dict[Hashable, list[int]] = {}
    for i in indexes:
        groups.setdefault(key(i), []).append(i)
    for turn in itertools.zip_longest(*groups.values()):
        yield from (i for i in turn if i is not None)
