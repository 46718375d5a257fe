"""A round interrupted after it closed (Slack failing, the process dying) is finished by the sweep, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.rituals import backlog, triage
from bot.scheduler import client_for
from bot.sweep import Sweeper
from storage.models import BacklogItem, ItemState, Round, RoundItem, RoundKind, Team, Vote
from tests.conftest import sandbox_settings
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import okr, shown, wait_until

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
