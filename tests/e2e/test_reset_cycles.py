"""The 13-week reset over whole cycles, through the real sweep: two cycles of drafting, check-ins and triage with
a reset after each; a bot that was down across one boundary or two; a reset that fails or is killed half-way and
is finished by a later sweep; two replicas sweeping the same boundary at once.

Time is frozen (and ticking) on the dates that matter and the real `Sweeper` runs at each of them: every Monday
after the check-in hour (the DMs), every Wednesday after the summary time (reminders and the summary), and at
the notice, the boundary and the end of the scoring window. What counts is checked three ways: the database
(cycles, scores, backlog, event log), the claims of every scheduled send, and the messages the fake Slack holds.

The tests that run `okr-bot sweep` as a process use the real clock (the process reads it): their team's first
cycle ended a few days before today.
"""

from __future__ import annotations

import signal
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import select

import handlers.reactions
from bot.delivery import LEASE
from bot.delivery.checkins import REMINDER_KIND
from bot.delivery.resets import NEXT_KIND, NOTICE_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from bot.delivery.rounds import HEADER_KIND, ITEM_KIND
from bot.delivery.rounds import SUMMARY_KIND as ROUND_SUMMARY_KIND
from bot.delivery.summaries import CHART_KIND, SUMMARY_KIND
from bot.rituals import backlog as backlog_rules
from bot.rituals.checkins import CHECKIN_KIND, CheckInInput, checkin_key, record_checkin
from bot.rituals.cycles import CYCLE_DAYS
from bot.rituals.reset import SCORING_TIME
from bot.slack import OnceClient, web_client
from bot.sweep import Sweeper
from storage.db import Database
from storage.models import (
    BacklogItem,
    ClaimState,
    Cycle,
    CycleState,
    EventLog,
    ItemState,
    KeyResult,
    Round,
    RoundItem,
    RoundState,
    Schedule,
    ScheduleKind,
    SendClaim,
    Team,
)
from tests.e2e.okr_support import (
    add_backlog,
    commit,
    key_results,
    posted_round,
    rockets,
    submit_check_in,
    text_value,
)
from tests.e2e.support import modal_values, okr, open_settings, row_counts, wait_until
from tests.e2e.test_checkin_delivery import start_sweep, sweep_as_replicas, sweeper
from tests.e2e.test_history import check_in
from tests.e2e.test_triage import HELPS, MAYBE, NOT_NOW, vote
from tests.helpers import flatten

CHANNEL = "C0ROCKET"
BEN, CLEO, ADA = "U0BEN", "U0CLEO", "U0ADA"
MINUTE = timedelta(minutes=1)
WEEK = timedelta(days=7)
ANCHOR = date(2026, 3, 2)  # a Monday: the day `/okr team create` runs, so the team's cycle 1 starts on it
C1_END = ANCHOR + timedelta(days=CYCLE_DAYS)  # 1 Jun 2026: cycle 2's first day (cycle 1 ends on 31 May)
C2_END = C1_END + timedelta(days=CYCLE_DAYS)  # 31 Aug 2026
C3_END = C2_END + timedelta(days=CYCLE_DAYS)  # 30 Nov 2026

CYCLE_ONE = (
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": BEN},
    {
        "metric": "Median minutes to first dashboard",
        "unit": "min",
        "baseline": 30,
        "target": 10,
        "direction": "decrease",
        "owner": CLEO,
    },
)
CYCLE_TWO = (
    {"metric": "Weekly active teams", "unit": "teams", "baseline": 100, "target": 150, "owner": BEN},
    {
        "metric": "Accounts churned per month",
        "unit": "accounts",
        "baseline": 20,
        "target": 10,
        "direction": "decrease",
        "owner": CLEO,
    },
)


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch):
    """Item messages are redrawn 0.1 s after a vote (not 2 s): done long before the test moves on."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.1)


# reading the world ----------------------------------------------------------------------------------------------


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def the_team(db: Database) -> Team:
    with db.read() as session:
        return session.scalars(select(Team)).one()


def cycles(db: Database) -> dict[int, Cycle]:
    with db.read() as session:
        return {c.number: c for c in session.scalars(select(Cycle).order_by(Cycle.number))}


def krs_of(db: Database, cycle_id: int) -> list[KeyResult]:
    from storage.models import Objective

    with db.read() as session:
        return list(
            session.scalars(
                select(KeyResult)
                .join(Objective, Objective.id == KeyResult.objective_id)
                .where(Objective.cycle_id == cycle_id)
                .order_by(Objective.number, KeyResult.position)
            )
        )


def claims(db: Database) -> dict[str, dict[str, SendClaim]]:
    """Every send claim, by kind and key."""
    found: dict[str, dict[str, SendClaim]] = defaultdict(dict)
    with db.read() as session:
        for claim in session.scalars(select(SendClaim)):
            found[claim.kind][claim.claim_key] = claim
    return found


def claim_keys(db: Database) -> dict[str, set[str]]:
    return {kind: set(by_key) for kind, by_key in claims(db).items()}


def events(db: Database, entity: str, action: str, entity_id: int | None = None) -> list[EventLog]:
    with db.read() as session:
        query = select(EventLog).where(EventLog.entity == entity, EventLog.action == action)
        if entity_id is not None:
            query = query.where(EventLog.entity_id == entity_id)
        return list(session.scalars(query.order_by(EventLog.id)))


def reset_moves(db: Database) -> Counter:
    """(item number, cycle whose reset moved it) → how many times: every backlog move a reset made."""
    with db.read() as session:
        numbers = dict(session.execute(select(BacklogItem.id, BacklogItem.number)).all())
        moves = session.scalars(
            select(EventLog).where(EventLog.entity == backlog_rules.ENTITY, EventLog.action == "moved")
        ).all()
    found: Counter = Counter()
    for event in moves:
        if event.reason and event.reason.startswith("cycle ") and event.reason.endswith(" reset"):
            found[(numbers[event.entity_id], int(event.reason.split()[1]))] += 1
    return found


def backlog_states(db: Database) -> dict[int, ItemState]:
    with db.read() as session:
        return {i.number: i.state for i in session.scalars(select(BacklogItem))}


def channel_posts(slack, starting: str, channel: str = CHANNEL) -> list[dict]:
    """The top-level messages in the channel whose notification text starts so."""
    return [
        m
        for m in slack.messages(channel)
        if m.get("text", "").startswith(starting) and (not m.get("thread_ts") or m["thread_ts"] == m["ts"])
    ]


def dm_posts(slack, user: str, starting: str) -> list[dict]:
    return [
        m
        for m in slack.messages(slack.dm_channel_id(user))
        if m.get("text", "").startswith(starting) and (not m.get("thread_ts") or m["thread_ts"] == m["ts"])
    ]


def post_calls(slack, starting: str) -> list:
    """Every chat.postMessage the bot made (whatever Slack answered) whose text starts so."""
    return [c for c in slack.calls_to("chat.postMessage") if str(c.args.get("text", "")).startswith(starting)]


def one(items: list, what: str):
    assert len(items) == 1, f"{what}: {len(items)} found"
    return items[0]


def checkin_rows(db: Database) -> list[Schedule]:
    with db.read() as session:
        return list(session.scalars(select(Schedule).where(Schedule.kind == ScheduleKind.CHECKIN)))


# what people do -------------------------------------------------------------------------------------------------


def check_in_directly(db: Database, *, user: str, kr_id: int, value: float, confidence: int = 7) -> None:
    """A check-in saved by the rule the check-in form calls (for the weeks a test does not click through)."""
    with db.transaction() as session:
        workspace_id = session.scalars(select(Team.workspace_id)).one()
        record_checkin(
            session,
            workspace_id=workspace_id,
            key_result_id=kr_id,
            user_id=user,
            answer=CheckInInput(float(value), confidence, None),
            now=datetime.now(UTC),
        )


def check_in_from_dm(driver, slack, db, *, user: str, kr_id: int, value: str, confidence: str = "7") -> None:
    """The owner clicks **Check in** in this week's DM from the sweep and submits the form."""
    message = dm_posts(slack, user, "Weekly check-in")[-1]
    submit_check_in(
        driver,
        slack,
        db,
        user=user,
        kr_id=kr_id,
        value=value,
        confidence=confidence,
        channel=slack.dm_channel_id(user),
        ts=message["ts"],
    )


def give_final_scores(driver, slack, *, user: str, cycle_number: int, answers: dict[int, tuple[str, str]]) -> None:
    """The owner opens the final-score form from the reset's DM and submits (value, score) per key result."""
    dm = one(dm_posts(slack, user, f"Final scores for cycle {cycle_number} of Rockets"), f"{user}'s final-score DMs")
    opened = len(slack.calls_to("views.open"))
    clicked = driver.click(user=user, action_id="final_scores_open", channel=dm["channel"], ts=dm["ts"])
    assert clicked.status == 200, clicked.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    values = {}
    for kr_id, (value, final) in answers.items():
        values[f"value:{kr_id}"] = {"value": text_value(value)["value"]}
        values[f"score:{kr_id}"] = {"value": text_value(final)["value"]}
    result = driver.submit_view(call.response["view"]["id"], user=user, values=values)
    assert result.status == 200, result.text
    assert not (result.json or {}).get("errors"), result.text


def sweep_at(sweep: Sweeper, clock, when: datetime) -> Counter:
    clock.move_to(when)
    report = sweep.run(datetime.now(UTC))
    assert report["error"] == 0, report
    return report


# 1. two whole cycles -------------------------------------------------------------------------------------------


def _week_of_checkins(
    driver,
    slack,
    db,
    sweep,
    clock,
    *,
    monday: date,
    plan: dict[str, tuple[int, float | None]],
    by_slack: dict[str, str],
    wednesday: bool,
) -> None:
    """One check-in week: Monday's sweep sends the DMs (and last week's summary, if it is still owed), the
    owners check in on Tuesday (or skip); with `wednesday`, a sweep after the summary time reminds whoever
    skipped and posts this week's summary (without it, the summary waits for next Monday's sweep and a skipped
    week gets no reminder). `plan`: owner → (key result id, value or None to skip); `by_slack`: owner → "dm" or
    "command" for the owners who check in through Slack this week."""
    dms_before = {u: len(dm_posts(slack, u, "Weekly check-in")) for u in plan}
    report = sweep_at(sweep, clock, at(monday, 16))
    assert report["sent"] == len(plan) and report["reminded"] == 0, (monday, report)
    for user in plan:  # one DM each, this week's
        posts = dm_posts(slack, user, "Weekly check-in")
        assert len(posts) == dms_before[user] + 1, (monday, user)
        assert f"week of {monday.isoformat()}" in flatten(posts[-1]), flatten(posts[-1])

    clock.move_to(at(monday + timedelta(days=1), 9))
    for user, (kr_id, value) in plan.items():
        if value is None:
            continue
        how = by_slack.get(user)
        if how == "dm":
            check_in_from_dm(driver, slack, db, user=user, kr_id=kr_id, value=f"{value:g}")
        elif how == "command":
            check_in(driver, slack, db, user=user, kr_id=kr_id, value=f"{value:g}", confidence="7")
        else:
            check_in_directly(db, user=user, kr_id=kr_id, value=value)

    if wednesday:
        report = sweep_at(sweep, clock, at(monday + timedelta(days=2), 10, 30))
        skipped = sum(1 for _, value in plan.values() if value is None)
        assert report["reminded"] == skipped and report["summary"] == 1, (monday, report)


def _triage(driver, slack, db, *, votes: dict[int, list[tuple[str, str]]]) -> int:
    """`/okr triage start` by Ada, and the votes (item number → [(user, reaction)]); the round's id."""
    started = okr(driver, slack, "triage start")
    assert "Triage started in <#C0ROCKET>" in started.text, started.text
    posted = posted_round(db)
    by_number = {b.number: b.ts for b in posted.items}
    assert set(votes) <= set(by_number), (votes, by_number)
    ballots = [(user, by_number[number], reaction) for number, cast in votes.items() for user, reaction in cast]
    if ballots:
        vote(driver, db, *ballots)
    return posted.id


def test_two_whole_cycles_with_check_ins_triage_and_a_reset_after_each(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR - timedelta(days=4), 9), tick=True) as clock:
        # cycle 1, drafted ahead: the team forms on a Thursday and sets its first cycle to start on Monday --------
        rockets(driver, slack, members=(BEN, CLEO))
        view = open_settings(driver, slack)
        saved = driver.submit_view(view["id"], user=ADA, values=modal_values(cycle_start=ANCHOR.isoformat()))
        assert saved.status == 200 and not saved.body, saved.text
        wait_until(lambda: the_team(db).cycle_anchor == ANCHOR)  # saved after the modal closed
        first = commit(db, title="New teams get value in their first week", key_results=CYCLE_ONE)
        ben1, cleo1 = (kr.id for kr in key_results(db, first))
        add_backlog(db, "Onboarding checklist", "Dark mode", "Faster exports", "Slack digest")  # #1–#4
        team = the_team(db)
        assert team.cycle_anchor == ANCHOR and cycles(db)[1].starts_on == ANCHOR
        sweep_at(sweep, clock, at(ANCHOR - timedelta(days=4), 9, 5))  # plans the calendar
        team = the_team(db)
        assert team.reset_at == at(C1_END) and team.reset_notice_at == at(C1_END - WEEK)

        cycle1_weeks = [ANCHOR + n * WEEK for n in range(13)]
        for n, monday in enumerate(cycle1_weeks):
            if n == 12:  # a week before the end: the notice, once, however often the sweep runs
                sweep_at(sweep, clock, at(monday, 0, 30))
                sweep_at(sweep, clock, at(monday, 0, 31))
            ben_value = None if n == 8 else 20 + n  # Ben skips week 9; ends at 32 (progress 0.80)
            cleo_value = None if n == 3 else max(30 - n, 20)  # Cleo skips week 4; ends at 20 (progress 0.50)
            _week_of_checkins(
                driver,
                slack,
                db,
                sweep,
                clock,
                monday=monday,
                plan={BEN: (ben1, ben_value), CLEO: (cleo1, cleo_value)},
                by_slack={BEN: "dm", CLEO: "command"} if n in (0, 6) else {},
                wednesday=n in (3, 8, 12),
            )
            if n == 2:  # Tuesday of week 3: a triage of the inbox; nobody closes it, its deadline does
                clock.move_to(at(monday + timedelta(days=1), 11))
                triage1 = _triage(
                    driver,
                    slack,
                    db,
                    votes={
                        1: [(BEN, HELPS), (CLEO, HELPS)],
                        2: [(BEN, MAYBE), (CLEO, MAYBE)],
                        3: [(BEN, NOT_NOW)],
                    },
                )
            if n == 3:  # Monday's sweep of week 4 was past the round's 48 hours
                with db.read() as session:
                    assert session.get(Round, triage1).state is RoundState.CLOSED
                assert backlog_states(db) == {
                    1: ItemState.PRODUCT,
                    2: ItemState.DISCOVERY,
                    3: ItemState.NOT_NOW,
                    4: ItemState.NOT_NOW,
                }
            if n == 4:  # item #1 ships
                clock.move_to(at(monday + timedelta(days=3), 12))
                okr(driver, slack, "backlog done 1", user=BEN)
            if n == 7:  # a new idea lands in the inbox
                clock.move_to(at(monday + timedelta(days=3), 12))
                okr(driver, slack, "backlog add Export to CSV", user=CLEO)  # #5
        assert backlog_states(db) == {
            1: ItemState.DONE,
            2: ItemState.DISCOVERY,
            3: ItemState.NOT_NOW,
            4: ItemState.NOT_NOW,
            5: ItemState.INBOX,
        }
        notice = one(channel_posts(slack, "Cycle 1 of Rockets ends on 2026-05-31"), "cycle 1 notices")
        assert "Final scores" in flatten(notice)
        assert claim_keys(db)[NOTICE_KIND] == {f"{team.id}:1"}

        # the boundary: the reset starts and the owners are asked, once
        checkin_dms = {u: len(dm_posts(slack, u, "Weekly check-in")) for u in (BEN, CLEO)}
        report = sweep_at(sweep, clock, at(C1_END, 0, 5))
        assert report["reset_started"] == 1, report
        sweep_at(sweep, clock, at(C1_END, 0, 6))
        cycle1 = cycles(db)[1]
        assert cycle1.state is CycleState.ACTIVE and cycle1.reset_started_at is not None
        assert cycle1.scoring_closes_at == cycle1.reset_started_at + SCORING_TIME
        assert len(events(db, "cycle", "reset_started", cycle1.id)) == 1
        one(channel_posts(slack, "Cycle 1 of Rockets is closing"), "cycle 1 closing posts")
        for user in (BEN, CLEO):
            one(dm_posts(slack, user, "Final scores for cycle 1 of Rockets"), f"{user}'s final-score DMs")

        # Ben answers (a score other than his progress); Cleo does not
        clock.move_to(at(C1_END, 12))
        give_final_scores(driver, slack, user=BEN, cycle_number=1, answers={ben1: ("33", "0.9")})

        # Monday's sweep: the reset is waiting for the window; no check-in DM about cycle 1's key results any more
        report = sweep_at(sweep, clock, at(C1_END, 16))
        assert report["sent"] == 0 and report["no_key_results"] == 2, report
        assert checkin_rows(db) == []
        assert {u: len(dm_posts(slack, u, "Weekly check-in")) for u in (BEN, CLEO)} == checkin_dms
        assert cycles(db)[1].state is CycleState.ACTIVE

        # the window closes: cycle 1 closes once, with Ben's score and Cleo's progress
        window = cycle1.scoring_closes_at
        sweep_at(sweep, clock, window + 5 * MINUTE)
        sweep_at(sweep, clock, window + 6 * MINUTE)
        cycle1, cycle2 = cycles(db)[1], cycles(db)[2]
        assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is not None
        assert cycle2.state is CycleState.DRAFTING and (cycle2.starts_on, cycle2.ends_on) == (C1_END, C2_END)
        assert the_team(db).closed_through == 1
        ben_kr, cleo_kr = krs_of(db, cycle1.id)
        assert (ben_kr.final_score, ben_kr.final_value, ben_kr.final_by) == (0.9, 33, BEN)
        assert cleo_kr.final_by is None and cleo_kr.final_value == 20
        assert cleo_kr.final_score == pytest.approx((30 - 20) / (30 - 10))  # her progress at the close
        [closed1] = events(db, "cycle", "closed", cycle1.id)
        assert closed1.data["moved"] == {"discovery": 1, "inbox": 1}
        assert (closed1.data["scored_by_owners"], closed1.data["scored_by_progress"]) == (1, 1)
        assert backlog_states(db) == {
            1: ItemState.DONE,
            2: ItemState.NOT_NOW,
            3: ItemState.NOT_NOW,
            4: ItemState.NOT_NOW,
            5: ItemState.NOT_NOW,
        }
        assert reset_moves(db) == {(2, 1): 1, (5, 1): 1}
        retro = flatten(one(channel_posts(slack, "Retro of cycle 1 of Rockets"), "cycle 1 retros"))
        assert f"KR 1.1 {CYCLE_ONE[0]['metric']} — *0.90*\n" in retro + "\n", retro
        assert f"KR 1.2 {CYCLE_ONE[1]['metric']} — *0.50* _(progress)_" in retro, retro
        assert "*Average score 0.70*" in retro and "2 backlog items not done" in retro, retro
        opened = flatten(one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "cycle 2 prompts"))
        assert "(2026-06-01 to 2026-08-30)" in opened and "average 0.70" in opened, opened
        assert cycle1.retro_ts == channel_posts(slack, "Retro of cycle 1 of Rockets")[0]["ts"]

        # Wednesday's sweep (the summary row of a week with no OKRs goes), then cycle 2 is drafted and committed
        sweep_at(sweep, clock, at(C1_END + timedelta(days=2), 10, 30))
        clock.move_to(at(C1_END + timedelta(days=2), 12))
        second = commit(db, title="Teams come back every week", key_results=CYCLE_TWO)
        ben2, cleo2 = (kr.id for kr in key_results(db, second))
        assert cycles(db)[2].state is CycleState.ACTIVE

        # cycle 2 ------------------------------------------------------------------------------------------
        cycle2_weeks = [C1_END + n * WEEK for n in range(1, 13)]
        for n, monday in enumerate(cycle2_weeks, start=1):
            if n == 12:
                sweep_at(sweep, clock, at(monday, 0, 30))
            ben_value = None if n == 5 else min(100 + 4 * n, 140)  # Ben skips week 5; ends at 140 (0.80)
            cleo_value = None if n == 9 else 20 - n // 2  # Cleo skips week 9; ends at 14 (0.60)
            _week_of_checkins(
                driver,
                slack,
                db,
                sweep,
                clock,
                monday=monday,
                plan={BEN: (ben2, ben_value), CLEO: (cleo2, cleo_value)},
                by_slack={BEN: "command", CLEO: "dm"} if n in (1, 10) else {},
                wednesday=n in (5, 9, 12),
            )
            if n == 1:  # an item comes back from "not now" and a new one arrives
                clock.move_to(at(monday + timedelta(days=3), 12))
                okr(driver, slack, "backlog restore 3")
                okr(driver, slack, "backlog add Usage alerts", user=BEN)  # #6
            if n == 2:  # a triage, closed by the facilitator
                clock.move_to(at(monday + timedelta(days=1), 11))
                triage2 = _triage(driver, slack, db, votes={3: [(BEN, HELPS)], 6: [(CLEO, MAYBE)]})
                clock.move_to(at(monday + timedelta(days=1), 15))
                closed = okr(driver, slack, "triage close")
                assert "1 to the product backlog, 1 to discovery" in closed.text, closed.text
        assert backlog_states(db) == {
            1: ItemState.DONE,
            2: ItemState.NOT_NOW,
            3: ItemState.PRODUCT,
            4: ItemState.NOT_NOW,
            5: ItemState.NOT_NOW,
            6: ItemState.DISCOVERY,
        }
        one(channel_posts(slack, "Cycle 2 of Rockets ends on 2026-08-30"), "cycle 2 notices")

        # the second boundary
        report = sweep_at(sweep, clock, at(C2_END, 0, 5))
        assert report["reset_started"] == 1, report
        cycle2 = cycles(db)[2]
        for user in (BEN, CLEO):
            one(dm_posts(slack, user, "Final scores for cycle 2 of Rockets"), f"{user}'s cycle 2 final-score DMs")
        clock.move_to(at(C2_END, 12))
        give_final_scores(driver, slack, user=CLEO, cycle_number=2, answers={cleo2: ("17", "0.3")})
        report = sweep_at(sweep, clock, at(C2_END, 16))
        assert report["sent"] == 0 and cycles(db)[2].state is CycleState.ACTIVE, report
        sweep_at(sweep, clock, cycle2.scoring_closes_at + 5 * MINUTE)
        sweep_at(sweep, clock, at(C2_END + timedelta(days=2), 10, 30))

        # after two resets ---------------------------------------------------------------------------------
        found = cycles(db)
        assert sorted(found) == [1, 2, 3]
        assert found[1].state is CycleState.CLOSED and found[2].state is CycleState.CLOSED
        assert found[1].reset_done_at is not None and found[2].reset_done_at is not None
        assert found[3].state is CycleState.DRAFTING and (found[3].starts_on, found[3].ends_on) == (C2_END, C3_END)
        team = the_team(db)
        assert team.closed_through == 2
        assert team.reset_at == at(C3_END) and team.reset_notice_at == at(C3_END - WEEK)
        ben_kr, cleo_kr = krs_of(db, found[2].id)
        assert ben_kr.final_by is None and ben_kr.final_score == pytest.approx((140 - 100) / (150 - 100))
        assert (cleo_kr.final_score, cleo_kr.final_value, cleo_kr.final_by) == (0.3, 17, CLEO)
        [closed2] = events(db, "cycle", "closed", found[2].id)
        assert closed2.data["moved"] == {"product": 1, "discovery": 1}
        assert backlog_states(db) == {
            1: ItemState.DONE,
            2: ItemState.NOT_NOW,
            3: ItemState.NOT_NOW,
            4: ItemState.NOT_NOW,
            5: ItemState.NOT_NOW,
            6: ItemState.NOT_NOW,
        }
        assert reset_moves(db) == {(2, 1): 1, (5, 1): 1, (3, 2): 1, (6, 2): 1}
        assert [e.entity_id for e in events(db, "cycle", "reset_started")] == [found[1].id, found[2].id]
        assert [e.entity_id for e in events(db, "cycle", "closed")] == [found[1].id, found[2].id]
        retro2 = flatten(one(channel_posts(slack, "Retro of cycle 2 of Rockets"), "cycle 2 retros"))
        assert "*0.80* _(progress)_" in retro2 and "— *0.30*\n" in retro2 + "\n", retro2
        opened3 = flatten(one(channel_posts(slack, "Cycle 3 of Rockets is open for drafting"), "cycle 3 prompts"))
        assert "(2026-08-31 to 2026-11-29)" in opened3, opened3

        # /okr history lists both closed cycles with their final scores, and cycle 3 as the current one
        listing = okr(driver, slack, "history", user=CLEO).text
        assert "*Cycle 3* · 31 Aug – 29 Nov 2026 · drafting · :arrow_forward: *current*" in listing, listing
        assert "*Cycle 2* · 1 Jun – 30 Aug 2026 · closed\n1 committed · " in listing, listing
        assert "*Cycle 1* · 2 Mar – 31 May 2026 · closed\n1 committed · " in listing, listing
        cycle2_line = listing[listing.index("*Cycle 2*") : listing.index("*Cycle 1*")]
        assert "average score 0.55" in cycle2_line and "average score 0.70" in listing[listing.index("*Cycle 1*") :]

        # every scheduled send exactly once: the claims, all sent, and nothing else
        weeks = cycle1_weeks + cycle2_weeks
        reminded = [(CLEO, cycle1_weeks[3]), (BEN, cycle1_weeks[8]), (BEN, cycle2_weeks[4]), (CLEO, cycle2_weeks[8])]
        with db.read() as session:
            rounds = [str(r) for r in session.scalars(select(Round.id).order_by(Round.id))]
            entries = {str(e) for e in session.scalars(select(RoundItem.id))}
        assert rounds == [str(triage1), str(triage2)]
        c1, c2 = str(found[1].id), str(found[2].id)
        expected = {
            CHECKIN_KIND: {checkin_key(team.id, user, week) for user in (BEN, CLEO) for week in weeks},
            REMINDER_KIND: {checkin_key(team.id, user, week) for user, week in reminded},
            SUMMARY_KIND: {f"{team.id}:{week.isoformat()}" for week in weeks},
            CHART_KIND: {f"{team.id}:{week.isoformat()}" for week in weeks},
            NOTICE_KIND: {f"{team.id}:1", f"{team.id}:2"},
            STARTED_KIND: {c1, c2},
            SCORES_KIND: {f"{c}:{user}" for c in (c1, c2) for user in (BEN, CLEO)},
            RETRO_KIND: {c1, c2},
            NEXT_KIND: {c1, c2},
            HEADER_KIND: set(rounds),
            ITEM_KIND: entries,
            ROUND_SUMMARY_KIND: set(rounds),
        }
        assert claim_keys(db) == expected
        # 13 + 12 check-in weeks, two owners, two skipped weeks a cycle, two resets, 4 + 2 items in two rounds
        assert {k: len(v) for k, v in claim_keys(db).items()} == {
            CHECKIN_KIND: 50,
            REMINDER_KIND: 4,
            SUMMARY_KIND: 25,
            CHART_KIND: 25,
            NOTICE_KIND: 2,
            STARTED_KIND: 2,
            SCORES_KIND: 4,
            RETRO_KIND: 2,
            NEXT_KIND: 2,
            HEADER_KIND: 2,
            ITEM_KIND: 6,
            ROUND_SUMMARY_KIND: 2,
        }
        assert {c.state for by_key in claims(db).values() for c in by_key.values()} == {ClaimState.SENT}
        for user in (BEN, CLEO):  # and what the owners received: one check-in DM a week, nothing more
            assert len(dm_posts(slack, user, "Weekly check-in")) == len(weeks)
            assert len(dm_posts(slack, user, "Final scores for cycle")) == 2
        for text in ("the reset is coming", "is closing: final scores", "Retro of cycle", "is open for drafting"):
            assert len([m for m in slack.messages(CHANNEL) if text in m.get("text", "")]) == 2, text

        # and nothing more happens however often the sweep runs
        before = row_counts(db), len(slack.calls_to("chat.postMessage"))
        sweep_at(sweep, clock, at(C2_END + timedelta(days=2), 10, 31))
        sweep_at(sweep, clock, at(C2_END + timedelta(days=2), 10, 32))
        assert (row_counts(db), len(slack.calls_to("chat.postMessage"))) == before


# 2. the bot was down -------------------------------------------------------------------------------------------


def _team_with_a_cycle(driver, slack, db, sweep, clock) -> tuple[int, int, int]:
    """Rockets from 2 March 2026 with one committed objective (Ben's KR and Cleo's) and three inbox items, its
    calendar planned by a sweep; (objective id, Ben's KR id, Cleo's KR id)."""
    rockets(driver, slack, members=(BEN, CLEO))
    objective = commit(db, key_results=CYCLE_ONE)
    ben, cleo = (kr.id for kr in key_results(db, objective))
    add_backlog(db, "Onboarding checklist", "Dark mode", "Faster exports")
    sweep_at(sweep, clock, at(ANCHOR, 9, 5))
    assert the_team(db).reset_at == at(C1_END)
    return objective, ben, cleo


def test_a_boundary_passed_while_the_bot_was_down_is_reset_once_when_it_is_back(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR, 9), tick=True) as clock:
        _, ben, _cleo = _team_with_a_cycle(driver, slack, db, sweep, clock)
        clock.move_to(at(ANCHOR + 3 * WEEK, 12))
        check_in_directly(db, user=BEN, kr_id=ben, value=29)  # progress 0.60
        sweep_at(sweep, clock, at(C1_END - WEEK, 0, 30))  # the notice; then the bot goes down until 10 days after
        one(channel_posts(slack, "Cycle 1 of Rockets ends on 2026-05-31"), "notices")
        assert cycles(db)[1].reset_started_at is None

        back = at(C1_END + timedelta(days=10), 9)
        report = sweep_at(sweep, clock, back)
        assert report["reset_started"] == 1, report
        again = sweep_at(sweep, clock, back + MINUTE)
        assert again["reset_started"] == 0, again
        cycle1 = cycles(db)[1]
        # the owners get their 48 hours from when the bot came back, not from the boundary
        assert back <= cycle1.reset_started_at < back + MINUTE
        assert cycle1.scoring_closes_at == cycle1.reset_started_at + SCORING_TIME
        assert cycle1.state is CycleState.ACTIVE
        assert len(events(db, "cycle", "reset_started", cycle1.id)) == 1
        one(channel_posts(slack, "Cycle 1 of Rockets is closing"), "closing posts")
        for user in (BEN, CLEO):
            one(dm_posts(slack, user, "Final scores for cycle 1 of Rockets"), f"{user}'s final-score DMs")
        # no check-in DM about the ended cycle for the weeks the bot missed
        assert not [k for k in claim_keys(db).get(CHECKIN_KIND, set()) if k.rsplit(":", 1)[1] >= C1_END.isoformat()]

        sweep_at(sweep, clock, cycle1.scoring_closes_at + MINUTE)
        sweep_at(sweep, clock, cycle1.scoring_closes_at + 2 * MINUTE)
        cycle1 = cycles(db)[1]
        assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is not None
        assert the_team(db).closed_through == 1 and cycles(db)[2].state is CycleState.DRAFTING
        ben_kr, cleo_kr = krs_of(db, cycle1.id)
        assert ben_kr.final_score == pytest.approx((29 - 20) / (35 - 20)) and ben_kr.final_by is None
        assert cleo_kr.final_score == 0 and cleo_kr.final_by is None  # never moved from its start
        assert len(events(db, "cycle", "closed", cycle1.id)) == 1
        assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
        one(channel_posts(slack, "Retro of cycle 1 of Rockets"), "retros")
        one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "prompts")
        assert {
            k: len(v)
            for k, v in claim_keys(db).items()
            if k not in (CHECKIN_KIND, SUMMARY_KIND, CHART_KIND, REMINDER_KIND)
        } == {
            NOTICE_KIND: 1,
            STARTED_KIND: 1,
            SCORES_KIND: 2,
            RETRO_KIND: 1,
            NEXT_KIND: 1,
        }
        before = row_counts(db), len(slack.calls_to("chat.postMessage"))
        sweep_at(sweep, clock, cycle1.scoring_closes_at + LEASE + 3 * MINUTE)
        assert (row_counts(db), len(slack.calls_to("chat.postMessage"))) == before


def test_down_across_two_boundaries_closes_the_older_cycle_quietly_and_resets_the_latest(
    driver, slack, db, database_url
):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR, 9), tick=True) as clock:
        _, _ben1, cleo1 = _team_with_a_cycle(driver, slack, db, sweep, clock)
        clock.move_to(at(ANCHOR + 2 * WEEK, 12))
        check_in_directly(db, user=CLEO, kr_id=cleo1, value=25)  # progress 0.25
        sweep_at(sweep, clock, at(ANCHOR + 4 * WEEK, 16))  # the last sweep before the bot goes down

        # the team goes on working meanwhile: cycle 2's OKRs and a new idea
        clock.move_to(at(C1_END + timedelta(days=9), 12))
        second = commit(db, title="Teams come back every week", key_results=CYCLE_TWO)
        ben2, _cleo2 = (kr.id for kr in key_results(db, second))
        add_backlog(db, "Usage alerts")  # #4
        clock.move_to(at(C1_END + 3 * WEEK, 12))
        check_in_directly(db, user=BEN, kr_id=ben2, value=120)  # progress 0.40
        posts_before = len(slack.calls_to("chat.postMessage"))

        back = at(C2_END + timedelta(days=5), 9)
        report = sweep_at(sweep, clock, back)
        assert report["reset_started"] == 1, report
        sweep_at(sweep, clock, back + MINUTE)
        found = cycles(db)
        # cycle 1: closed quietly, with its progress as final scores; nobody asked, nothing posted about it
        assert found[1].state is CycleState.CLOSED and found[1].reset_done_at is not None
        [quiet] = events(db, "cycle", "closed", found[1].id)
        assert quiet.data["quiet"] is True and quiet.data["scored_by_progress"] == 2
        ben_kr, cleo_kr = krs_of(db, found[1].id)
        assert ben_kr.final_score == 0 and cleo_kr.final_score == pytest.approx(0.25)
        assert ben_kr.final_by is None and cleo_kr.final_by is None
        # cycle 2: its reset is under way, with its owners asked
        assert found[2].state is CycleState.ACTIVE and found[2].reset_started_at is not None
        assert [e.entity_id for e in events(db, "cycle", "reset_started")] == [found[2].id]
        keys = claim_keys(db)
        assert keys.get(STARTED_KIND) == {str(found[2].id)}
        assert keys.get(SCORES_KIND) == {f"{found[2].id}:{BEN}", f"{found[2].id}:{CLEO}"}
        assert NOTICE_KIND not in keys  # neither notice was due while the bot was up
        one(channel_posts(slack, "Cycle 2 of Rockets is closing"), "cycle 2 closing posts")
        assert channel_posts(slack, "Cycle 1 of Rockets") == [] and channel_posts(slack, "Retro of cycle 1") == []
        for user in (BEN, CLEO):
            assert dm_posts(slack, user, "Final scores for cycle 1") == []
            one(dm_posts(slack, user, "Final scores for cycle 2 of Rockets"), f"{user}'s final-score DMs")
        assert {c.args["text"] for c in slack.calls_to("chat.postMessage")[posts_before:]} == {
            "Cycle 2 of Rockets is closing: final scores",
            "Final scores for cycle 2 of Rockets",
        }

        sweep_at(sweep, clock, found[2].scoring_closes_at + MINUTE)
        sweep_at(sweep, clock, found[2].scoring_closes_at + 2 * MINUTE)
        found = cycles(db)
        assert found[2].state is CycleState.CLOSED and found[2].reset_done_at is not None
        assert found[3].state is CycleState.DRAFTING and the_team(db).closed_through == 2
        ben_kr, cleo_kr = krs_of(db, found[2].id)
        assert ben_kr.final_score == pytest.approx(0.4) and cleo_kr.final_score == 0
        assert [e.entity_id for e in events(db, "cycle", "closed")] == [found[1].id, found[2].id]
        # every unfinished item went to "not now" once, at the close of the cycle that ended last, whose retro
        # says so (the quiet close of cycle 1 left the backlog alone)
        assert reset_moves(db) == {(1, 2): 1, (2, 2): 1, (3, 2): 1, (4, 2): 1}
        keys = claim_keys(db)
        assert keys[RETRO_KIND] == {str(found[2].id)} and keys[NEXT_KIND] == {str(found[2].id)}
        retro = one(channel_posts(slack, "Retro of cycle 2 of Rockets"), "cycle 2 retros")
        assert "4 backlog items not done went back to" in flatten(retro)
        one(channel_posts(slack, "Cycle 3 of Rockets is open for drafting"), "cycle 3 prompts")
        assert channel_posts(slack, "Cycle 2 of Rockets is open for drafting") == []
        assert channel_posts(slack, "Retro of cycle 1") == []


# 3. a reset interrupted half-way ---------------------------------------------------------------------------------


class CrashingClient(OnceClient):
    """A client that raises (as a process dying would stop) around one post: before Slack has it, or after."""

    def __init__(self, *, crash_on: str, after: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.crash_on, self.after, self.crashed = crash_on, after, 0

    def chat_postMessage(self, **kwargs):  # slack_sdk's name
        if str(kwargs.get("text", "")).startswith(self.crash_on) and not self.crashed:
            self.crashed += 1
            if self.after:
                super().chat_postMessage(**kwargs)
            raise RuntimeError("the sweep died here")
        return super().chat_postMessage(**kwargs)


FAULTS = ("server_error", "timeout", "rate_limit", "crash_before_post", "crash_after_post")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_retro_that_slack_fails_is_posted_by_a_later_sweep_exactly_once(fault, driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR, 9), tick=True) as clock:
        _team_with_a_cycle(driver, slack, db, sweep, clock)
        sweep_at(sweep, clock, at(C1_END, 0, 5))
        cycle1 = cycles(db)[1]
        assert cycle1.reset_started_at is not None and cycle1.owners_asked_at is not None

        faulty = sweep
        token, url = slack.workspace().bot_token, slack.api_url
        if fault == "server_error":
            slack.fail_next("chat.postMessage", "internal_error", status=500)
        elif fault == "rate_limit":  # more 429s than the client waits out
            slack.rate_limit_next("chat.postMessage", retry_after=1, times=4)
        elif fault == "timeout":  # Slack posts it, the answer never arrives in time
            impatient = web_client(base_url=url, token=token, timeout=1, resend=False)
            faulty = Sweeper(db, lambda _workspace: impatient, worker="impatient")
            slack.hold_next("chat.postMessage", 2.5)
        else:
            crashing = CrashingClient(
                crash_on="Retro of cycle 1",
                after=fault == "crash_after_post",
                base_url=url,
                token=token,
                retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
            )
            faulty = Sweeper(db, lambda _workspace: crashing, worker="crashing")

        window = cycle1.scoring_closes_at
        clock.move_to(window + MINUTE)
        report = faulty.run(datetime.now(UTC))
        assert report["error" if fault.startswith("crash") else "retry"] == 1, report
        retro_tries = post_calls(slack, "Retro of cycle 1")
        if fault in ("server_error", "rate_limit"):  # Slack refused every try: nothing was posted
            assert retro_tries and not any(c.ok for c in retro_tries), retro_tries
        elif fault in ("timeout", "crash_after_post"):  # Slack posted it; the sweep never knew
            assert len(retro_tries) == 1, retro_tries
        else:
            assert retro_tries == []
        cycle1 = cycles(db)[1]
        # closed (once), but not done: the retro is still owed
        assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is None
        assert len(events(db, "cycle", "closed", cycle1.id)) == 1
        assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
        claim = claims(db).get(RETRO_KIND, {}).get(str(cycle1.id))
        if fault == "rate_limit":  # Slack did nothing: the claim is given back for the next sweep
            assert claim is None
        else:  # the post may have gone out: the claim is kept, to be taken over with a look at the channel first
            assert claim is not None and claim.state is ClaimState.CLAIMED
        in_slack = 1 if fault in ("timeout", "crash_after_post") else 0
        assert len(channel_posts(slack, "Retro of cycle 1")) == in_slack

        # a minute later: nothing doubles (a crashed sweep's claim is still within its lease)
        sweep_at(sweep, clock, window + 2 * MINUTE)
        assert len(channel_posts(slack, "Retro of cycle 1")) <= 1
        if fault.startswith("crash"):
            assert cycles(db)[1].reset_done_at is None and len(channel_posts(slack, "Retro of cycle 1")) == in_slack

        # past the lease: finished
        sweep_at(sweep, clock, window + LEASE + 3 * MINUTE)
        cycle1 = cycles(db)[1]
        assert cycle1.reset_done_at is not None
        retro = one(channel_posts(slack, "Retro of cycle 1 of Rockets"), "retros")
        assert cycle1.retro_ts == retro["ts"]
        assert claims(db)[RETRO_KIND][str(cycle1.id)].state is ClaimState.SENT
        one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "prompts")
        one(channel_posts(slack, "Cycle 1 of Rockets is closing"), "closing posts")
        for user in (BEN, CLEO):
            one(dm_posts(slack, user, "Final scores for cycle 1 of Rockets"), f"{user}'s DMs")
        assert len(events(db, "cycle", "closed", cycle1.id)) == 1
        assert len(events(db, "cycle", "reset_started", cycle1.id)) == 1
        assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
        assert {c.state for by_key in claims(db).values() for c in by_key.values()} == {ClaimState.SENT}
        before = row_counts(db), len(slack.calls_to("chat.postMessage"))
        sweep_at(sweep, clock, window + 2 * LEASE)
        assert (row_counts(db), len(slack.calls_to("chat.postMessage"))) == before


def _team_whose_cycle_ended(driver, slack, db, sweep, *, days_ago: int) -> tuple[datetime, date]:
    """For `okr-bot sweep` processes, which read the real clock: Rockets in UTC whose cycle 1 ended at the
    midnight `days_ago` days before today, its calendar planned by a sweep ten days before that end; three
    inbox items. Returns (the real time now, cycle 1's end)."""
    real_now = datetime.now(UTC)
    end = real_now.date() - timedelta(days=days_ago)
    with freeze_time(at(end - timedelta(days=10), 9), tick=True):
        rockets(driver, slack, members=(BEN, CLEO))
        with db.transaction() as session:
            team = session.scalars(select(Team)).one()
            team.cycle_anchor = end - timedelta(days=CYCLE_DAYS)
            team.checkins_paused = True  # no weekly DM or summary among the posts the process is killed in
        commit(db, key_results=CYCLE_ONE)
        add_backlog(db, "Onboarding checklist", "Dark mode", "Faster exports")
        sweep.run(datetime.now(UTC))
    assert the_team(db).reset_at == at(end)
    return real_now, end


def _kill_when_posted(slack, process, starting: str) -> object:
    """Wait until Slack has a chat.postMessage whose text starts so (its answer held), then kill the process."""
    try:
        call = slack.wait_for(
            "chat.postMessage", lambda c: str(c.args.get("text", "")).startswith(starting), timeout=60
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    return call


def _assert_reset_once(slack, db, cycle_id: int) -> None:
    assert len(events(db, "cycle", "reset_started", cycle_id)) == 1
    assert len(events(db, "cycle", "closed", cycle_id)) == 1
    assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
    one(channel_posts(slack, "Cycle 1 of Rockets is closing"), "closing posts")
    one(channel_posts(slack, "Retro of cycle 1 of Rockets"), "retros")
    one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "prompts")
    for user in (BEN, CLEO):
        one(dm_posts(slack, user, "Final scores for cycle 1 of Rockets"), f"{user}'s DMs")
    assert len(post_calls(slack, "Retro of cycle 1")) == 1
    assert {c.state for by_key in claims(db).values() for c in by_key.values()} <= {ClaimState.SENT, ClaimState.SKIPPED}


def test_a_sweep_process_killed_while_posting_the_retro_is_finished_once(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    real_now, _end = _team_whose_cycle_ended(driver, slack, db, sweep, days_ago=3)
    # the reset started two days ago: the owners were asked, and their 48 hours ran out an hour ago
    assert sweep.run(real_now - timedelta(hours=49))["reset_started"] == 1
    cycle1 = cycles(db)[1]
    assert cycle1.scoring_closes_at < real_now and cycle1.owners_asked_at is not None

    slack.hold_next("chat.postMessage", 30)  # Slack posts the retro at once; the process never hears back
    posts = len(slack.calls_to("chat.postMessage"))
    process = start_sweep(slack, database_url)
    _kill_when_posted(slack, process, "Retro of cycle 1")
    assert len(slack.calls_to("chat.postMessage")) == posts + 1  # the held post was the process's first

    cycle1 = cycles(db)[1]
    assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is None and cycle1.retro_ts is None
    assert len(events(db, "cycle", "closed", cycle1.id)) == 1
    assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
    retro_claim = claims(db)[RETRO_KIND][str(cycle1.id)]
    assert retro_claim.state is ClaimState.CLAIMED and retro_claim.claimed_by != "test"

    # at once: the dead process's claim is still within its lease, so the retro is not posted again
    sweep.run(datetime.now(UTC))
    assert len(post_calls(slack, "Retro of cycle 1")) == 1 and cycles(db)[1].reset_done_at is None

    # past the lease: the retro is found in the channel, recorded, and the reset finishes
    histories = len(slack.calls_to("conversations.history"))
    sweep.run(datetime.now(UTC) + LEASE + MINUTE)
    assert len(slack.calls_to("conversations.history")) > histories
    cycle1 = cycles(db)[1]
    assert cycle1.reset_done_at is not None
    assert cycle1.retro_ts == channel_posts(slack, "Retro of cycle 1")[0]["ts"]
    _assert_reset_once(slack, db, cycle1.id)
    before = row_counts(db), len(slack.calls_to("chat.postMessage"))
    sweep.run(datetime.now(UTC) + 2 * LEASE)
    assert (row_counts(db), len(slack.calls_to("chat.postMessage"))) == before


def test_a_sweep_process_killed_while_asking_the_owners_is_finished_once(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    _team_whose_cycle_ended(driver, slack, db, sweep, days_ago=1)
    slack.hold_next("chat.postMessage", 0)  # the channel hears the cycle is closing
    slack.hold_next("chat.postMessage", 30)  # Ben's DM goes out; the process never hears back
    posts = len(slack.calls_to("chat.postMessage"))
    process = start_sweep(slack, database_url)
    call = _kill_when_posted(slack, process, "Final scores for cycle 1")
    assert call.args["channel"] == slack.dm_channel_id(BEN)
    assert [str(c.args.get("text")) for c in slack.calls_to("chat.postMessage")[posts:]] == [
        "Cycle 1 of Rockets is closing: final scores",
        "Final scores for cycle 1 of Rockets",
    ]

    cycle1 = cycles(db)[1]
    assert cycle1.reset_started_at is not None and cycle1.owners_asked_at is None
    assert cycle1.state is CycleState.ACTIVE
    assert len(events(db, "cycle", "reset_started", cycle1.id)) == 1
    assert claims(db)[SCORES_KIND][f"{cycle1.id}:{BEN}"].state is ClaimState.CLAIMED

    sweep.run(datetime.now(UTC))  # within the lease: Cleo is asked, Ben not again
    assert len(dm_posts(slack, BEN, "Final scores")) == 1 and len(dm_posts(slack, CLEO, "Final scores")) == 1
    assert cycles(db)[1].owners_asked_at is None

    sweep.run(datetime.now(UTC) + LEASE + MINUTE)  # past it: Ben's DM is found in his DM channel
    cycle1 = cycles(db)[1]
    assert cycle1.owners_asked_at is not None and cycle1.state is CycleState.ACTIVE
    assert claims(db)[SCORES_KIND][f"{cycle1.id}:{BEN}"].state is ClaimState.SENT
    assert len(dm_posts(slack, BEN, "Final scores")) == 1

    sweep.run(cycle1.scoring_closes_at + MINUTE)  # the window ends: the close, the retro, the prompt
    cycle1 = cycles(db)[1]
    assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is not None
    _assert_reset_once(slack, db, cycle1.id)


# 4. two replicas at the same moment ------------------------------------------------------------------------------


def test_replicas_sweeping_the_boundary_at_once_reset_the_cycle_once(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR, 9), tick=True) as clock:
        _team_with_a_cycle(driver, slack, db, sweep, clock)
        # a sweep a few minutes before each moment catches up the weekly sends: the replicas then meet head-on
        # at the reset
        sweep_at(sweep, clock, at(C1_END - WEEK) - 10 * MINUTE)
        clock.move_to(at(C1_END - WEEK, 0, 1))
        sweep_as_replicas(slack, database_url, datetime.now(UTC), count=3)
        one(channel_posts(slack, "Cycle 1 of Rockets ends on"), "notices")

        sweep_at(sweep, clock, at(C1_END) - 10 * MINUTE)
        clock.move_to(at(C1_END, 0, 1))
        reports = sweep_as_replicas(slack, database_url, datetime.now(UTC), count=3)
        total = sum(reports, Counter())
        assert total["reset_started"] == 1 and total["error"] == 0, reports
        cycle1 = cycles(db)[1]
        assert len(events(db, "cycle", "reset_started", cycle1.id)) == 1
        one(channel_posts(slack, "Cycle 1 of Rockets is closing"), "closing posts")
        for user in (BEN, CLEO):
            one(dm_posts(slack, user, "Final scores for cycle 1 of Rockets"), f"{user}'s DMs")
        assert len(post_calls(slack, "Final scores for cycle 1")) == 2
        assert claim_keys(db)[SCORES_KIND] == {f"{cycle1.id}:{BEN}", f"{cycle1.id}:{CLEO}"}

        clock.move_to(cycle1.scoring_closes_at + MINUTE)
        reports = sweep_as_replicas(slack, database_url, datetime.now(UTC), count=3)
        assert sum(reports, Counter())["error"] == 0, reports
        sweep_at(sweep, clock, cycle1.scoring_closes_at + 2 * MINUTE)  # whatever one replica left to the next
        cycle1 = cycles(db)[1]
        assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is not None
        assert len(events(db, "cycle", "closed", cycle1.id)) == 1
        assert reset_moves(db) == {(1, 1): 1, (2, 1): 1, (3, 1): 1}
        assert len(post_calls(slack, "Retro of cycle 1")) == 1
        one(channel_posts(slack, "Retro of cycle 1 of Rockets"), "retros")
        one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "prompts")
        assert the_team(db).closed_through == 1


# 5. a team far from UTC ----------------------------------------------------------------------------------------


def test_a_team_far_from_utc_is_reset_at_its_own_midnight(driver, slack, db, database_url):
    """Auckland: UTC+13 in March, UTC+12 from 5 April (daylight saving ends); the cycle turns over at midnight
    there, which is noon the day before in UTC."""
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR - timedelta(days=4), 9), tick=True) as clock:
        rockets(driver, slack, members=(BEN, CLEO))
        view = open_settings(driver, slack)
        values = modal_values(timezone="Pacific/Auckland", cycle_start=ANCHOR.isoformat())
        assert driver.submit_view(view["id"], user=ADA, values=values).status == 200
        wait_until(lambda: the_team(db).cycle_anchor == ANCHOR and the_team(db).timezone == "Pacific/Auckland")
        commit(db, key_results=CYCLE_ONE)
        sweep_at(sweep, clock, at(ANCHOR - timedelta(days=4), 9, 5))
        boundary = datetime(2026, 5, 31, 12, tzinfo=UTC)  # 1 June 00:00 in Auckland (NZST, UTC+12)
        notice = boundary - WEEK
        team = the_team(db)
        assert (team.reset_at, team.reset_notice_at) == (boundary, notice)
        cycle1 = cycles(db)[1]
        assert (cycle1.starts_on, cycle1.ends_on) == (ANCHOR, C1_END)

        sweep_at(sweep, clock, notice - MINUTE)
        assert channel_posts(slack, "Cycle 1 of Rockets ends on") == []
        sweep_at(sweep, clock, notice + MINUTE)
        one(channel_posts(slack, "Cycle 1 of Rockets ends on 2026-05-31"), "notices")

        assert sweep_at(sweep, clock, boundary - MINUTE)["reset_started"] == 0
        assert cycles(db)[1].reset_started_at is None
        assert sweep_at(sweep, clock, boundary + MINUTE)["reset_started"] == 1
        cycle1 = cycles(db)[1]
        assert boundary < cycle1.reset_started_at < boundary + 2 * MINUTE
        sweep_at(sweep, clock, cycle1.scoring_closes_at + MINUTE)
        found = cycles(db)
        assert found[1].state is CycleState.CLOSED and found[1].reset_done_at is not None
        assert found[2].state is CycleState.DRAFTING and (found[2].starts_on, found[2].ends_on) == (C1_END, C2_END)
        opened = flatten(one(channel_posts(slack, "Cycle 2 of Rockets is open for drafting"), "prompts"))
        assert "(2026-06-01 to 2026-08-30)" in opened, opened
        team = the_team(db)
        # cycle 2 ends at midnight in Auckland on 31 August: NZST still (daylight saving starts 27 September)
        assert team.reset_at == datetime(2026, 8, 30, 12, tzinfo=UTC)


# 6. a notice due when the sweep plans the calendar -------------------------------------------------------------

# Planning a team's calendar in a cycle's last week (after downtime, or for the first time) keeps that cycle's
# notice due: the sweep posts it late rather than skipping to the next cycle's.


@pytest.mark.parametrize("how", ["back_from_downtime", "calendar_never_planned"])
def test_a_team_in_a_cycles_last_week_gets_its_notice_when_the_sweep_plans_the_calendar(
    how, driver, slack, db, database_url
):
    """`back_from_downtime`: the bot was down from before cycle 1's notice until four days before cycle 2's end;
    the first sweep starts cycle 1's reset and plans the calendar, and cycle 2's last week has begun.
    `calendar_never_planned`: a team from before the reset existed (its `reset_at` and `reset_notice_at` start
    empty, see the migration), first swept four days before its cycle ends. Either way the team should be told,
    as a bot that was only down across the notice's moment tells it late."""
    sweep = sweeper(slack, database_url, db)
    with freeze_time(at(ANCHOR, 9), tick=True) as clock:
        if how == "back_from_downtime":
            _team_with_a_cycle(driver, slack, db, sweep, clock)
            sweep_at(sweep, clock, at(C1_END - 2 * WEEK, 16))  # the last sweep before the bot goes down
            back, number, last_day = at(C2_END - timedelta(days=4), 9), 2, "2026-08-30"
            # meanwhile the team commits cycle 2's OKRs: a cycle with nothing committed would get no notice
            clock.move_to(at(C1_END + WEEK, 10))
            commit(db, title="Cycle two", key_results=CYCLE_TWO)
        else:
            rockets(driver, slack, members=(BEN, CLEO))
            commit(db, key_results=CYCLE_ONE)
            assert (the_team(db).reset_at, the_team(db).reset_notice_at) == (None, None)
            back, number, last_day = at(C1_END - timedelta(days=4), 9), 1, "2026-05-31"

        report = sweep_at(sweep, clock, back)
        sweep_at(sweep, clock, back + MINUTE)
        team = the_team(db)
        assert team.reset_at == at(C1_END + (number - 1) * timedelta(days=CYCLE_DAYS))  # the reset will come
        if how == "back_from_downtime":
            assert report["reset_started"] == 1 and cycles(db)[1].reset_started_at is not None, report
            assert channel_posts(slack, "Cycle 1 of Rockets ends on") == []  # too late for that one
        one(channel_posts(slack, f"Cycle {number} of Rockets ends on {last_day}"), f"cycle {number} notices")
