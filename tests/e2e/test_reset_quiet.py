"""A cycle with nothing to reset passes quietly: no notice a week before, no final scores, no closing message and
no retro; the cycle is closed, the backlog left as it is, and the team channel gets one short message saying the
next cycle is open for drafting. A cycle whose objectives were committed and then all dropped is not quiet: it
has a history, and its retro says what was dropped and why.

Time is frozen (and ticking) on dates in 2026; the real `Sweeper` runs at each moment that matters (the notice a
week before the end, the end, the end of the scoring window), twice at once where exactly-once is at stake.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from freezegun import freeze_time
from sqlalchemy import select

from bot.delivery.resets import NEXT_KIND, NOTICE_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from storage.models import (
    BacklogItem,
    ClaimState,
    Cycle,
    CycleState,
    Draft,
    DraftState,
    EventLog,
    ItemState,
    Objective,
    ObjectiveState,
    SendClaim,
    Team,
)
from tests.e2e.okr_support import add_backlog, commit, latest_ephemeral, open_from_list, rockets
from tests.e2e.support import okr, wait_until
from tests.e2e.test_checkin_delivery import sweep_as_replicas, sweeper
from tests.e2e.test_drafting import full_draft, press, share
from tests.helpers import flatten

ANCHOR = "2026-03-02"  # a Monday: cycle 1 is 2 Mar – 31 May 2026, cycle 2 1 Jun – 30 Aug, cycle 3 from 31 Aug
NOTICE_1, END_1, SCORED_1 = "2026-05-25 00:30:00", "2026-06-01 00:05:00", "2026-06-03 00:10:00"
NOTICE_2, END_2 = "2026-08-24 00:30:00", "2026-08-31 00:05:00"
CHANNEL, ADA, BEN, CLEO = "C0ROCKET", "U0ADA", "U0BEN", "U0CLEO"


def _team(driver, slack, db) -> None:
    rockets(driver, slack, members=(BEN, CLEO))
    with db.transaction() as session:
        session.scalars(select(Team)).one().cycle_anchor = datetime.fromisoformat(ANCHOR).date()


def _posts(slack) -> list[dict]:
    """Every message the bot posted (chat.postMessage), wherever it went: channel, thread or DM."""
    return [call.args for call in slack.calls_to("chat.postMessage") if call.ok]


def _texts(posts: list[dict]) -> list[str]:
    return [flatten(post) for post in posts]


def _claims(db, *kinds: str) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind.in_(kinds)).order_by(SendClaim.id)))


def _cycles(db) -> dict[int, Cycle]:
    with db.read() as session:
        return {cycle.number: cycle for cycle in session.scalars(select(Cycle))}


def _backlog(db) -> dict[str, ItemState]:
    with db.read() as session:
        return {item.text: item.state for item in session.scalars(select(BacklogItem))}


def _closed_event(db, cycle_id: int) -> EventLog:
    with db.read() as session:
        query = select(EventLog).where(
            EventLog.entity == "cycle", EventLog.entity_id == cycle_id, EventLog.action == "closed"
        )
        return session.scalars(query).one()


def _sweep(sweep, clock, moment: str):
    clock.move_to(moment)
    return sweep.run(datetime.now(UTC))


def test_a_team_with_no_okrs_hears_only_that_the_next_cycle_is_open_once_per_cycle(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(f"{ANCHOR} 09:00:00", tick=True) as clock:
        _team(driver, slack, db)
        add_backlog(db, "Dark mode")
        sweep.run(datetime.now(UTC))  # plans the calendar
        before = len(_posts(slack))

        # a week before the end: no notice (there is nothing to score, review or archive)
        report = _sweep(sweep, clock, NOTICE_1)
        assert report["notice"] == 0, report
        assert _posts(slack)[before:] == [] and _claims(db, NOTICE_KIND) == []

        # the end, swept by two replicas at once: one short message in the channel, and nothing else
        clock.move_to(END_1)
        reports = sweep_as_replicas(slack, database_url, datetime.now(UTC), count=2)
        [opened] = _posts(slack)[before:]
        assert opened["channel"] == CHANNEL
        text = flatten(opened)
        assert text.startswith(":seedling: *Cycle 2 of Rockets is open for drafting* (2026-06-01 to 2026-08-30)."), text
        assert "Nothing was committed in cycle 1, so there was nothing to score or review." in text, text
        assert "Start with `/okr draft`." in text and "Draft an objective" in text
        assert "retro" not in text.lower() and "Carry forward" not in text and "not now" not in text
        assert [c.kind for c in _claims(db, NOTICE_KIND, STARTED_KIND, SCORES_KIND, RETRO_KIND, NEXT_KIND)] == [
            NEXT_KIND
        ]
        assert _claims(db, NEXT_KIND)[0].state is ClaimState.SENT
        total = sum(reports, Counter())
        assert total["reset_started"] == 1 and total["reset_done"] == 1 and total["error"] == 0, reports

        # cycle 1 is closed quietly; the backlog stays where it was, as no OKRs filtered it
        cycles = _cycles(db)
        assert cycles[1].state is CycleState.CLOSED and cycles[1].reset_done_at is not None
        assert cycles[2].state is CycleState.DRAFTING
        closed = _closed_event(db, cycles[1].id).data
        assert closed["empty"] is True and closed["moved"] == {}
        assert _backlog(db) == {"Dark mode": ItemState.INBOX}

        # nothing more: not when scoring would have closed, not a week before cycle 2's end
        _sweep(sweep, clock, SCORED_1)
        _sweep(sweep, clock, NOTICE_2)
        assert _posts(slack)[before:] == [opened]

        # cycle 2 had nothing either: one message again, for cycle 3
        _sweep(sweep, clock, END_2)
        [_, again] = _texts(_posts(slack)[before:])
        assert "*Cycle 3 of Rockets is open for drafting* (2026-08-31 to 2026-11-29)." in again, again
        assert "Nothing was committed in cycle 2" in again


def test_a_shared_draft_never_committed_passes_quietly_and_is_committed_into_the_next_cycle(
    driver, slack, db, database_url
):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(f"{ANCHOR} 09:00:00", tick=True) as clock:
        _team(driver, slack, db)
        sweep.run(datetime.now(UTC))
        clock.move_to("2026-05-27 10:00:00")  # the last week: a draft is shared for review, nobody commits it
        full_draft(driver, slack)
        shared = share(driver, slack)
        before = len(_posts(slack))

        _sweep(sweep, clock, "2026-05-27 10:05:00")  # the notice is past due: still none, nothing is committed
        report = _sweep(sweep, clock, END_1)
        assert report["reset_started"] == 1 and report["reset_done"] == 1, report
        [opened] = _texts(_posts(slack)[before:])
        assert "*Cycle 2 of Rockets is open for drafting*" in opened, opened
        assert "1 draft shared for review is waiting; once committed it counts for cycle 2." in opened, opened
        assert _claims(db, NOTICE_KIND, STARTED_KIND, SCORES_KIND, RETRO_KIND) == []
        with db.read() as session:
            [draft] = session.scalars(select(Draft)).all()
        assert draft.state is DraftState.SHARED  # kept, as it was

        # Ben commits it from its message: it is cycle 2's first objective
        press(driver, slack, shared, "draft_commit", user=BEN)

        def committed() -> Objective | None:
            with db.read() as session:
                return session.scalars(select(Objective)).first()

        objective = wait_until(committed)
        cycles = _cycles(db)
        assert objective.cycle_id == cycles[2].id and objective.state is ObjectiveState.COMMITTED
        assert cycles[1].state is CycleState.CLOSED and cycles[2].state is CycleState.ACTIVE


def test_a_cycle_whose_objectives_were_all_dropped_keeps_its_notice_and_its_retro(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(f"{ANCHOR} 09:00:00", tick=True) as clock:
        _team(driver, slack, db)
        objective = commit(db, title="New teams get value in their first week")
        add_backlog(db, "Onboarding checklist")
        sweep.run(datetime.now(UTC))

        clock.move_to("2026-04-15 10:00:00")  # week 7: the objective is dropped, with a reason
        view = open_from_list(driver, slack, f"drop_objective:{objective}", user=ADA)
        reason = {"reason": {"value": {"type": "plain_text_input", "value": "Billing work comes first this quarter"}}}
        assert driver.submit_view(view["id"], user=ADA, values=reason).status == 200
        wait_until(lambda: any("dropped *O1" in t for t in _texts(_posts(slack))))

        # the notice still comes: the cycle has a history to review
        before = len(_posts(slack))
        _sweep(sweep, clock, NOTICE_1)
        [notice] = _texts(_posts(slack)[before:])
        assert "Cycle 1 of Rockets ends on 2026-05-31" in notice, notice
        assert "Final scores" not in notice and "1. *A short retro here*" in notice  # nothing is left to score

        # the end: nothing to score (no DM, no closing message), the retro says what was dropped and why
        before = len(_posts(slack))
        report = _sweep(sweep, clock, END_1)
        assert report["reset_started"] == 1 and report["reset_done"] == 1, report
        [retro, opened] = _texts(_posts(slack)[before:])
        assert "Rockets · retro of cycle 1" in retro, retro
        assert "Every objective was dropped during the cycle, so there is nothing to score." in retro, retro
        assert "• O1 dropped by <@U0ADA>: Billing work comes first this quarter" in retro, retro
        assert 'went back to "not now"' in retro
        assert "*Cycle 2 of Rockets is open for drafting*" in opened and "Nothing was committed" not in opened
        assert _claims(db, STARTED_KIND, SCORES_KIND) == []
        assert _cycles(db)[1].retro_ts is not None
        assert _backlog(db) == {"Onboarding checklist": ItemState.NOT_NOW}


def test_reset_by_hand_of_a_cycle_with_nothing_committed_says_so_and_posts_one_message(driver, slack, db):
    with freeze_time("2026-04-15 10:00:00", tick=True):
        _team(driver, slack, db)
        add_backlog(db, "Dark mode")
        before = len(_posts(slack))

        reply = okr(driver, slack, "reset", user=ADA)
        message = latest_ephemeral(slack, ADA)
        text = flatten(message)
        assert reply.ephemeral and "*Reset cycle 1 of Rockets now?*" in text, text
        assert "Nothing was committed in cycle 1, so there is nothing to score or review" in text, text
        assert "the backlog stays as it is" in text and "final value" not in text

        result = driver.click(user=ADA, action_id="reset_start", channel=CHANNEL, ts=message["ts"])
        assert result.status == 200, result.text
        wait_until(lambda: getattr(_cycles(db).get(1), "reset_done_at", None) is not None)
        said = [flatten(r["body"]) for r in slack.responses]
        assert any("nothing to score or review: it closes now" in text for text in said), said
        assert not any("final-score DMs" in text for text in said), said
        [opened] = _texts(_posts(slack)[before:])
        assert "*Cycle 2 of Rockets is open for drafting* (2026-06-01 to 2026-08-30)" in opened, opened
        assert _backlog(db) == {"Dark mode": ItemState.INBOX}
