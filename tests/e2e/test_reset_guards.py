"""What a reset under way guards: a cycle being scored takes no new commitment and no revision, a score emptied
lets the progress count again, a start date chosen while the next cycle runs waits for that cycle, a cycle whose
end passed unnoticed is the one `/okr reset` offers, a cycle without OKRs closes without noise, and the ripples of
a closed cycle's key results close with it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from bot.rituals import drafts, revisions
from bot.rituals.cycles import team_span
from storage.models import (
    BacklogItem,
    Cycle,
    CycleState,
    Draft,
    DraftState,
    ItemState,
    Objective,
    Ripple,
    RippleState,
    Round,
    RoundState,
    Team,
)
from tests.e2e.okr_support import add_backlog, commit, posted_round, rockets
from tests.e2e.support import create_team, okr, row_counts, wait_until
from tests.e2e.test_checkin_delivery import sweeper
from tests.e2e.test_reset_by_hand import (
    CHANNEL,
    KEY_RESULTS,
    channel_messages,
    close_scoring,
    confirm_reset,
    cycle_one,
    cycles,
    dm,
    give_final_scores,
    kr_row,
    open_form,
    set_up,
    start_reset,
    team_row,
)
from tests.helpers import flatten


def _shared_draft(db, *, title: str = "Next quarter: retention") -> int:
    """A draft with two key results, shared for review, as the drafting flow leaves it."""
    with db.transaction() as session:
        team = session.scalars(select(Team)).one()
        draft = drafts.start_draft(session, team=team, user_id="U0BEN", title=title, now=datetime.now(UTC))
        draft.content = {
            **draft.content,
            "key_results": [
                {
                    "metric": "Teams still active after a month",
                    "unit": "%",
                    "baseline": "40",
                    "target": "60",
                    "direction": "increase",
                    "owner": "U0BEN",
                },
                {
                    "metric": "Churned teams per month",
                    "unit": "",
                    "baseline": "12",
                    "target": "6",
                    "direction": "decrease",
                    "owner": "U0CLEO",
                },
            ],
        }
        draft.state = DraftState.SHARED
        return draft.id


def test_a_cycle_being_scored_takes_no_new_objective_and_no_revision(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        ids = set_up(driver, slack, db, clock)
        start_reset(driver, slack, db)  # early, in week 7: cycle 1 is still the calendar's
        draft_id = _shared_draft(db)
        before = row_counts(db)

        with db.transaction() as session:
            draft = session.get(Draft, draft_id)
            team = session.get(Team, draft.team_id)
            try:
                drafts.commit_draft(session, draft=draft, team=team, user_id="U0BEN", now=datetime.now(UTC))
            except Exception as error:
                refusal = error
            else:
                raise AssertionError("a draft was committed into a cycle being scored")
        assert "being scored for its reset" in str(refusal) and "Your draft is kept" in str(refusal)

        with db.transaction() as session:
            target = revisions.find_target(
                session,
                kind=revisions.REVISE_OBJECTIVE,
                workspace_id=team.workspace_id,
                target_id=ids.objective_id,
                lock=True,
            )
            try:
                revisions.require_changeable(session, target, kind=revisions.REVISE_OBJECTIVE, user_id="U0BEN")
            except Exception as error:
                refused = error
            else:
                raise AssertionError("an objective of a cycle being scored could be revised")
        assert "being scored for its reset" in str(refused)
        assert row_counts(db) == before
        with db.read() as session:
            assert session.get(Draft, draft_id).state is DraftState.SHARED  # kept for the next cycle


def test_emptying_a_score_given_lets_the_progress_count_again(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        ids = set_up(driver, slack, db, clock, currents={"U0BEN": 29})
        start_reset(driver, slack, db)
        give_final_scores(driver, slack, user="U0BEN", kr_id=ids.ben_kr, value="33", score="0.9")
        wait_until(lambda: kr_row(db, ids.ben_kr).final_by == "U0BEN")

        message = dm(slack, "U0BEN")
        view = open_form(
            driver, slack, user="U0BEN", channel=message["channel"], ts=message["ts"], action_id="final_scores_open"
        )
        emptied = {
            f"value:{ids.ben_kr}": {"value": {"type": "plain_text_input", "value": ""}},
            f"score:{ids.ben_kr}": {"value": {"type": "plain_text_input", "value": ""}},
        }
        assert driver.submit_view(view["id"], user="U0BEN", values=emptied).status == 200
        kr = wait_until(lambda: (lambda k: k if k.final_by is None else None)(kr_row(db, ids.ben_kr)))
        assert (kr.final_value, kr.final_score, kr.final_at) == (None, None, None)


def test_a_start_date_chosen_while_the_next_cycle_runs_waits_for_that_cycle(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        sweep.run(datetime.now(UTC))
        clock.move_to("2026-06-01 00:05:00")  # cycle 1 ended: its reset starts, cycle 2 runs (1 Jun – 30 Aug)
        assert sweep.run(datetime.now(UTC))["reset_started"] == 1
        clock.move_to("2026-06-01 12:00:00")
        reply = okr(driver, slack, "team settings cycle-start=2026-09-14")  # after cycle 2's end: it waits
        assert "next cycle starts 2026-09-14" in reply.text, reply.text

        clock.move_to(cycle_one(db).scoring_closes_at + timedelta(minutes=1))
        sweep.run(datetime.now(UTC))  # cycle 1 closes: the date is cycle 3's, not cycle 2's

        one, two = cycles(db)
        team = team_row(db)
        assert one.state.value == "closed"
        assert (two.number, two.starts_on, two.ends_on) == (2, date(2026, 6, 1), date(2026, 8, 31))
        assert team.next_cycle_anchor == date(2026, 9, 14) and team.closed_through == 1
        assert team_span(team, datetime.now(UTC)).week_of(datetime.now(UTC).date()) == 1

        clock.move_to("2026-08-31 00:05:00")  # cycle 2's end: its reset starts and cycle 3 will start on 14 Sep
        assert sweep.run(datetime.now(UTC))["reset_started"] == 1
        team = team_row(db)
        assert (team.cycle_anchor, team.anchor_cycle, team.next_cycle_anchor) == (date(2026, 9, 14), 3, None)
        span = team_span(team, datetime.now(UTC))
        assert (span.number, span.starts_on) == (3, date(2026, 9, 14))


def test_reset_offers_the_cycle_whose_end_passed_without_its_reset(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)  # no sweep runs: the boundary passes unnoticed
        clock.move_to("2026-06-03 10:00:00")
        commit(db, title="Cycle two already", key_results=KEY_RESULTS)  # someone committed in cycle 2

        message = confirm_reset(driver, slack)
        assert "*Reset cycle 1 of Rockets now?* It ended on 2026-05-31" in flatten(message), flatten(message)
        result = driver.click(user="U0ADA", action_id="reset_start", channel=CHANNEL, ts=message["ts"])
        assert result.status == 200
        wait_until(lambda: channel_messages(slack, "Cycle 1 of Rockets is closing"))
        one, two = cycles(db)
        assert one.reset_started_at is not None and two.reset_started_at is None


def test_a_cycle_without_okrs_closes_without_asking_anyone_and_opens_the_next(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets(driver, slack)
        with db.transaction() as session:
            session.scalars(select(Team)).one().cycle_anchor = date(2026, 3, 2)
        sweep.run(datetime.now(UTC))
        clock.move_to("2026-06-01 00:05:00")
        sweep.run(datetime.now(UTC))

        [one] = [c for c in cycles(db) if c.number == 1]
        assert one.state.value == "closed" and one.reset_done_at is not None
        assert not channel_messages(slack, "is closing") and not channel_messages(slack, "retro of cycle")
        [opened] = channel_messages(slack, "Cycle 2 of Rockets is open for drafting")
        assert "Carry forward" not in flatten(opened)  # nothing to carry
        with db.read() as session:
            assert session.scalars(select(Objective)).all() == []


def test_the_home_button_of_a_cycle_closed_meanwhile_answers_in_a_form(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        start_reset(driver, slack, db)
        driver.open_home("U0BEN")
        home = wait_until(lambda: slack.home("U0BEN"))
        assert "1 of your key results needs a final score" in flatten(home)
        close_scoring(driver, slack, db)  # the Home tab Ben is looking at still shows the button
        opened = len(slack.calls_to("views.open"))
        result = driver.click(user="U0BEN", action_id="final_scores_open", view_id=home["id"])
        assert result.status == 200, result.text
        call = slack.wait_for("views.open", count=opened + 1)
        assert "Cycle 1 of *Rockets* is closed: its scores are final" in flatten(call.args["view"])


def test_a_vote_still_open_at_the_close_is_closed_by_the_next_sweep(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        add_backlog(db, "Onboarding checklist", "Dark mode")
        assert okr(driver, slack, "triage start").ephemeral
        posted = posted_round(db)
        start_reset(driver, slack, db)
        close_scoring(driver, slack, db)
        with db.read() as session:
            assert session.get(Round, posted.id).state is RoundState.OPEN  # the close set its deadline to now

        clock.tick(timedelta(minutes=1))
        sweep.run(datetime.now(UTC))

        with db.read() as session:
            assert session.get(Round, posted.id).state is RoundState.CLOSED
            states = {item.state for item in session.scalars(select(BacklogItem))}
        assert states == {ItemState.NOT_NOW}  # the round's close leaves them where the reset put them


def test_ripples_from_and_to_the_closed_cycles_key_results_close_with_it(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
        with db.transaction() as session:  # Growth runs another calendar: its current cycle is not number 1
            growth = session.scalars(select(Team).where(Team.name == "Growth")).one()
            growth.cycle_anchor = date(2025, 1, 6)
            growth_id = growth.id
        commit(db, "Growth")
        okr(driver, slack, "ripple <#C0GROWTH|team-growth> 1.1 Our activation work sends them more trials")
        okr(
            driver,
            slack,
            "ripple depends <#C0ROCKET|team-rocket> 1.2 their 1.1 We need their activation numbers",
            user="U0BEN",
            channel="C0GROWTH",
        )
        wait_until(lambda: len(_ripples(db)) == 2 and all(r.notice_ts for r in _ripples(db)))

        start_reset(driver, slack, db)
        close_scoring(driver, slack, db)

        assert cycle_one(db).state is CycleState.CLOSED
        with db.read() as session:  # Growth's cycle runs on
            assert [c.state for c in session.scalars(select(Cycle).where(Cycle.team_id == growth_id))] == [
                CycleState.ACTIVE
            ]
        assert [(r.number, r.state, r.closed_by) for r in _ripples(db)] == [
            (1, RippleState.RESOLVED, None),
            (2, RippleState.RESOLVED, None),
        ]
        for channel in ("C0GROWTH", "C0ROCKET"):  # each notice, redrawn: no more Acknowledge or Reply
            [notice] = [m for m in slack.messages(channel) if re.match(r"^R\d+: ", m.get("text", ""))]
            assert "closed with its cycle" in flatten(notice) and "actions" not in {b["type"] for b in notice["blocks"]}
        listed = okr(driver, slack, "ripple list all", user="U0BEN", channel="C0GROWTH")
        assert listed.text.count("closed with its cycle") == 2
        again = okr(driver, slack, "ripple resolve 1", user="U0BEN", channel="C0GROWTH")
        assert "R1 closed with its cycle" in again.text


def _ripples(db) -> list[Ripple]:
    with db.read() as session:
        return list(session.scalars(select(Ripple).order_by(Ripple.number)))
