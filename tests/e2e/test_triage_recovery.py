"""A round interrupted after it closed (Slack failing, the process dying) is finished by the sweep, once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import delete, select

import handlers.reactions
from bot.delivery.rounds import HEADER_KIND, ITEM_KIND, SUMMARY_KIND, RoundsInSlack
from bot.rituals import backlog, triage
from bot.scheduler import client_for
from bot.sweep import Sweeper
from storage.models import BacklogItem, ClaimState, ItemState, Round, RoundItem, RoundKind, SendClaim, Team, Vote
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import add_backlog, commit, posted_round, rockets
from tests.e2e.support import assert_clean_error, okr, row_counts, shown, stays, wait_until
from tests.e2e.test_triage import (
    CHANNEL,
    actions,
    item_posts,
    message_text,
    round_report,
    start,
    the_round,
    triage_team,
)

pytestmark = pytest.mark.usefixtures("bot")

TEXTS = ("Shorter sign-up form", "Dark mode", "Onboarding checklist")


@pytest.fixture
def sweep(slack, db, database_url):
    return Sweeper(db, client_for(sandbox_settings(slack, database_url), db), worker="test").run


@pytest.fixture
def open_triage(driver, slack, db) -> list[RoundItem]:
    """Rockets with committed OKRs, three inbox items put to a triage, every item posted, Ben voting ✅ on #1."""
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    commit(db)
    with db.transaction() as session:
        team = session.scalars(select(Team)).one()
        backlog.add_items(session, team=team, texts=list(TEXTS), user_id="U0BEN", now=datetime.now(UTC), via="test")
    okr(driver, slack, "triage start")
    entries = wait_until(lambda: _posted(db))
    driver.react("U0BEN", "C0ROCKET", entries[0].message_ts, "white_check_mark")
    wait_until(lambda: _count(db, Vote) == 1)
    return entries


def _posted(db) -> list[RoundItem] | None:
    with db.read() as session:
        entries = session.scalars(select(RoundItem).order_by(RoundItem.position)).all()
    return list(entries) if entries and all(e.message_ts for e in entries) else None


def _count(db, model) -> int:
    with db.read() as session:
        return session.query(model).count()


def _summaries(slack) -> list[dict]:
    return [m for m in slack.messages("C0ROCKET") if "Triage closed" in shown(m)]


def _states(db) -> dict[str, ItemState]:
    with db.read() as session:
        return {item.text: item.state for item in session.scalars(select(BacklogItem))}


def test_slack_failing_after_the_close_leaves_the_rest_to_the_sweep(driver, slack, db, open_triage, sweep):
    slack.fail_next("chat.postMessage", "internal_error", status=500, times=5)  # the summary cannot go out
    okr(driver, slack, "triage close")

    assert _states(db) == {TEXTS[0]: ItemState.PRODUCT, TEXTS[1]: ItemState.NOT_NOW, TEXTS[2]: ItemState.NOT_NOW}
    assert _summaries(slack) == []
    with db.read() as session:
        assert session.scalars(select(Round)).one().finished_at is None

    slack.clear_faults()
    later = datetime.now(UTC) + timedelta(minutes=11)  # past the lease of a claim whose answer was lost
    report = sweep(later)
    assert report["round_finished:finished"] == 1, report
    assert len(_summaries(slack)) == 1
    assert "Decided" in shown(slack.message("C0ROCKET", open_triage[0].message_ts))
    assert sweep(later + timedelta(minutes=1))["round_finished:finished"] == 0
    assert len(_summaries(slack)) == 1
    assert _states(db)[TEXTS[0]] is ItemState.PRODUCT  # moved once, not again


def test_a_process_dying_between_the_close_and_the_summary(driver, slack, db, open_triage, sweep):
    with db.transaction() as session:  # what `/okr triage close` commits before it talks to Slack
        round_id = session.scalars(select(Round.id)).one()
        assert triage.close_round(session, round_id=round_id, user_id="U0ADA", now=datetime.now(UTC)) is not None
    # the process dies here: nothing was told
    assert _summaries(slack) == []

    report = sweep(datetime.now(UTC))
    assert report["round_finished:finished"] == 1, report
    assert len(_summaries(slack)) == 1 and "by <@U0ADA>" in shown(_summaries(slack)[0])
    assert all("Decided" in shown(slack.message("C0ROCKET", e.message_ts)) for e in open_triage)
    header = next(m for m in slack.messages("C0ROCKET") if "Triage · Rockets" in shown(m))
    assert "Closed" in shown(header)

    again = okr(driver, slack, "triage close")  # nothing is open any more
    assert "No triage is open" in again.text
    assert len(_summaries(slack)) == 1


def test_two_sweeps_at_the_deadline_close_it_once(driver, slack, db, open_triage, sweep):
    from concurrent.futures import ThreadPoolExecutor

    with db.read() as session:
        closes_at = session.scalars(select(Round)).one().closes_at
    after = closes_at + timedelta(minutes=1)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(sweep, [after, after]))

    assert sum(r["round_closed"] for r in reports) == 1, reports
    assert len(_summaries(slack)) == 1 and "at its deadline" in shown(_summaries(slack)[0])
    assert _states(db)[TEXTS[0]] is ItemState.PRODUCT
    with db.read() as session:
        assert session.scalars(select(Round)).one().kind is RoundKind.TRIAGE


# what can go wrong while a round is posted, closed and finished --------------------------------------------------


@pytest.fixture
def quick_tallies(monkeypatch):
    """Item messages are redrawn 0.1 s after a vote (not 2 s), so a test can wait for that before its next step."""
    monkeypatch.setattr(handlers.reactions, "TALLY_DELAY", 0.1)


@pytest.fixture
def settled_triage(quick_tallies, open_triage, db) -> list[RoundItem]:
    """`open_triage` once Ben's vote is drawn: no redraw is still to come in the background."""
    wait_until(lambda: _drawn(db))
    return open_triage


@pytest.fixture
def no_tally_redraws(monkeypatch):
    """Votes are recorded but this process never redraws their tally (as if another replica took them and died)."""
    monkeypatch.setattr("bot.debounce.Debouncer.call", lambda self, key, action: None)


def _drawn(db) -> bool:
    with db.read() as session:
        return all(e.shown_version == e.votes_version for e in session.scalars(select(RoundItem)))


def _close_behind_the_bots_back(db) -> int:
    """What `/okr triage close` commits before it talks to Slack, done by another process (that then dies)."""
    with db.transaction() as session:
        round_id = session.scalars(select(Round.id)).one()
        assert triage.close_round(session, round_id=round_id, user_id="U0ADA", now=datetime.now(UTC)) is not None
    return round_id


def _message_ts(db, position: int) -> str | None:
    with db.read() as session:
        return session.scalars(select(RoundItem.message_ts).where(RoundItem.position == position)).one_or_none()


def _round_claims(db) -> int:
    with db.read() as session:
        kinds = (HEADER_KIND, ITEM_KIND, SUMMARY_KIND)
        return len(session.scalars(select(SendClaim.id).where(SendClaim.kind.in_(kinds))).all())


def _claim(db, kind: str) -> SendClaim:
    with db.read() as session:
        return session.scalars(select(SendClaim).where(SendClaim.kind == kind)).one()


def _updates(slack, ts: str) -> int:
    return len([c for c in slack.calls_to("chat.update") if c.args.get("ts") == ts])


def _in_background(work) -> tuple[threading.Thread, dict]:
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(result=work()))
    thread.start()
    return thread, done


def test_a_round_closed_while_its_items_are_posted_posts_no_more_of_them(driver, slack, db, sweep):
    triage_team(driver, slack, db, "Item 1", "Item 2", "Item 3")
    slack.hold_next("chat.postMessage", 0)  # the header
    slack.hold_next("chat.postMessage", 1.0)  # item 1: Slack posts it and sits on the answer
    okr(driver, slack, "triage start")
    slack.wait_for("chat.postMessage", count=2)
    round_id = _close_behind_the_bots_back(db)  # a facilitator closes it meanwhile, from another replica

    wait_until(lambda: _message_ts(db, 1))  # item 1's answer came: the bot goes on with the thread, or not
    stays(lambda: not item_posts(slack, 2) and not item_posts(slack, 3), duration=0.5)
    assert round_report(sweep(datetime.now(UTC) + timedelta(minutes=1))) == {"round_finished:finished": 1}
    assert not item_posts(slack, 2) and not item_posts(slack, 3)  # nobody could vote on them: they stay unposted
    assert [_message_ts(db, 2), _message_ts(db, 3)] == [None, None]
    assert the_round(db, round_id).finished_at is not None


def test_an_item_taken_out_of_the_round_while_it_posts_does_not_stop_the_others(driver, slack, db):
    triage_team(driver, slack, db, "Item 1", "Item 2", "Item 3")
    slack.hold_next("chat.postMessage", 0)  # the header
    slack.hold_next("chat.postMessage", 1.0)  # item 1
    okr(driver, slack, "triage start")
    slack.wait_for("chat.postMessage", count=2)
    with db.transaction() as session:
        session.execute(delete(RoundItem).where(RoundItem.position == 2))

    wait_until(lambda: _message_ts(db, 3))  # item 2 is no more; item 3 still goes out
    assert not item_posts(slack, 2) and len(item_posts(slack, 3)) == 1


def test_a_bot_not_in_its_public_team_channel_joins_it_and_starts(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"), bot_is_member=False)
    joins = len(slack.calls_to("conversations.join"))  # `/okr team create` joined it, and someone removed the bot

    reply, posted = start(driver, slack, db)
    assert "Triage started" in reply.text, reply.text
    assert [c.args.get("channel") for c in slack.calls_to("conversations.join")[joins:]] == [CHANNEL]
    assert slack.workspace().bot_user_id in slack.channel(CHANNEL)["members"]
    assert len(posted.items) == 1 and len(item_posts(slack, 1)) == 1
    header = message_text(slack, posted.header_ts)
    assert "KR 1.1" in header and "Not on this ballot" not in header


def test_a_bot_slack_will_not_let_join_asks_to_be_invited_and_starts_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"), bot_is_member=False)
    slack.fail_next("conversations.join", "restricted_action")  # the workspace lets no app join by itself
    before, joins = row_counts(db), len(slack.calls_to("conversations.join"))

    refused = okr(driver, slack, "triage start")
    assert_clean_error(refused, "could not post in <#C0ROCKET>", "not_in_channel", "/invite", "/okr triage start")
    assert len(slack.calls_to("conversations.join")) == joins + 1
    assert row_counts(db) == before
    assert not actions(db, "put_to_vote")


def test_a_header_slack_refuses_for_any_reason_starts_nothing(driver, slack, db):
    triage_team(driver, slack, db, "Dark mode")
    before = row_counts(db)
    slack.fail_next("chat.postMessage", "invalid_blocks")

    refused = okr(driver, slack, "triage start")
    assert_clean_error(refused, "could not post in <#C0ROCKET> (invalid_blocks), so nothing was started")
    assert row_counts(db) == before  # no round, no items put to the vote, no claim left behind
    assert not actions(db, "put_to_vote")
    reply, posted = start(driver, slack, db)  # Slack takes it the next time
    assert "Triage started" in reply.text and len(posted.items) == 1


def test_the_sweep_withdraws_a_round_whose_header_slack_refused_for_good(driver, slack, db, sweep):
    triage_team(driver, slack, db, "Dark mode")
    slack.fail_next("chat.postMessage", "internal_error", status=500)  # the header's answer is lost
    reply = okr(driver, slack, "triage start")
    assert "Triage started" in reply.text, reply.text  # the sweep looks into it
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"), is_archived=True)

    report = round_report(sweep(datetime.now(UTC) + timedelta(minutes=1)))
    assert report == {"round_withdrawn": 1}, report
    assert _count(db, Round) == 0 and _count(db, RoundItem) == 0 and _round_claims(db) == 0
    assert not actions(db, "put_to_vote")
    # Ada was told it had started: she is told, once, that it did not
    (told,) = slack.messages(slack.dm_channel_id("U0ADA"))
    assert "could not start" in shown(told) and "`is_archived`" in shown(told), shown(told)
    assert round_report(sweep(datetime.now(UTC) + timedelta(minutes=2))) == {}
    assert len(slack.messages(slack.dm_channel_id("U0ADA"))) == 1


def test_a_withdrawal_waits_until_its_starter_can_be_told(driver, slack, db, sweep):
    triage_team(driver, slack, db, "Dark mode")
    slack.fail_next("chat.postMessage", "internal_error", status=500)  # the header's answer is lost
    okr(driver, slack, "triage start")
    slack.add_channel(CHANNEL, "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"), is_archived=True)
    slack.fail_next("conversations.open", "internal_error", status=500)  # Slack fails the DM for now

    assert round_report(sweep(datetime.now(UTC) + timedelta(minutes=1))) == {"round_withdraw_retry": 1}
    assert _count(db, Round) == 1 and not slack.messages(slack.dm_channel_id("U0ADA"))

    assert round_report(sweep(datetime.now(UTC) + timedelta(minutes=8))) == {"round_withdrawn": 1}
    assert _count(db, Round) == 0
    (told,) = slack.messages(slack.dm_channel_id("U0ADA"))
    assert "could not start" in shown(told), shown(told)


def test_a_round_left_open_after_slack_refused_its_header_is_withdrawn_by_the_sweep(
    driver, slack, db, sweep, monkeypatch
):
    triage_team(driver, slack, db, "Dark mode")
    monkeypatch.setattr(RoundsInSlack, "withdraw", lambda self, round_id: None)  # the process dies first
    slack.fail_next("chat.postMessage", "is_archived")
    assert_clean_error(okr(driver, slack, "triage start"), "could not post in <#C0ROCKET>")
    monkeypatch.undo()
    assert _claim(db, HEADER_KIND).state is ClaimState.FAILED and _count(db, Round) == 1

    assert round_report(sweep(datetime.now(UTC))) == {"round_withdrawn": 1}
    assert _count(db, Round) == 0 and _round_claims(db) == 0
    reply, posted = start(driver, slack, db)  # nothing stands in the way of the next one
    assert "Triage started" in reply.text and len(posted.items) == 1


def _delete_message(slack, ts: str) -> None:
    """Someone deletes a round item's message in Slack."""
    WebClient(base_url=slack.api_url, token=slack.workspace().bot_token).chat_delete(channel=CHANNEL, ts=ts)


@pytest.mark.parametrize("refusal", ["message deleted", "cant_update_message"])
def test_a_message_slack_will_not_redraw_does_not_hold_the_round_up(driver, slack, db, settled_triage, sweep, refusal):
    first, second, third = (e.message_ts for e in settled_triage)
    if refusal == "message deleted":
        _delete_message(slack, second)
    else:
        slack.fail_share("chat.update", 1.0, error=refusal, status=200)  # every redraw, for good

    closed = okr(driver, slack, "triage close")
    assert "1 to the product backlog" in closed.text, closed.text
    with db.read() as session:
        assert session.scalars(select(Round)).one().finished_at is not None
    assert len(_summaries(slack)) == 1
    if refusal == "message deleted":
        assert all("Decided" in shown(slack.message(CHANNEL, ts)) for ts in (first, third))
        header = next(m for m in slack.messages(CHANNEL) if "Triage · Rockets" in shown(m))
        assert "Closed" in shown(header)
    updates = len(slack.calls_to("chat.update"))
    assert round_report(sweep(datetime.now(UTC) + timedelta(minutes=1))) == {}
    assert len(slack.calls_to("chat.update")) == updates  # nothing tried again


def test_finishing_again_redraws_only_the_messages_that_do_not_show_their_decision(slack, db, settled_triage, sweep):
    first, second, third = (e.message_ts for e in settled_triage)
    _close_behind_the_bots_back(db)
    before, drawn = len(slack.calls_to("chat.update")), _updates(slack, first)
    slack.hold_next("chat.update", 0.5)  # item 1's redraw is done at once, its answer is slow

    thread, done = _in_background(lambda: sweep(datetime.now(UTC)))
    slack.wait_for("chat.update", lambda c: c.args.get("ts") == first, count=drawn + 1)
    slack.fail_next("chat.update", "internal_error", status=500)  # then Slack fails item 2's redraw
    thread.join(10)
    assert round_report(done["result"]) == {"round_finished:retry": 1}, done

    report = round_report(sweep(datetime.now(UTC) + timedelta(minutes=1)))
    assert report == {"round_finished:finished": 1}, report
    redrawn = Counter(c.args.get("ts") for c in slack.calls_to("chat.update")[before:])
    assert (redrawn[first], redrawn[second], redrawn[third]) == (1, 2, 1), redrawn  # item 1 was not redrawn again
    assert all("Decided" in shown(slack.message(CHANNEL, ts)) for ts in (first, second, third))
    assert len(_summaries(slack)) == 1


def test_one_round_failing_in_the_sweep_does_not_stop_the_others(
    driver, slack, db, open_triage, sweep, monkeypatch, caplog
):
    add_backlog(db, "Export to CSV", key_result="1.1")
    okr(driver, slack, "sprint start")
    sprint = posted_round(db, RoundKind.SPRINT)
    with db.transaction() as session:  # the sprint pick is closed; the process died before telling it
        assert triage.close_round(session, round_id=sprint.id, user_id="U0ADA", now=datetime.now(UTC))
    with db.read() as session:
        deadline = session.scalars(select(Round.closes_at).where(Round.kind == RoundKind.TRIAGE)).one()

    def broken(self, round_id, **kwargs):
        raise RuntimeError("the triage cannot be closed")

    monkeypatch.setattr(RoundsInSlack, "close", broken)
    report = round_report(sweep(deadline + timedelta(minutes=1)))  # the triage is due first, and fails
    assert report == {"round_error": 1, "round_finished:finished": 1}, report
    assert the_round(db, sprint.id).finished_at is not None
    assert "sweeping a round failed" in caplog.text and "the triage cannot be closed" in caplog.text


class LateSweep:
    """Stands in for `time` in bot/sweep.py: the sweep gets to the rounds five minutes after it began (its DMs
    went out slowly), by its own monotonic clock."""

    def __init__(self) -> None:
        self.calls = 0

    def monotonic(self) -> float:
        self.calls += 1
        return time.monotonic() + (0 if self.calls == 1 else 300)

    def __getattr__(self, name: str):
        return getattr(time, name)


def test_the_sweep_stamps_a_rounds_claims_with_the_time_it_takes_them(driver, slack, db, sweep, monkeypatch):
    triage_team(driver, slack, db, "Item 1", "Item 2")
    slack.hold_next("chat.postMessage", 1.0)  # the header's answer is slow…
    thread, _ = _in_background(lambda: okr(driver, slack, "triage start"))
    slack.wait_for("chat.postMessage")
    slack.fail_next("chat.postMessage", "internal_error", status=500)  # …and item 1's is lost
    thread.join(10)
    wait_until(lambda: _message_ts(db, 2))
    assert _message_ts(db, 1) is None

    began = datetime.now(UTC) + timedelta(minutes=1)
    monkeypatch.setattr("bot.sweep.time", LateSweep())
    assert round_report(sweep(began)) == {"round_posted:sent": 1}  # item 1 is posted by the sweep
    with db.read() as session:
        entry_id = session.scalars(select(RoundItem.id).where(RoundItem.position == 1)).one()
        posted = session.scalars(
            select(SendClaim).where(SendClaim.kind == ITEM_KIND, SendClaim.claim_key == str(entry_id))
        ).one()
    assert posted.state is ClaimState.SENT
    assert began + timedelta(minutes=5) <= posted.claimed_at < began + timedelta(minutes=6), posted.claimed_at

    _close_behind_the_bots_back(db)
    began += timedelta(minutes=1)
    monkeypatch.setattr("bot.sweep.time", LateSweep())
    assert round_report(sweep(began)) == {"round_finished:finished": 1}
    told = _claim(db, SUMMARY_KIND)
    assert began + timedelta(minutes=5) <= told.claimed_at < began + timedelta(minutes=6), told.claimed_at


def test_votes_that_come_while_a_tally_is_redrawn_are_drawn_too(
    no_tally_redraws, driver, slack, db, open_triage, sweep
):
    ts = open_triage[0].message_ts  # Ben's ✅ is recorded, not drawn yet
    assert "no votes yet" in shown(slack.message(CHANNEL, ts))
    slack.hold_next("chat.update", 1.5)  # the sweep draws it; Slack's answer is slow
    drawn = _updates(slack, ts)

    thread, done = _in_background(lambda: sweep(datetime.now(UTC)))
    slack.wait_for("chat.update", lambda c: c.args.get("ts") == ts, count=drawn + 1)
    assert driver.react("U0CLEO", CHANNEL, ts, "white_check_mark").status == 200  # meanwhile Cleo votes too
    wait_until(lambda: _count(db, Vote) == 2)
    assert thread.is_alive()  # the vote came while the redraw was under way
    thread.join(10)

    assert done["result"]["tally_redrawn"] == 1, done
    assert ":white_check_mark: 2" in shown(slack.message(CHANNEL, ts))
    assert _drawn(db)


def test_a_triage_header_names_the_key_results_past_the_tenth(driver, slack, db):
    rockets(driver, slack, members=("U0BEN",))
    for objective, count in ((1, 5), (2, 5), (3, 2)):  # twelve key results; the number emoji stop at ten
        metrics = [
            {"metric": f"Metric {objective}.{n}", "unit": "%", "baseline": 1, "target": 2} for n in range(1, count + 1)
        ]
        commit(db, title=f"Objective {objective}", key_results=metrics)
    add_backlog(db, "Dark mode")

    _, posted = start(driver, slack, db)
    header = message_text(slack, posted.header_ts)
    assert ":one: KR 1.1 · Metric 1.1" in header and ":keycap_ten: KR 2.5 · Metric 2.5" in header, header
    assert "KR 3.1" not in header, header
    assert "Not on this ballot: 3.1, 3.2 — vote :white_check_mark: and say which in the thread." in header, header
