"""The 13-week reset end to end: the notice a week before, final scores by DM, the close, the retro and its
answers, the backlog back to "not now", the next cycle's prompt and carrying objectives forward."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from freezegun import freeze_time
from sqlalchemy import select

from bot.delivery.resets import NEXT_KIND, NOTICE_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from bot.rituals.reset import RETRO_PROMPTS
from storage.models import BacklogItem, Cycle, CycleState, Draft, EventLog, ItemState, RetroAnswer, SendClaim, Team
from tests.e2e.okr_support import add_backlog, commit, key_results, rockets, text_value
from tests.e2e.support import okr, row_counts, stays, wait_until
from tests.e2e.test_checkin_delivery import sweeper
from tests.helpers import flatten

ANCHOR = "2026-03-02"  # a Monday: cycle 1 is 2 Mar – 31 May 2026, cycle 2 starts 1 Jun


def _set_anchor(db, day: str = ANCHOR) -> None:
    with db.transaction() as session:
        team = session.scalars(select(Team)).one()
        team.cycle_anchor = datetime.fromisoformat(day).date()


def _cycles(db) -> list[Cycle]:
    with db.read() as session:
        return list(session.scalars(select(Cycle).order_by(Cycle.number)))


def _claims(db, kind: str) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind == kind)))


def _channel_texts(slack, channel: str = "C0ROCKET") -> list[str]:
    return [flatten(m) for m in slack.messages(channel)]


def test_a_cycle_resets_at_its_end_with_final_scores_a_retro_and_a_fresh_backlog(driver, slack, db, database_url):
    sweep = sweeper(slack, database_url, db)
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        rockets(driver, slack, members=("U0BEN", "U0CLEO"))
        _set_anchor(db)
        first = commit(db, title="New teams get value in their first week")
        ben_kr, cleo_kr = key_results(db, first)
        add_backlog(db, "Onboarding checklist", "Dark mode", "Faster exports")
        sweep.run(datetime.now(UTC))  # plans the calendar

        # a week before the end, the team hears what is coming; once
        clock.move_to("2026-05-25 00:30:00")
        sweep.run(datetime.now(UTC))
        sweep.run(datetime.now(UTC))
        notices = [t for t in _channel_texts(slack) if "ends on 2026-05-31" in t]
        assert len(notices) == 1 and "Final scores" in notices[0]
        assert len(_claims(db, NOTICE_KIND)) == 1

        # the end: the reset starts, owners are asked by DM
        clock.move_to("2026-06-01 00:05:00")
        report = sweep.run(datetime.now(UTC))
        assert report["reset_started"] == 1, report
        [cycle1] = _cycles(db)  # cycle 2 gets its row when someone drafts in it, or when cycle 1 closes
        assert cycle1.reset_started_at is not None and cycle1.state is CycleState.ACTIVE
        assert {c.claim_key for c in _claims(db, SCORES_KIND)} == {f"{cycle1.id}:U0BEN", f"{cycle1.id}:U0CLEO"}
        assert len(_claims(db, STARTED_KIND)) == 1
        dm = slack.messages(slack.dm_channel_id("U0BEN"))[-1]
        assert "final scores" in flatten(dm).lower()
        driver.open_home("U0CLEO")  # the Home asks too, in case the DM was missed
        home = wait_until(lambda: slack.home("U0CLEO"))
        assert "*Cycle 1 of Rockets is closing.* 1 of your key results needs a final score" in flatten(home)

        # Ben gives his final score through the form
        driver.click(user="U0BEN", action_id="final_scores_open", channel=dm["channel"], ts=dm["ts"])
        [view] = wait_until(lambda: slack.open_views("U0BEN"))
        values = {
            f"value:{ben_kr.id}": text_value("33"),
            f"score:{ben_kr.id}": text_value("0.8"),
            f"value:{cleo_kr.id}": text_value(""),
            f"score:{cleo_kr.id}": text_value(""),
        }
        result = driver.submit_view(
            view["id"], user="U0BEN", values={k: {"value": v["value"]} for k, v in values.items()}
        )
        assert result.status == 200, result.text

        # the window closes: the cycle closes, the retro and the next cycle's prompt are posted
        clock.move_to("2026-06-03 00:10:00")
        sweep.run(datetime.now(UTC))
        sweep.run(datetime.now(UTC))
        [cycle1, cycle2] = _cycles(db)
        assert cycle1.state is CycleState.CLOSED and cycle1.reset_done_at is not None
        assert cycle1.retro_ts is not None
        assert cycle2.state is CycleState.DRAFTING
        texts = _channel_texts(slack)
        retro = next(t for t in texts if "retro of cycle 1" in t)
        assert "0.80" in retro and "_(progress)_" in retro
        assert all(prompt in retro for prompt in RETRO_PROMPTS)
        assert any("*Cycle 2 of Rockets is open for drafting* (2026-06-01 to 2026-08-30)" in t for t in texts)
        with db.read() as session:
            states = Counter(i.state for i in session.scalars(select(BacklogItem)))
        assert states == {ItemState.NOT_NOW: 3}
        assert len(_claims(db, RETRO_KIND)) == 1 and len(_claims(db, NEXT_KIND)) == 1

        # answers in the retro's thread are kept with the cycle
        reply = slack.add_message("C0ROCKET", "U0CLEO", "2. Stop the Friday demo", thread_ts=cycle1.retro_ts)
        event = {
            "type": "message",
            "channel": "C0ROCKET",
            "user": "U0CLEO",
            "text": reply["text"],
            "ts": reply["ts"],
            "thread_ts": cycle1.retro_ts,
            "channel_type": "channel",
        }
        driver.event(event)
        driver.event(event, retry_num=1)  # Slack's retry of it

        def stored() -> list[RetroAnswer]:
            with db.read() as session:
                return session.scalars(select(RetroAnswer)).all()

        [answer] = wait_until(stored)
        stays(lambda: len(stored()) == 1)
        assert (answer.prompt, answer.text, answer.user_id) == (2, "Stop the Friday demo", "U0CLEO")

        # nothing more happens however often the sweep runs
        before = row_counts(db), len(slack.calls_to("chat.postMessage"))
        sweep.run(datetime.now(UTC))
        assert (row_counts(db), len(slack.calls_to("chat.postMessage"))) == before

        # a facilitator carries the objective forward
        prompt = next(m for m in slack.messages("C0ROCKET") if "open for drafting" in flatten(m))
        driver.click(user="U0ADA", action_id="carry_forward_open", channel="C0ROCKET", ts=prompt["ts"])
        [view] = wait_until(lambda: slack.open_views("U0ADA"))
        block = next(
            b["block_id"]
            for b in slack.view_payload(view["id"])["blocks"]
            if b.get("block_id", "").startswith("objective:")
        )
        picked = {block: {"value": {"type": "checkboxes", "selected_options": [{"value": "all"}]}}}
        assert driver.submit_view(view["id"], user="U0ADA", values=picked).status == 200
        with db.read() as session:
            [draft] = session.scalars(select(Draft)).all()
            events = session.scalars(select(EventLog.action).where(EventLog.entity == "cycle")).all()
        assert draft.carried_from_id == first and draft.author_user_id == "U0ADA"
        assert [kr["baseline"] for kr in draft.content["key_results"]] == ["33", "30"]
        assert list(events) == ["reset_started", "closed"]
        assert okr(driver, slack, "reset", user="U0ADA").ephemeral

        # the closed cycle's history: where each final score came from, and the retro's answers
        history = okr(driver, slack, "history 1", user="U0CLEO")
        assert "final, from <@U0BEN>" in history.text and "final, from its progress" in history.text
        assert "*Retro · What do we stop doing?*\n• <@U0CLEO> Stop the Friday demo" in history.text
        assert "· closed ·" in history.text
