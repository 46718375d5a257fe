"""Slack posts a message and its answer is lost (a 5xx, a dropped connection): the message is still posted once,
whichever path sent it, through signed HTTP into the real bot and the sandbox Slack.

A listener gets the request's client, which retries 5xx answers; a message meant to go out once is never sent
with it. Claimed sends (a ripple's notice, the reset's messages) are given back after a lost answer and the
sweep looks in Slack before posting again; an announcement that one event causes (a person joined a team, a
team's settings changed) is read back at once and posted again only when Slack has none.

1. `/okr ripple` whose notice is posted but answered 500: one notice, found by the sweep.
2. `/okr team join` from another channel, and the settings form: one announcement through a lost answer or a
   5xx; none rather than two when Slack cannot be read back.
3. The reset confirmed (the closing message, each owner's final-score DM) and "Close scoring now" (the retro,
   the next cycle's prompt) with every answer lost: each message once.
4. A storm: 30 % 429s, then 30 % 5xx, and 30 % of the answers lost throughout, over 8 ripples and 8 joins: 8
   notices and 8 join announcements.
5. What a click, a form or a command posts, each answer lost: a draft shared and committed, an objective
   revised, a reply to a ripple (in the notice's thread and to the declaring team), `/okr digest post`, and the
   files `/okr export` shares in a DM. Each is posted once, found again by reading the channel (or the thread)
   back, and its ts is the one kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.delivery import LEASE
from bot.delivery.resets import NEXT_KIND, RETRO_KIND, SCORES_KIND, STARTED_KIND
from bot.sandbox import FakeSlack, SlackDriver
from storage.db import Database
from storage.models import ClaimState, Cycle, Ripple, SendClaim, Team
from tests.e2e.okr_support import commit, objective_values, open_from_list, rockets, text_value
from tests.e2e.support import (
    Reply,
    create_team,
    join_team,
    modal_values,
    okr,
    open_settings,
    shown,
    stays,
    wait_until,
)
from tests.e2e.test_checkin_delivery import sweeper
from tests.e2e.test_drafting import full_draft, press, share, the_draft
from tests.e2e.test_reset_by_hand import CHANNEL, answer_to, channel_messages, confirm_reset, dm, set_up, start_reset
from tests.e2e.test_ripples import (
    GROWTH,
    MINUTE,
    NOTE,
    click,
    declared,
    notice_claims,
    notice_posts,
    notices,
    open_view,
    submit,
    two_teams,
)

GENERAL = "C0GENERAL"


def pause_checkins(db: Database) -> None:
    """No check-in DM is due when these tests sweep: the sweep's only work is what they left it."""
    with db.transaction() as session:
        for team in session.scalars(select(Team)):
            team.checkins_paused = True


def sweep_until(slack: FakeSlack, database_url: str, db: Database, done: Callable[[], bool], *, rounds: int = 6):
    """Sweep until `done`, a lease apart: a claim a listener still held at one sweep is taken over at the next."""
    sweep, now = sweeper(slack, database_url, db), datetime.now(UTC)
    reports = []
    for _ in range(rounds):
        reports.append(sweep.run(now))
        if done():
            return reports
        now += LEASE + MINUTE
    raise AssertionError(f"not done after {rounds} sweeps: {reports}")


def claims(db: Database, kind: str) -> list[SendClaim]:
    with db.read() as session:
        return list(session.scalars(select(SendClaim).where(SendClaim.kind == kind).order_by(SendClaim.id)))


def posts_to(slack: FakeSlack, channel: str) -> list:
    """chat.postMessage calls to `channel`, each as Slack answered it (a lost answer shows as the 200 it was)."""
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]


# 1. a ripple's notice ---------------------------------------------------------------------------------------------


def test_a_ripple_notice_slack_posted_without_a_good_answer_is_posted_once(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    pause_checkins(db)
    slack.lose_answer_next("chat.postMessage")  # Slack posts the notice; the bot hears a 500

    reply = declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")

    # not told "told": the bot cannot know; it does not post again to find out
    assert "the bot tries again within a few minutes" in reply.text, reply.text
    [notice] = notices(slack)
    assert len(notice_posts(slack)) == 1 and len(posts_to(slack, "C0GROWTH")) == 1
    [claim] = notice_claims(db)
    assert claim.state is ClaimState.CLAIMED  # given back, for the sweep to look in Slack first

    reports = sweep_until(slack, database_url, db, lambda: notice_claims(db)[0].state is ClaimState.SENT)

    assert sum(r["notice"] for r in reports) == 1 and not any(r["error"] for r in reports), reports
    assert [n["ts"] for n in notices(slack)] == [notice["ts"]] and len(notice_posts(slack)) == 1
    assert slack.calls_to("conversations.history"), "the sweep did not look before posting"
    with db.read() as session:
        r1 = session.scalars(select(Ripple)).one()
    assert (r1.notice_channel_id, r1.notice_ts) == ("C0GROWTH", notice["ts"]) and r1.notice_done_at is not None
    [claim] = notice_claims(db)
    assert (claim.state, claim.message_ts) == (ClaimState.SENT, notice["ts"])


# 2. announcements: a person joined, the settings changed ---------------------------------------------------------


def _lost(slack: FakeSlack) -> None:
    slack.lose_answer_next("chat.postMessage")


def _refused(times: int) -> Callable[[FakeSlack], None]:
    return lambda slack: slack.fail_next("chat.postMessage", "internal_error", status=500, times=times)


def _unreadable(fault: Callable[[FakeSlack], None]) -> Callable[[FakeSlack], None]:
    def both(slack: FakeSlack) -> None:
        fault(slack)
        slack.fail_next("conversations.history", "internal_error", status=500)

    return both


# (fault, announcements in the channel, the statuses Slack answered chat.postMessage with, history reads)
JOIN_FAULTS = {
    "answer-lost": (_lost, 1, [200], 1),  # posted; read back, found: not posted again
    "5xx": (_refused(1), 1, [500, 200], 1),  # not posted; read back, none: posted
    "5xx-twice": (_refused(2), 1, [500, 500, 200], 2),
    "5xx-three-times": (_refused(3), 0, [500, 500, 500], 2),  # three posts at most
    "answer-lost-history-unreadable": (_unreadable(_lost), 1, [200], 1),  # cannot tell: not posted again
    "5xx-history-unreadable": (_unreadable(_refused(1)), 0, [500], 1),  # lost rather than perhaps twice
}


@pytest.mark.parametrize("case", JOIN_FAULTS)
def test_a_join_from_another_channel_is_announced_at_most_once_whatever_slack_answers(case, driver, slack, db):
    fault, announced, statuses, reads = JOIN_FAULTS[case]
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    fault(slack)

    reply = okr(driver, slack, "team join Growth", user="U0CLEO", channel=GENERAL)

    assert reply.ephemeral and "<@U0CLEO> joined the team *Growth*" in reply.text, reply.text
    told = [m for m in slack.messages("C0GROWTH") if "<@U0CLEO> joined the team *Growth*" in shown(m)]
    assert len(told) == announced, [shown(m) for m in told]
    assert [c.status for c in posts_to(slack, "C0GROWTH")] == statuses
    assert len(slack.calls_to("conversations.history")) == reads
    if told:  # the message names what caused it, which is how it is found again
        assert told[0]["metadata"]["event_payload"]["claim"].startswith("team_joined:")


def test_settings_saved_through_a_lost_answer_are_announced_once(driver, slack, db):
    create_team(driver, slack, "Rockets")
    view = open_settings(driver, slack)
    slack.lose_answer_next("chat.postMessage")

    result = driver.submit_view(view["id"], user="U0ADA", values=modal_values(hour=14))

    assert result.status == 200 and not result.body, result.text
    # it heard a 500, so it reads the channel back (a client that resends would have posted again instead)
    wait_until(lambda: slack.calls_to("conversations.history"))
    stays(lambda: len(posts_to(slack, "C0ROCKET")) == 1, duration=1.0)
    [saved] = [m for m in slack.messages("C0ROCKET") if "<@U0ADA> changed the" in shown(m)]
    assert "check-in hour" in shown(saved), shown(saved)


# 3. the reset by hand ---------------------------------------------------------------------------------------------


def let_go(db: Database, kind: str, count: int) -> bool:
    """`count` claims of `kind`, none held any more by the click that took them: each given back (its stamp
    moved a lease back, for the sweep to take over) or finished. The click's work on them is over."""
    found = claims(db, kind)
    held = [c for c in found if c.state is ClaimState.CLAIMED and c.claimed_at > datetime.now(UTC) - LEASE / 2]
    return len(found) == count and not held


def cycle_one(db: Database) -> Cycle:
    with db.read() as session:
        return session.scalars(select(Cycle).where(Cycle.number == 1)).one()


def assert_claims_hold(slack: FakeSlack, db: Database, kind: str, count: int) -> None:
    """`count` claims of `kind`, each sent, each naming the one message Slack has for it."""
    found = claims(db, kind)
    assert len(found) == count and all(c.state is ClaimState.SENT for c in found), [(c.state, c.outcome) for c in found]
    for claim in found:
        message = slack.message(claim.channel_id, claim.message_ts)
        assert message["metadata"]["event_payload"]["claim"] == f"{kind}:{claim.claim_key}"


def test_the_reset_confirmed_while_slack_loses_every_answer_asks_each_owner_once(driver, slack, db, database_url):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        pause_checkins(db)
        message = confirm_reset(driver, slack)
        slack.lose_answer_next("chat.postMessage", times=3)  # the closing message and both final-score DMs

        result = driver.click(user="U0ADA", action_id="reset_start", channel=CHANNEL, ts=message["ts"])

        assert result.status == 200, result.text
        wait_until(lambda: let_go(db, STARTED_KIND, 1) and let_go(db, SCORES_KIND, 2), timeout=10)
        assert len(slack.calls_to("chat.postMessage")) == 3  # none is sent again by the click
        assert len(channel_messages(slack, "is closing")) == 1
        assert [len(slack.messages(slack.dm_channel_id(owner))) for owner in ("U0BEN", "U0CLEO")] == [1, 1]
        assert cycle_one(db).owners_asked_at is None  # nobody knows yet that they went out

        sweep_until(slack, database_url, db, lambda: cycle_one(db).owners_asked_at is not None)

        assert len(slack.calls_to("chat.postMessage")) == 3  # found in Slack, not posted again
        assert len(channel_messages(slack, "is closing")) == 1
        for owner in ("U0BEN", "U0CLEO"):
            assert [m["ts"] for m in slack.messages(slack.dm_channel_id(owner))] == [dm(slack, owner)["ts"]]
        assert_claims_hold(slack, db, STARTED_KIND, 1)
        assert_claims_hold(slack, db, SCORES_KIND, 2)


def test_close_scoring_now_while_slack_loses_every_answer_posts_the_retro_and_the_prompt_once(
    driver, slack, db, database_url
):
    with freeze_time("2026-03-02 09:00:00", tick=True) as clock:
        set_up(driver, slack, db, clock)
        pause_checkins(db)
        start_reset(driver, slack, db)
        [notice] = channel_messages(slack, "is closing")
        posted = len(slack.calls_to("chat.postMessage"))
        slack.lose_answer_next("chat.postMessage", times=2)  # the retro's answer, then the prompt's

        text = answer_to(driver, slack, user="U0ADA", action_id="reset_close_scoring", channel=CHANNEL, ts=notice["ts"])

        assert "Scoring of cycle 1 of *Rockets* is closed" in text, text
        wait_until(lambda: let_go(db, RETRO_KIND, 1), timeout=10)
        assert len(slack.calls_to("chat.postMessage")) == posted + 1  # the retro, once; the prompt waits for it
        assert len(channel_messages(slack, "retro of cycle 1")) == 1
        assert channel_messages(slack, "open for drafting") == []

        sweep_until(slack, database_url, db, lambda: cycle_one(db).reset_done_at is not None)

        [retro] = channel_messages(slack, "retro of cycle 1")
        assert len(channel_messages(slack, "open for drafting")) == 1
        assert len(slack.calls_to("chat.postMessage")) == posted + 2
        assert cycle_one(db).retro_ts == retro["ts"]  # replies in its thread find the cycle
        assert_claims_hold(slack, db, RETRO_KIND, 1)
        assert_claims_hold(slack, db, NEXT_KIND, 1)


# 4. a storm -------------------------------------------------------------------------------------------------------

NEWCOMERS = [f"U0NEW{n}" for n in range(8)]
# the 8 ripples Rockets can declare on Growth at once: each key result, each kind, with or without their 1.1
RIPPLES = [
    f"{kind}{GROWTH} 1.{ours}{their} {NOTE}"
    for kind in ("", "depends ")
    for ours in (1, 2)
    for their in ("", " their 1.1")
]


def command(driver: SlackDriver, slack: FakeSlack, text: str, *, user: str, channel: str) -> Reply:
    """`/okr text`, waiting for its answer as long as a few Retry-After waits take."""
    before = len(slack.responses)
    result = driver.command(text, user=user, channel=channel)
    assert result.status == 200, result.text
    return Reply(slack.wait_for_response(count=before + 1, timeout=30)["body"], "response_url")


def test_eight_ripples_and_eight_joins_through_a_storm_are_each_told_once(driver, slack, db, database_url):
    two_teams(driver, slack, db)
    pause_checkins(db)
    for n, user in enumerate(NEWCOMERS):
        slack.add_user(user, f"new{n}", real_name=f"New {n}", tz="UTC")
    slack.lose_answer_share("chat.postMessage", 0.3, seed=11)
    storms = (
        lambda: slack.fail_share("chat.postMessage", 0.3, error="ratelimited", status=429, retry_after=1, seed=12),
        lambda: slack.fail_share("chat.postMessage", 0.3, error="internal_error", status=500, seed=14),
    )

    for half, storm in enumerate(storms):
        storm()
        for n in range(4 * half, 4 * half + 4):
            reply = command(driver, slack, f"ripple {RIPPLES[n]}", user="U0ADA", channel="C0ROCKET")
            assert ":ocean: Declared *R" in reply.text, reply.text
            reply = command(driver, slack, "team join Growth", user=NEWCOMERS[n], channel=GENERAL)
            assert "joined the team *Growth*" in reply.text, reply.text
    slack.clear_faults()

    # the storm did hit: rate limits, 5xx, and answers lost on posts Slack took (read back, or left to the sweep)
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses.count(429) >= 2 and statuses.count(500) >= 2, statuses
    assert slack.calls_to("conversations.history"), "no join's answer was lost: the storm missed"
    with db.read() as session:
        confirmed = set(session.scalars(select(Ripple.notice_ts)))
    assert [n for n in notices(slack) if n["ts"] not in confirmed], "no notice's answer was lost: the storm missed"
    sweep_until(slack, database_url, db, lambda: all(c.state is ClaimState.SENT for c in notice_claims(db)))

    told = [notice["text"] for notice in notices(slack)]
    assert len(told) == 8 and len(set(told)) == 8, told
    assert len(notice_posts(slack)) == 8  # every post Slack took is a notice in the channel: none twice
    with db.read() as session:
        ripples = list(session.scalars(select(Ripple)))
    assert len(ripples) == 8 and all(r.notice_ts for r in ripples)
    assert sorted(r.notice_ts for r in ripples) == sorted(n["ts"] for n in notices(slack))
    joined = [user for user in NEWCOMERS for m in slack.messages("C0GROWTH") if f"<@{user}> joined" in shown(m)]
    taken = [
        user
        for user in NEWCOMERS
        if any(c.ok and f"<@{user}> joined" in str(c.args.get("blocks")) for c in posts_to(slack, "C0GROWTH"))
    ]
    assert joined == taken, joined  # once each that Slack took a post of (three tries refused: none, never two)
    assert joined == NEWCOMERS, joined  # with these draws Slack takes one of each newcomer's tries


# 5. what a click, a form or a command posts ----------------------------------------------------------------------


def cause_of(message: dict) -> str:
    return message["metadata"]["event_payload"]["claim"]


def reads(slack: FakeSlack, method: str = "conversations.history") -> int:
    return len(slack.calls_to(method))


def settled(slack: FakeSlack, channel: str, *, posts: int, read_backs: int) -> None:
    """Wait until the bot has read channels back `read_backs` times in all, or posted in `channel` more than
    `posts` times (as a client that resends does, at once), then check it posted `posts` times and no more."""
    wait_until(lambda: reads(slack) >= read_backs or len(posts_to(slack, channel)) > posts)
    assert len(posts_to(slack, channel)) == posts, [shown(c.args) for c in posts_to(slack, channel)]
    stays(lambda: len(posts_to(slack, channel)) == posts, duration=1.0)


def test_a_draft_shared_and_committed_through_lost_answers_is_posted_once_each(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel=CHANNEL)
    join_team(driver, slack, user="U0BEN", channel=CHANNEL)
    full_draft(driver, slack)
    before = len(posts_to(slack, CHANNEL))
    slack.lose_answer_next("chat.postMessage")  # Slack posts the shared draft; the bot hears a 500

    shared = share(driver, slack)

    # read back and found: its ts is kept, so later changes redraw it (a client that resends posts it again)
    wait_until(lambda: the_draft(db).shared_ts)
    assert [m["ts"] for m in channel_messages(slack, "shared a draft objective")] == [shared["ts"]]
    assert len(posts_to(slack, CHANNEL)) == before + 1 and reads(slack) == 1
    assert the_draft(db).shared_ts == shared["ts"]
    assert cause_of(shared) == f"draft_shared:{the_draft(db).id}"

    slack.lose_answer_next("chat.postMessage")  # the commit's announcement, posted, answered 500
    press(driver, slack, shared, "draft_commit", user="U0BEN")

    settled(slack, CHANNEL, posts=before + 2, read_backs=2)
    [committed] = channel_messages(slack, "committed *O1.")
    assert cause_of(committed) == f"objective_committed:{the_draft(db).objective_id}"
    assert "Committed by <@U0BEN> as *O1*" in shown(slack.message(CHANNEL, shared["ts"]))  # redrawn, not reposted


def test_an_objective_revised_through_a_lost_answer_is_announced_once(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db, title="New teams get value", why="Churn starts early")
    view = open_from_list(driver, slack, f"revise_objective:{objective_id}", user="U0BEN")
    before = len(posts_to(slack, CHANNEL))
    slack.lose_answer_next("chat.postMessage")

    result = driver.submit_view(
        view["id"],
        user="U0BEN",
        values=objective_values(
            title="New teams get value in week one",
            why="Churn starts early",
            reason="Interviews: week one decides",
        ),
    )

    assert result.status == 200 and not result.body, result.text
    settled(slack, CHANNEL, posts=before + 1, read_backs=1)
    [revised] = channel_messages(slack, "revised *O1 · New teams get value in week one*")
    assert cause_of(revised) == f"okr_changed:{objective_id}:2"  # the objective's version 2: once per change


def test_a_reply_to_a_ripple_through_lost_answers_is_posted_once_in_the_thread_and_once_to_the_declaring_team(
    driver, slack, db
):
    two_teams(driver, slack, db)
    pause_checkins(db)
    declared(driver, slack, f"{GROWTH} 1.2 {NOTE}")
    [notice] = notices(slack)
    view = open_view(slack, lambda: click(driver, notice, "ripple_reply_open", user="U0BEN"))
    posted, in_thread, told = (
        len(slack.calls_to("chat.postMessage")),
        len(posts_to(slack, "C0GROWTH")),
        len(posts_to(slack, CHANNEL)),
    )
    slack.lose_answer_next("chat.postMessage", times=2)  # the reply in the notice's thread, then the one to Rockets

    assert submit(driver, view, {"reply": text_value("Mondays work for us")}, user="U0BEN") is None

    # each read back where it went: the thread (history leaves replies out), then Rockets' channel
    settled(slack, CHANNEL, posts=told + 1, read_backs=1)
    assert reads(slack, "conversations.replies") == 1 and len(posts_to(slack, "C0GROWTH")) == in_thread + 1
    assert len(slack.calls_to("chat.postMessage")) == posted + 2
    [reply] = [m for m in slack.messages("C0GROWTH") if m.get("thread_ts") and m["ts"] != m["thread_ts"]]
    assert reply["thread_ts"] == notice["ts"] and slack.message("C0GROWTH", notice["ts"])["reply_count"] == 1
    [told] = channel_messages(slack, "on *R1*")
    assert "Mondays work for us" in shown(reply) and "Mondays work for us" in shown(told)
    assert cause_of(reply).startswith("ripple_reply:") and cause_of(told).startswith("ripple_reply_told:")


def bot_posts(slack: FakeSlack, channel: str) -> list[dict]:
    return [m for m in slack.messages(channel) if m.get("user") == "U0BOT"]


def test_a_digest_posted_by_command_through_a_lost_answer_is_posted_once(driver, slack, db):
    create_team(driver, slack, "Rockets")
    slack.lose_answer_next("chat.postMessage")  # the digest's first part is posted, answered 500

    reply = okr(driver, slack, "digest post", channel=GENERAL)

    assert "Posted this week's digest in <#C0GENERAL>" in reply.text, reply.text
    parts = bot_posts(slack, GENERAL)
    assert parts and len({m["text"] for m in parts}) == len(parts), [m["text"] for m in parts]  # none twice
    assert len(posts_to(slack, GENERAL)) == len(parts) and reads(slack) == 1
    causes = [cause_of(m) for m in parts]
    assert len(set(causes)) == len(causes) and all(c.startswith("digest_post:") for c in causes), causes

    # the next command posts it again: its parts are its own, not found in the first one's
    reply = okr(driver, slack, "digest post", channel=GENERAL)
    assert "Posted this week's digest in <#C0GENERAL>" in reply.text, reply.text
    assert [m["text"] for m in bot_posts(slack, GENERAL)] == [m["text"] for m in parts] * 2
    assert reads(slack) == 1


def test_an_export_whose_answer_is_lost_is_shared_once_and_told_as_sent(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    slack.lose_answer_next("files.completeUploadExternal")  # Slack shares the files; the bot hears a 500

    reply = okr(driver, slack, "export", user="U0BEN")

    assert "in your DM with me" in reply.text, reply.text  # read back and found: sent, not "Slack refused"
    dm_channel = slack.dm_channel_id("U0BEN")
    assert len([u for u in slack.uploads if u["channel_id"] == dm_channel]) == 2
    assert len([m for m in slack.messages(dm_channel) if m.get("files")]) == 1
    assert len(slack.calls_to("files.completeUploadExternal")) == 1 and reads(slack) == 1


# a reply through a response_url whose connection drops ---------------------------------------------------------


def test_an_in_channel_reply_whose_connection_drops_is_shown_once_and_the_person_is_not_told_it_failed(
    driver, slack, db
):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    before, told = len(slack.messages("C0ROCKET")), len(slack.ephemerals)
    slack.drop_reply_next()  # Slack shows the reply, and the bot hears nothing back

    assert driver.command("team join", user="U0BEN", channel="C0ROCKET").status == 200

    def announced() -> list[dict]:
        return [m for m in slack.messages("C0ROCKET")[before:] if "joined the team" in shown(m)]

    wait_until(announced)
    # long enough for a client that resends after a dropped connection to have done so (its backoff is ~1 s)
    stays(lambda: len(announced()) == 1, duration=2.5, interval=0.1)
    assert len(slack.calls_to("response_url")) == 2  # the create's reply and the join's, each sent once
    assert not [e for e in slack.ephemerals[told:] if "went wrong" in shown(e)]
