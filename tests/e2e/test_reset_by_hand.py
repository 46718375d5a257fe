"""The 13-week reset by hand, end to end: `/okr reset` and its buttons, closing scoring early, the final-score
form's refusals, answers in the retro's thread and form, and carrying objectives forward.

Team Rockets (#team-rocket) is created by Ada, its facilitator; Ben and Cleo own one key result each. Its first
cycle runs 2 March – 31 May 2026; the tests act in week 7 (15 April), well before the calendar's end.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from freezegun import freeze_time
from sqlalchemy import func, select

from bot.delivery.resets import NEXT_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from bot.rituals.cycles import team_span
from storage.models import (
    BacklogItem,
    Cycle,
    CycleState,
    Draft,
    EventLog,
    ItemState,
    KeyResult,
    RetroAnswer,
    SendClaim,
    Team,
)
from tests import factories
from tests.e2e.okr_support import add_backlog, commit, latest_ephemeral, rockets, text_value
from tests.e2e.support import assert_clean_error, okr, row_counts, shown, stays, submit_with_metadata, wait_until
from tests.e2e.test_checkin_delivery import sweeper
from tests.helpers import flatten

ANCHOR = date(2026, 3, 2)  # a Monday: cycle 1 is 2 Mar – 31 May 2026, cycle 2 starts 1 Jun
WEEK_7 = "2026-04-15 10:00:00"  # a Wednesday in week 7 of cycle 1
KEY_RESULTS = (
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
    {
        "metric": "Median minutes to first dashboard",
        "unit": "min",
        "baseline": 30,
        "target": 10,
        "direction": "decrease",
        "owner": "U0CLEO",
    },
)
CHANNEL = "C0ROCKET"


# set-up ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rockets:
    team_id: int
    objective_id: int
    ben_kr: int  # increase 20 → 35 %
    cleo_kr: int  # decrease 30 → 10 min


def set_up(driver, slack, db, clock, *, members=("U0BEN", "U0CLEO"), currents: dict[str, float] | None = None):
    """Rockets with its objective committed in cycle 1, then the clock in week 7. `currents`: a check-in per owner."""
    rockets(driver, slack, members=members)
    with db.transaction() as session:
        team = session.scalars(select(Team)).one()
        team.cycle_anchor = ANCHOR
        team_id = team.id
    objective_id = commit(db, key_results=KEY_RESULTS)
    with db.transaction() as session:
        krs = {kr.owner_user_id: kr for kr in session.scalars(select(KeyResult))}
        for owner, value in (currents or {}).items():
            factories.checkin(session, krs[owner], week_start=date(2026, 4, 6), value=value, confidence=2)
        ids = {owner: kr.id for owner, kr in krs.items()}
    clock.move_to(WEEK_7)
    return Rockets(team_id, objective_id, ids["U0BEN"], ids["U0CLEO"])


# reading the state ----------------------------------------------------------------------------------------------


def cycles(db) -> list[Cycle]:
    with db.read() as session:
        return list(session.scalars(select(Cycle).order_by(Cycle.number)))


def cycle_one(db) -> Cycle:
    with db.read() as session:
        return session.scalars(select(Cycle).where(Cycle.number == 1)).one()


def team_row(db) -> Team:
    with db.read() as session:
        return session.scalars(select(Team)).one()


def kr_row(db, kr_id: int) -> KeyResult:
    with db.read() as session:
        return session.get(KeyResult, kr_id)


def claims(db, kind: str) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind == kind)))


def cycle_events(db, action: str) -> list[EventLog]:
    with db.read() as session:
        query = select(EventLog).where(EventLog.entity == "cycle", EventLog.action == action)
        return list(session.scalars(query))


def answers(db) -> list[RetroAnswer]:
    with db.read() as session:
        return list(session.scalars(select(RetroAnswer).order_by(RetroAnswer.id)))


def channel_messages(slack, needle: str, channel: str = CHANNEL) -> list[dict]:
    return [m for m in slack.messages(channel) if needle in flatten(m)]


def button(message: dict, action_id: str) -> dict:
    for block in message.get("blocks") or []:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id")}
    raise AssertionError(f"no {action_id!r} button in {flatten(message)!r}")


# doing things ---------------------------------------------------------------------------------------------------


def answer_to(driver, slack, **click) -> str:
    """Click something and return the ephemeral answer the bot gave through the response_url."""
    before = len(slack.responses)
    result = driver.click(**click)
    assert result.status == 200, result.text
    return shown(slack.wait_for_response(count=before + 1)["body"])


def confirm_reset(driver, slack, user: str = "U0ADA") -> dict:
    """`/okr reset`: the ephemeral message it left (to click its buttons)."""
    reply = okr(driver, slack, "reset", user=user)
    assert reply.ephemeral, reply.body
    return latest_ephemeral(slack, user)


def start_reset(driver, slack, db) -> int:
    """Ada confirms `/okr reset`; returns cycle 1's id once both owners have their DM and the channel its notice."""
    message = confirm_reset(driver, slack)
    result = driver.click(user="U0ADA", action_id="reset_start", channel=CHANNEL, ts=message["ts"])
    assert result.status == 200, result.text
    wait_until(lambda: len([c for c in claims(db, SCORES_KIND) if c.message_ts]) == 2)
    wait_until(lambda: channel_messages(slack, "is closing"))
    return cycle_one(db).id


def close_scoring(driver, slack, db) -> Cycle:
    """Ada clicks "Close scoring now" on the channel's notice; the closed cycle once its retro and prompt are out."""
    [notice] = channel_messages(slack, "is closing")
    text = answer_to(driver, slack, user="U0ADA", action_id="reset_close_scoring", channel=CHANNEL, ts=notice["ts"])
    assert "Scoring of cycle 1 of *Rockets* is closed" in text, text
    wait_until(lambda: channel_messages(slack, "open for drafting"))
    return wait_until(lambda: (lambda c: c if c.retro_ts and c.reset_done_at else None)(cycle_one(db)))


def dm(slack, user: str) -> dict:
    [*_, message] = slack.messages(slack.dm_channel_id(user))
    return message


def open_form(driver, slack, *, user: str, channel: str, ts: str, action_id: str) -> dict:
    opened = len(slack.calls_to("views.open"))
    result = driver.click(user=user, action_id=action_id, channel=channel, ts=ts)
    assert result.status == 200, result.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    [*_, view] = slack.open_views(user)
    return slack.view_payload(view["id"])


# 1. who may reset ---------------------------------------------------------------------------------------------


def test_only_a_facilitator_may_reset_and_the_command_takes_no_arguments(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock, members=("U0BEN",))
        before = row_counts(db)

        reply = okr(driver, slack, "reset", user="U0BEN")
        assert_clean_error(reply, "Only a facilitator of *Rockets*")
        assert "reset_start" not in str(reply.body)

        reply = okr(driver, slack, "reset something", user="U0ADA")
        assert_clean_error(reply, "takes nothing after it", "/okr reset")
        assert "reset_start" not in str(reply.body)

        assert row_counts(db) == before
        assert cycle_one(db).reset_started_at is None


# 2. starting by hand ----------------------------------------------------------------------------------------------


def test_a_facilitator_starts_the_reset_once_and_stale_buttons_are_refused(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock)

        # the confirmation: the steps, and buttons naming the team and the cycle
        message = confirm_reset(driver, slack)
        text = shown(message)
        assert "Reset cycle 1 of Rockets now?" in text and "week 7 of 13" in text, text
        assert "1. Each key-result owner gets a DM" in text and '"not now"' in text, text
        assert "Cycle 2 opens for drafting; it starts on 2026-06-01" in text, text
        assert button(message, "reset_start")["value"] == f"{rockets_.team_id}:1"
        button(message, "reset_cancel")

        # cancel: the confirmation goes, nothing else happens
        before = row_counts(db)
        driver.click(user="U0ADA", action_id="reset_cancel", channel=CHANNEL, ts=message["ts"])
        wait_until(lambda: all(e["ts"] != message["ts"] for e in slack.ephemerals))
        assert row_counts(db) == before

        # out-of-date or forged buttons: a readable refusal, nothing written
        message = confirm_reset(driver, slack)
        before = row_counts(db)
        stale = {
            f"{rockets_.team_id}:2": "Cycle 2 is not the one to reset any more",
            f"{rockets_.team_id}:0": "Cycle 0 is not the one to reset any more",
            "garbage": "out of date",
            "": "out of date",
            f"{rockets_.team_id}:1:extra": "out of date",
            f"{rockets_.team_id + 999}:1": "That team no longer exists",
        }
        for value, needle in stale.items():
            text = answer_to(
                driver, slack, user="U0ADA", action_id="reset_start", channel=CHANNEL, ts=message["ts"], value=value
            )
            assert needle in text and "went wrong" not in text and "Traceback" not in text, (value, text)
        # Ben is not a facilitator: the real button does nothing for him either
        text = answer_to(driver, slack, user="U0BEN", action_id="reset_start", channel=CHANNEL, ts=message["ts"])
        assert "Only a facilitator" in text, text
        assert row_counts(db) == before
        assert cycle_one(db).reset_started_at is None and not slack.calls_to("conversations.open")

        # the real button, double-clicked: the reset starts once, owners get their DMs, the channel hears it
        answered = len(slack.responses)
        with ThreadPoolExecutor(2) as pool:
            clicks = list(
                pool.map(
                    lambda _: driver.click(user="U0ADA", action_id="reset_start", channel=CHANNEL, ts=message["ts"]),
                    range(2),
                )
            )
        assert [r.status for r in clicks] == [200, 200]
        slack.wait_for_response(count=answered + 2)
        for response in slack.responses[answered:]:
            text = shown(response["body"])
            assert "The reset of cycle 1 of *Rockets* has started" in text or "has started already" in text, text
        wait_until(lambda: len([c for c in claims(db, SCORES_KIND) if c.message_ts]) == 2)
        wait_until(lambda: channel_messages(slack, "is closing"))
        cycle = cycle_one(db)
        assert cycle.reset_started_at is not None and cycle.reset_by == "U0ADA"
        assert cycle.state is CycleState.ACTIVE
        assert {c.claim_key for c in claims(db, SCORES_KIND)} == {f"{cycle.id}:U0BEN", f"{cycle.id}:U0CLEO"}
        for owner in ("U0BEN", "U0CLEO"):
            assert "final scores" in flatten(dm(slack, owner)).lower()
        [notice] = channel_messages(slack, "is closing")
        assert "Started by <@U0ADA>" in flatten(notice)
        begun = next(e for e in slack.ephemerals if e["ts"] == message["ts"])  # the confirmation, replaced
        assert "The reset of cycle 1 of *Rockets* has started" in flatten(begun), flatten(begun)

        # clicking again (the button as it was) never starts it twice
        text = answer_to(
            driver,
            slack,
            user="U0ADA",
            action_id="reset_start",
            channel=CHANNEL,
            ts=message["ts"],
            block_id="reset_confirm",
            value=f"{rockets_.team_id}:1",
        )
        assert "The reset of cycle 1 has started already" in text, text

        # `/okr reset` now shows where scoring stands, with the button to close it
        message = confirm_reset(driver, slack)
        text = shown(message)
        assert "is under way: 0 of 2 key results have a final score" in text, text
        assert "<@U0BEN>" in text and "<@U0CLEO>" in text, text
        assert button(message, "reset_close_scoring")["value"] == str(cycle.id)
        assert "reset_start" not in str(message["blocks"])

        assert len(cycle_events(db, "reset_started")) == 1
        assert len(claims(db, STARTED_KIND)) == 1 and len(claims(db, SCORES_KIND)) == 2
        assert len(channel_messages(slack, "is closing")) == 1
        assert len(slack.messages(slack.dm_channel_id("U0BEN"))) == 1


# 3. closing scoring early -------------------------------------------------------------------------------------


def give_final_scores(driver, slack, *, user: str, kr_id: int, value: str, score: str) -> None:
    """The owner opens the form from their DM and saves one key result's final value and score."""
    message = dm(slack, user)
    view = open_form(
        driver, slack, user=user, channel=message["channel"], ts=message["ts"], action_id="final_scores_open"
    )
    result = driver.submit_view(view["id"], user=user, values=score_values(kr_id, value, score))
    assert result.status == 200 and not result.body, result.text


def score_values(kr_id: int, value: str | None, score: str | None) -> dict:
    return {f"value:{kr_id}": text_value(value), f"score:{kr_id}": text_value(score)}


def test_a_facilitator_closes_scoring_early_and_the_backlog_goes_back_to_not_now(driver, slack, db, database_url):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock, currents={"U0CLEO": 25})  # Cleo's progress: 0.25
        numbers = add_backlog(
            db, "Inbox idea", "Product item", "Discovery item", "Sprint item", "Done item", "Parked item"
        )
        states = dict(
            zip(
                numbers,
                (
                    ItemState.INBOX,
                    ItemState.PRODUCT,
                    ItemState.DISCOVERY,
                    ItemState.SPRINT,
                    ItemState.DONE,
                    ItemState.NOT_NOW,
                ),
                strict=True,
            )
        )
        with db.transaction() as session:
            for item in session.scalars(select(BacklogItem)):
                item.state = states[item.number]
        cycle_id = start_reset(driver, slack, db)
        give_final_scores(driver, slack, user="U0BEN", kr_id=rockets_.ben_kr, value="33", score="0.9")
        wait_until(lambda: kr_row(db, rockets_.ben_kr).final_by == "U0BEN")

        # Ben is not a facilitator: refused, the cycle stays open
        [notice] = channel_messages(slack, "is closing")
        before = row_counts(db)
        text = answer_to(driver, slack, user="U0BEN", action_id="reset_close_scoring", channel=CHANNEL, ts=notice["ts"])
        assert "Only a facilitator of *Rockets* can do that." in text, text
        for value, needle in (("abc", "out of date"), ("", "out of date"), (str(cycle_id + 999), "no longer exists")):
            text = answer_to(
                driver,
                slack,
                user="U0ADA",
                action_id="reset_close_scoring",
                channel=CHANNEL,
                ts=notice["ts"],
                value=value,
            )
            assert needle in text and "went wrong" not in text, (value, text)
        assert row_counts(db) == before
        assert cycle_one(db).state is CycleState.ACTIVE and cycle_one(db).closed_at is None

        # Ada closes it
        cycle = close_scoring(driver, slack, db)
        assert cycle.state is CycleState.CLOSED and cycle.closed_at is not None
        ben, cleo = kr_row(db, rockets_.ben_kr), kr_row(db, rockets_.cleo_kr)
        assert (ben.final_by, ben.final_value, ben.final_score) == ("U0BEN", 33, 0.9)
        assert (cleo.final_by, cleo.final_value, cleo.final_score) == (None, 25, 0.25)
        assert cleo.final_at is not None
        [closed] = cycle_events(db, "closed")
        assert closed.actor_user_id == "U0ADA" and closed.entity_id == cycle_id

        # the retro and the next cycle's prompt, once each, however often the sweep runs or Ada clicks
        text = answer_to(driver, slack, user="U0ADA", action_id="reset_close_scoring", channel=CHANNEL, ts=notice["ts"])
        assert "Cycle 1 of *Rockets* is closed already" in text, text
        sweeper(slack, database_url, db).run(datetime.now(UTC))
        [retro] = channel_messages(slack, "retro of cycle 1")
        assert "KR 1.1 Teams active after their first week — *0.90*\n" in flatten(retro), flatten(retro)
        assert "KR 1.2 Median minutes to first dashboard — *0.25* _(progress)_" in flatten(retro)
        [opened] = channel_messages(slack, "open for drafting")
        assert "*Cycle 2 of Rockets is open for drafting* (2026-06-01 to 2026-08-30)" in flatten(opened)
        assert len(claims(db, RETRO_KIND)) == 1 and len(claims(db, NEXT_KIND)) == 1
        assert len(cycle_events(db, "closed")) == 1 and len(cycle_events(db, "reset_started")) == 1

        # the backlog: everything not done is "not now", each move in the event log; done and parked untouched
        with db.read() as session:
            items = {item.number: item for item in session.scalars(select(BacklogItem))}
            moves = session.scalars(
                select(EventLog).where(
                    EventLog.entity_id.in_([i.id for i in items.values()]), EventLog.action == "moved"
                )
            ).all()
        assert {n: i.state for n, i in items.items()} == {
            numbers[0]: ItemState.NOT_NOW,
            numbers[1]: ItemState.NOT_NOW,
            numbers[2]: ItemState.NOT_NOW,
            numbers[3]: ItemState.NOT_NOW,
            numbers[4]: ItemState.DONE,
            numbers[5]: ItemState.NOT_NOW,
        }
        by_item = {m.entity_id: m for m in moves}
        assert len(moves) == 4 and set(by_item) == {items[n].id for n in numbers[:4]}
        for number, before_state in zip(numbers[:4], ("inbox", "product", "discovery", "sprint"), strict=True):
            move = by_item[items[number].id]
            assert move.data["from"] == before_state and move.data["to"] == "not_now"
            assert move.reason == "cycle 1 reset" and move.actor_user_id == "U0ADA"


# 4. the next cycle after an early reset ------------------------------------------------------------------------


def test_after_an_early_reset_the_team_works_in_the_next_cycle_and_the_calendar_does_not_reset_again(
    driver, slack, db, database_url
):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock)
        sweep = sweeper(slack, database_url, db)
        sweep.run(datetime.now(UTC))  # plans the calendar
        confirmation = confirm_reset(driver, slack)  # left on screen
        start_reset(driver, slack, db)
        close_scoring(driver, slack, db)

        team = team_row(db)
        assert team.closed_through == 1
        assert team_span(team, datetime.now(UTC)).number == 2

        listed = okr(driver, slack, "list", user="U0ADA").text
        assert "Rockets · cycle 2" in listed and "no committed OKRs this cycle yet" in listed, listed
        assert "Teams active after their first week" not in listed
        opened = len(slack.calls_to("views.open"))
        assert driver.command("draft", user="U0ADA", channel=CHANNEL).status == 200
        draft_view = slack.wait_for("views.open", count=opened + 1).response["view"]
        assert "cycle 2 (2026-06-01 to 2026-08-30)" in shown(draft_view)
        assert (
            "Cycle 2 of *Rockets* starts on 2026-06-01, so there is nothing to reset yet"
            in okr(driver, slack, "reset", user="U0ADA").text
        )

        # neither cycle 1 again (an old confirmation) nor cycle 2 before it starts can be reset
        before = row_counts(db)
        for value, needle in (
            (f"{rockets_.team_id}:1", "Cycle 1 is not the one to reset any more"),
            (f"{rockets_.team_id}:2", "Cycle 2 has not started yet (it starts on 2026-06-01)"),
        ):
            text = answer_to(
                driver,
                slack,
                user="U0ADA",
                action_id="reset_start",
                channel=CHANNEL,
                ts=confirmation["ts"],
                value=value,
            )
            assert needle in text, (value, text)
        assert row_counts(db) == before

        # the old key result takes no more check-ins
        assert_clean_error(okr(driver, slack, "checkin", user="U0BEN"), "don't own a key result")
        message = dm(slack, "U0BEN")
        before = row_counts(db)
        text = answer_to(
            driver,
            slack,
            user="U0BEN",
            action_id="checkin_open",
            channel=message["channel"],
            ts=message["ts"],
            block_id="checkin",
            value=str(rockets_.ben_kr),
        )
        assert "Cycle 1 of *Rockets* is closed, so its key results take no more check-ins" in text, text
        assert row_counts(db) == before

        # cycle 1's calendar week before its end, then its end: nothing more about cycle 1
        posted = len(slack.calls_to("chat.postMessage"))
        for moment in ("2026-05-25 00:30:00", "2026-06-01 00:05:00", "2026-06-01 00:10:00", "2026-06-03 00:10:00"):
            clock.move_to(moment)
            sweep.run(datetime.now(UTC))
        assert not channel_messages(slack, "ends on 2026-05-31")
        assert len(cycle_events(db, "reset_started")) == 1 and len(cycle_events(db, "closed")) == 1
        assert len(claims(db, STARTED_KIND)) == 1 and len(claims(db, SCORES_KIND)) == 2
        assert len(slack.calls_to("chat.postMessage")) == posted
        one, two = cycles(db)
        assert one.state is CycleState.CLOSED and two.state is CycleState.DRAFTING
        assert two.reset_started_at is None


# 5. the final-score form ----------------------------------------------------------------------------------------


def test_the_final_score_form_refuses_bad_input_and_saves_a_percentage(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock)
        start_reset(driver, slack, db)
        kr = rockets_.ben_kr
        message = dm(slack, "U0BEN")
        assert button(message, "final_scores_open")["value"] == str(cycle_one(db).id)
        view = open_form(
            driver, slack, user="U0BEN", channel=message["channel"], ts=message["ts"], action_id="final_scores_open"
        )
        inputs = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
        assert inputs == {f"value:{kr}", f"score:{kr}"}  # only Ben's key result

        bad = [
            ("abc", "0.5", f"value:{kr}", "final value should be a number"),
            ("", "1.5", f"score:{kr}", "from 0.0 to 1.0"),
            ("30", "-0.1", f"score:{kr}", "from 0.0 to 1.0"),
            ("30", "seventy", f"score:{kr}", "from 0.0 to 1.0"),
            ("30", "", f"score:{kr}", "give a score with the final value"),
            ("1" * 5000, "0.5", f"value:{kr}", "final value should be a number"),
            ("30", "0." + "5" * 4998, f"score:{kr}", "from 0.0 to 1.0"),
            ("🚀", "0.5", f"value:{kr}", "final value should be a number"),
            ("30", "🎯", f"score:{kr}", "from 0.0 to 1.0"),
        ]
        before = row_counts(db)
        for value, score, block, needle in bad:
            result = driver.submit_view(view["id"], user="U0BEN", values=score_values(kr, value, score))
            case = (value[:20], score[:20])
            assert result.status == 200, (case, result.text)
            assert result.json["response_action"] == "errors", (case, result.json)
            assert set(result.json["errors"]) == {block}, (case, result.json)
            assert needle in result.json["errors"][block] and "KR 1.1" in result.json["errors"][block], case
            row = kr_row(db, kr)
            assert (row.final_value, row.final_score, row.final_by, row.final_at) == (None, None, None, None), case
        assert row_counts(db) == before

        # "70%" is 0.7
        result = driver.submit_view(view["id"], user="U0BEN", values=score_values(kr, "31", "70%"))
        assert result.status == 200 and not result.body, result.text
        row = kr_row(db, kr)
        assert (row.final_value, row.final_score, row.final_by) == (31, 0.7, "U0BEN") and row.final_at is not None
        assert not slack.open_views("U0BEN")
        wait_until(lambda: "your final scores are saved" in flatten(slack.message(message["channel"], message["ts"])))
        assert cycle_one(db).state is CycleState.ACTIVE  # Cleo has not answered

        # Ada owns no key result: nothing to score
        opened = len(slack.calls_to("views.open"))
        text = answer_to(
            driver, slack, user="U0ADA", action_id="final_scores_open", channel=message["channel"], ts=message["ts"]
        )
        assert "You own no key result of cycle 1 of *Rockets*" in text, text
        assert len(slack.calls_to("views.open")) == opened

        # a form left open while scoring closes cannot change the final scores
        view = open_form(
            driver, slack, user="U0BEN", channel=message["channel"], ts=message["ts"], action_id="final_scores_open"
        )
        close_scoring(driver, slack, db)
        before = row_counts(db)
        result = driver.submit_view(view["id"], user="U0BEN", values=score_values(kr, "40", "0.2"))
        assert result.status == 200 and result.json["response_action"] == "update", result.text
        assert "Cycle 1 of *Rockets* is closed: its scores are final." in shown(result.json["view"])
        row = kr_row(db, kr)
        assert (row.final_value, row.final_score, row.final_by) == (31, 0.7, "U0BEN")
        assert row_counts(db) == before
        opened = len(slack.calls_to("views.open"))
        text = answer_to(
            driver, slack, user="U0BEN", action_id="final_scores_open", channel=message["channel"], ts=message["ts"]
        )
        assert "Cycle 1 of *Rockets* is closed: its scores are final." in text, text
        assert len(slack.calls_to("views.open")) == opened


def test_the_final_score_form_redraws_the_owners_own_dm_whatever_its_metadata_names(driver, slack, db):
    """The form's metadata names the cycle only; the DM shown again is the one the bot sent the person who saves."""
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock)
        start_reset(driver, slack, db)
        ben, cleo = dm(slack, "U0BEN"), dm(slack, "U0CLEO")
        view = open_form(
            driver, slack, user="U0BEN", channel=ben["channel"], ts=ben["ts"], action_id="final_scores_open"
        )
        metadata = json.loads(view["private_metadata"])
        assert metadata == {"cycle": cycle_one(db).id}
        updates = len(slack.calls_to("chat.update"))

        result = submit_with_metadata(
            driver,
            slack,
            view["id"],
            user="U0BEN",
            values=score_values(rockets_.ben_kr, "31", "0.7"),
            metadata={**metadata, "channel": cleo["channel"], "ts": cleo["ts"]},
        )

        assert result.status == 200 and not result.body, result.text
        wait_until(lambda: "your final scores are saved" in flatten(slack.message(ben["channel"], ben["ts"])))
        stays(lambda: len(slack.calls_to("chat.update")) == updates + 1)
        [update] = slack.calls_to("chat.update")[updates:]
        assert (update.args["channel"], update.args["ts"]) == (ben["channel"], ben["ts"])
        assert slack.message(cleo["channel"], cleo["ts"]) == cleo


# 6. answers in the retro's thread -------------------------------------------------------------------------------


def closed_cycle(driver, slack, db, clock, **kwargs) -> tuple[Rockets, Cycle]:
    rockets_ = set_up(driver, slack, db, clock, **kwargs)
    start_reset(driver, slack, db)
    return rockets_, close_scoring(driver, slack, db)


def reply_event(message: dict, **changes) -> dict:
    """The `message` event Slack sends for a message a person posted (see `slack.add_message`)."""
    event = {
        "type": "message",
        "channel": message["channel"],
        "user": message["user"],
        "text": message["text"],
        "ts": message["ts"],
        "channel_type": "channel",
    }
    if message.get("thread_ts"):
        event["thread_ts"] = message["thread_ts"]
    return {**event, **changes}


def stored(db) -> list[tuple[str, int | None, str, str | None]]:
    return [(a.user_id, a.prompt, a.text, a.message_ts) for a in answers(db)]


def test_replies_in_the_retro_thread_are_kept_once_edited_and_deleted_with_the_message(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        _, cycle = closed_cycle(driver, slack, db, clock)
        thread = cycle.retro_ts

        # a numbered reply, and Slack's retry of the same event
        first = slack.add_message(CHANNEL, "U0BEN", "1) We learned X", thread_ts=thread)
        assert driver.event(reply_event(first), event_id="EvRETRO1").status == 200
        assert driver.event(reply_event(first), event_id="EvRETRO1", retry_num=1).status == 200
        wait_until(lambda: answers(db))
        stays(lambda: len(answers(db)) == 1)
        assert stored(db) == [("U0BEN", 1, "We learned X", first["ts"])]
        assert answers(db)[0].cycle_id == cycle.id

        # no number: no prompt
        second = slack.add_message(CHANNEL, "U0CLEO", "Demos ran long", thread_ts=thread)
        driver.event(reply_event(second))
        wait_until(lambda: len(answers(db)) == 2)
        assert stored(db)[1] == ("U0CLEO", None, "Demos ran long", second["ts"])

        # an edit replaces the text (and the prompt it names)
        edited = {**reply_event(first, text="2. Stop the Friday demo"), "edited": {"user": "U0BEN", "ts": "1.0"}}
        edited.pop("channel_type")
        change = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": CHANNEL,
            "ts": slack.next_ts(),
            "message": edited,
            "previous_message": reply_event(first),
            "channel_type": "channel",
        }
        assert driver.event(change).status == 200
        wait_until(lambda: stored(db)[0] == ("U0BEN", 2, "Stop the Friday demo", first["ts"]))
        assert len(answers(db)) == 2

        # a deletion removes it
        deletion = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": CHANNEL,
            "ts": slack.next_ts(),
            "deleted_ts": second["ts"],
            "previous_message": reply_event(second),
            "channel_type": "channel",
        }
        assert driver.event(deletion).status == 200
        wait_until(lambda: len(answers(db)) == 1)
        assert stored(db) == [("U0BEN", 2, "Stop the Friday demo", first["ts"])]

        # ignored: a bot, another thread, the channel itself, and malformed events
        before = row_counts(db)
        [notice] = channel_messages(slack, "is closing")
        bot = slack.add_message(CHANNEL, "U0CLEO", "3. I am a bot", thread_ts=thread)
        elsewhere = slack.add_message(CHANNEL, "U0CLEO", "3. Wrong thread", thread_ts=notice["ts"])
        top = slack.add_message(CHANNEL, "U0CLEO", "3. Not in a thread")
        odd = slack.add_message(CHANNEL, "U0CLEO", "3. Odd", thread_ts=thread)
        ignored = [
            reply_event(bot, bot_id="B0OTHERBOT"),
            reply_event(elsewhere),
            reply_event(top),
            {k: v for k, v in reply_event(odd).items() if k != "ts"},
            reply_event(odd, channel={"id": CHANNEL}),
            reply_event(odd, thread_ts=["1.2"]),
            reply_event(odd, text=None),
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": CHANNEL,
                "ts": slack.next_ts(),
                "message": "not a message",
            },
            {"type": "message", "subtype": "message_deleted", "channel": CHANNEL, "ts": slack.next_ts()},
            {**reply_event(odd), "subtype": "channel_join"},
        ]
        for event in ignored:
            result = driver.event(event)
            assert result.status == 200, (event, result.text)
        # a last, good reply: once it is in, the ones sent before it have had their turn
        long = slack.add_message(CHANNEL, "U0CLEO", "x" * 10_000, thread_ts=thread)
        assert driver.event(reply_event(long)).status == 200
        wait_until(lambda: len(answers(db)) == 2)
        stays(lambda: len(answers(db)) == 2)
        assert stored(db) == [
            ("U0BEN", 2, "Stop the Friday demo", first["ts"]),
            ("U0CLEO", None, "x" * 3000, long["ts"]),
        ]
        # the one answer, and the mark that keeps Slack's retry of its event from applying it again
        assert row_counts(db) == {
            **before,
            "retro_answers": before["retro_answers"] + 1,
            "processed_events": before["processed_events"] + 1,
        }


def test_a_thread_reply_whose_channel_is_not_a_string_is_acked_and_ignored(driver, slack, db):
    # Bolt reads the payload's ids before it checks the signature, and a number where a channel id belongs makes
    # that raise: the signed event is acked and ignored (not a 500 Slack would retry), the unsigned one refused
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        _, cycle = closed_cycle(driver, slack, db, clock)
        reply = slack.add_message(CHANNEL, "U0CLEO", "3. Odd", thread_ts=cycle.retro_ts)
        before = row_counts(db)
        signed = driver.event(reply_event(reply, channel=12345))
        envelope = json.dumps({"type": "event_callback", "event": reply_event(reply, channel=12345)}).encode()
        unsigned = driver.send_raw(
            envelope,
            {
                "Content-Type": "application/json",
                "X-Slack-Signature": "v0=00",
                "X-Slack-Request-Timestamp": str(int(time.time())),
            },
        )
        assert (signed.status, unsigned.status) == (200, 401), (signed.text, unsigned.text)
        stays(lambda: row_counts(db) == before)


# 7. the retro form ----------------------------------------------------------------------------------------------


def retro_values(*texts: str | None) -> dict:
    return {f"prompt:{n}": text_value(text) for n, text in enumerate(texts, start=1)}


def test_the_retro_form_keeps_answers_and_posts_them_in_the_thread(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        slack.add_user("U0DAN", "dan", real_name="Dan Outsider", tz="Europe/London")
        _, cycle = closed_cycle(driver, slack, db, clock)
        [retro] = channel_messages(slack, "retro of cycle 1")
        assert button(retro, "retro_answer_open")["value"] == str(cycle.id)

        # not a member of Rockets: refused, no form
        opened = len(slack.calls_to("views.open"))
        text = answer_to(driver, slack, user="U0DAN", action_id="retro_answer_open", channel=CHANNEL, ts=retro["ts"])
        assert "You are not a member of *Rockets*" in text, text
        assert len(slack.calls_to("views.open")) == opened

        view = open_form(driver, slack, user="U0BEN", channel=CHANNEL, ts=retro["ts"], action_id="retro_answer_open")
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["prompt:1", "prompt:2", "prompt:3"]
        before = row_counts(db)
        for values in (retro_values(None, None, None), retro_values("", "  ", "\n")):
            result = driver.submit_view(view["id"], user="U0BEN", values=values)
            assert result.status == 200 and result.json["response_action"] == "errors", result.text
            assert result.json["errors"] == {"prompt:1": "Answer at least one of the prompts."}
        result = driver.submit_view(view["id"], user="U0BEN", values=retro_values("ok", "y" * 3001, None))
        assert result.status == 200 and set(result.json["errors"]) == {"prompt:2"}, result.text
        assert row_counts(db) == before

        posted = len(slack.calls_to("chat.postMessage"))
        values = retro_values("We learned to measure first", "Stop the Friday demo", "Yes: smaller bets")
        result = driver.submit_view(view["id"], user="U0BEN", values=values)
        assert result.status == 200 and not result.body, result.text
        assert stored(db) == [
            ("U0BEN", 1, "We learned to measure first", None),
            ("U0BEN", 2, "Stop the Friday demo", None),
            ("U0BEN", 3, "Yes: smaller bets", None),
        ]
        call = slack.wait_for("chat.postMessage", count=posted + 1)
        assert call.ok and call.args["channel"] == CHANNEL and call.args["thread_ts"] == cycle.retro_ts
        [reply] = [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == cycle.retro_ts != m["ts"]]
        text = flatten(reply)
        assert "<@U0BEN> answered in the retro form" in text and "*2. What do we stop doing?*" in text, text
        assert "Stop the Friday demo" in text and "Yes: smaller bets" in text


# 8. carrying forward --------------------------------------------------------------------------------------------


def carry(driver, slack, *, objective_id: int, ticked: list[str]):
    [prompt] = channel_messages(slack, "open for drafting")
    view = open_form(driver, slack, user="U0ADA", channel=CHANNEL, ts=prompt["ts"], action_id="carry_forward_open")
    block = f"objective:{objective_id}"
    assert block in {b.get("block_id") for b in view["blocks"]}
    values = {block: {"value": {"type": "checkboxes", "selected_options": [{"value": v} for v in ticked]}}}
    return view, driver.submit_view(view["id"], user="U0ADA", values=values)


def drafts(db) -> list[Draft]:
    with db.read() as session:
        return list(session.scalars(select(Draft).order_by(Draft.id)))


def test_carrying_forward_copies_what_was_picked_once(driver, slack, db):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets_ = set_up(driver, slack, db, clock, currents={"U0CLEO": 22})
        start_reset(driver, slack, db)
        give_final_scores(driver, slack, user="U0CLEO", kr_id=rockets_.cleo_kr, value="18", score="0.6")
        wait_until(lambda: kr_row(db, rockets_.cleo_kr).final_by == "U0CLEO")
        close_scoring(driver, slack, db)
        [prompt] = channel_messages(slack, "open for drafting")
        assert button(prompt, "carry_forward_open")["value"] == str(cycle_one(db).id)

        # Ben is not a facilitator
        opened = len(slack.calls_to("views.open"))
        text = answer_to(driver, slack, user="U0BEN", action_id="carry_forward_open", channel=CHANNEL, ts=prompt["ts"])
        assert "Only a facilitator of *Rockets* can do that." in text, text
        assert len(slack.calls_to("views.open")) == opened

        # nothing ticked
        before = row_counts(db)
        view, result = carry(driver, slack, objective_id=rockets_.objective_id, ticked=[])
        assert result.status == 200 and result.json["response_action"] == "errors", result.text
        assert set(result.json["errors"]) == {f"objective:{rockets_.objective_id}"}
        assert row_counts(db) == before
        driver.close_view(view["id"], user="U0ADA")

        # only Cleo's key result: it starts where it ended (her final value), target and owner kept
        posted = len(slack.calls_to("chat.postMessage"))
        _, result = carry(driver, slack, objective_id=rockets_.objective_id, ticked=[f"kr:{rockets_.cleo_kr}"])
        assert result.status == 200 and not result.body, result.text
        [draft] = drafts(db)
        assert draft.carried_from_id == rockets_.objective_id and draft.author_user_id == "U0ADA"
        assert draft.content["title"] == "New teams get value in their first week"
        assert draft.content["key_results"] == [
            {
                "metric": "Median minutes to first dashboard",
                "unit": "min",
                "baseline": "18",
                "target": "10",
                "direction": "decrease",
                "owner": "U0CLEO",
            },
        ]
        call = slack.wait_for("chat.postMessage", count=posted + 1)
        assert "<@U0ADA> carried O1 New teams get value in their first week forward from cycle 1" in flatten(
            slack.message(CHANNEL, call.response["ts"])
        )

        # the same objective again: nothing new, and the channel is told why
        _, result = carry(driver, slack, objective_id=rockets_.objective_id, ticked=["all"])
        assert result.status == 200 and not result.body, result.text
        call = slack.wait_for("chat.postMessage", count=posted + 2)
        text = flatten(slack.message(CHANNEL, call.response["ts"]))
        assert "Nothing new was carried forward" in text and "Carried before, so not again: O1" in text, text
        assert [(d.id, d.content) for d in drafts(db)] == [(draft.id, draft.content)]
        with db.read() as session:
            carried = session.scalar(
                select(func.count()).select_from(EventLog).where(EventLog.action == "carried_forward")
            )
        assert carried == 1
