"""The pacer (bot/delivery/pacing.py) on a clock of its own: Slack's per-method minute and burst windows per
workspace, the per-channel windows of posts, a 429 holding only its (workspace, method), `SLACK_RATE_LIMITS`, and
the paced client against the sandbox: it waits out a 429 and tries again, gives up after RETRY_TRIES, and never
sends anything else twice.

No test sleeps: the pacer's `sleep` moves its `clock` on, so every figure below is exact."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from slack_sdk.errors import SlackApiError

from bot.delivery import pacing
from bot.delivery.pacing import (
    CHANNEL_WINDOWS,
    METHOD_TIERS,
    POSTS_PER_MINUTE,
    RETRY_TRIES,
    TIERS,
    Limits,
    PacedClient,
    Pacer,
    paced,
)
from bot.sandbox import FakeSlack
from bot.slack import web_client

WS, OTHER_WS = "T0SANDBOX", "T0OTHER"


class FakeTime:
    """A monotonic clock that only moves when the pacer sleeps (or a test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self.during_sleep = None  # called once, at the first sleep, before the clock moves

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        hook, self.during_sleep = self.during_sleep, None
        if hook is not None:
            hook()
        self.now += seconds


def pacer(limits: Limits | None = None) -> tuple[Pacer, FakeTime]:
    time = FakeTime()
    return Pacer(limits, clock=time.clock, sleep=time.sleep), time


def moments(p: Pacer, time: FakeTime, workspace: str, method: str, calls: int, channel: str | None = None) -> list:
    """When each of `calls` calls made back to back goes, in seconds from the first: waiting as the pacer says."""
    start, at = time.now, []
    for _ in range(calls):
        p.wait(workspace, method, channel)
        at.append(round(time.now - start, 6))
    return at


def most_in_any(window: float, at: list[float]) -> int:
    """The most calls in any half-open interval [t, t + window)."""
    return max(sum(1 for other in at if moment <= other < moment + window) for moment in at)


# the per-method windows ---------------------------------------------------------------------------------------


def test_users_list_goes_twenty_times_a_minute_two_at_a_time_and_the_21st_waits_for_the_first_to_be_a_minute_old():
    p, time = pacer()
    limit = Limits().per_minute["users.list"]
    assert limit == TIERS[2] == 20
    burst = math.ceil(limit / 10)

    at = moments(p, time, WS, "users.list", limit + 1)

    assert at[:limit] == [float(n // burst) for n in range(limit)]  # 2 at once, then 2 a second
    assert at[limit] == 60.0  # the 21st: when the first is 60 s old, not a moment sooner
    assert most_in_any(1.0, at) == burst
    assert most_in_any(60.0, at) == limit
    assert p.waited == pytest.approx(sum(time.slept)) and time.slept  # what it held, it counted


def test_calls_already_a_minute_old_no_longer_count():
    p, time = pacer()
    first = moments(p, time, WS, "users.list", 20)
    time.now += 60.0 - first[-1]  # a minute after the first of them
    assert p.book(WS, "users.list") == 0.0
    assert p.book(WS, "users.list") == 0.0
    assert p.book(WS, "users.list") == pytest.approx(1.0)  # the burst window still counts this second's


def test_each_method_has_its_own_window_and_a_method_not_named_is_not_paced():
    p, time = pacer()
    moments(p, time, WS, "users.list", 20)  # the minute's users.list are spent
    assert p.book(WS, "users.list") > 0
    assert p.book(WS, "users.info") == 0.0  # another method: its own window
    assert all(p.book(WS, "some.future_method") == 0.0 for _ in range(1000))


def test_tier_three_and_four_bursts_are_a_tenth_of_their_minute():
    p, time = pacer()
    assert METHOD_TIERS["conversations.open"] == 3 and METHOD_TIERS["users.info"] == 4
    opens = moments(p, time, WS, "conversations.open", 51)
    assert most_in_any(1.0, opens) == 5 and opens[5] == 1.0 and opens[50] == 60.0
    infos = moments(p, time, WS, "users.info", 100)
    assert most_in_any(1.0, infos) == 10 and most_in_any(60.0, infos) == 100


def test_workspaces_are_paced_apart():
    p, time = pacer()
    moments(p, time, WS, "users.list", 20)
    assert p.book(WS, "users.list") > 0
    assert [p.book(OTHER_WS, "users.list") for _ in range(2)] == [0.0, 0.0]  # its own minute, its own burst


def test_calls_booked_at_once_from_several_senders_are_spread_like_calls_one_after_another():
    """Senders book without waiting in between: each gets its own moment, and the windows hold all the same."""
    p, _time = pacer()
    delays = [p.book(WS, "users.list") for _ in range(21)]
    assert delays[:4] == [0.0, 0.0, 1.0, 1.0] and delays[19] == 9.0 and delays[20] == 60.0


# the per-channel windows of posts ----------------------------------------------------------------------------


def test_posts_in_one_channel_go_five_in_a_second_and_sixty_a_minute():
    p, time = pacer()
    assert CHANNEL_WINDOWS == ((1.0, 5), (60.0, 60))
    at = moments(p, time, WS, "chat.postMessage", 61, channel="D1")
    assert at[:6] == [0.0] * 5 + [1.0]
    assert most_in_any(1.0, at) == 5
    assert at[59] == 11.0 and at[60] == 60.0  # the 61st waits for the first to be a minute old


def test_a_busy_channel_does_not_hold_posts_in_other_channels():
    p, time = pacer()
    moments(p, time, WS, "chat.postMessage", 5, channel="D1")
    assert p.book(WS, "chat.postMessage", "D1") == 1.0
    assert [p.book(WS, "chat.postMessage", f"D{n}") for n in range(2, 40)] == [0.0] * 38
    # the workspace's own window for posts still holds them all: a tenth of 600 in a second. 43 went at 0 s (5 in
    # D1, 38 elsewhere) and one is booked at 1 s (D1's sixth): 17 more fit at 0 s, then 59 at 1 s
    assert POSTS_PER_MINUTE == 600
    at = [p.book(WS, "chat.postMessage", f"E{n}") for n in range(17 + 59 + 1)]
    assert at == [0.0] * 17 + [1.0] * 59 + [2.0]


def test_a_post_held_by_its_channel_for_a_minute_holds_no_other_channel():
    p, time = pacer()
    moments(p, time, WS, "chat.postMessage", 60, channel="C0BUSY")  # 5 a second, the 60th at 11 s
    assert p.book(WS, "chat.postMessage", "C0BUSY") == 60.0 - time.now + 1000.0
    assert p.book(WS, "chat.postMessage", "D1") == 0.0
    assert p.book(WS, "chat.postMessage", "D2") == 0.0


def test_however_calls_are_booked_no_window_ever_holds_more_than_its_calls():
    """Bookings out of order (posts held by a busy channel, the others not), at random: check every window after."""
    draws = random.Random(7)
    p, time = pacer(Limits.parse("chat.postMessage=300"))  # 30 a second, 300 a minute in the workspace
    booked: list[tuple[float, str]] = []
    for _ in range(900):
        channel = "C0BUSY" if draws.random() < 0.3 else f"D{draws.randrange(40)}"
        booked.append((time.now + p.book(WS, "chat.postMessage", channel), channel))
        time.now += draws.choice([0.0, 0.0, 0.02, 0.1, 0.3])
    assert any(a > b for (a, _), (b, _) in itertools.pairwise(booked))  # some were booked before earlier ones
    every = sorted(at for at, _ in booked)
    assert most_in_any(1.0, every) <= 30 and most_in_any(60.0, every) <= 300
    for channel in {channel for _, channel in booked}:
        mine = sorted(at for at, other in booked if other == channel)
        assert most_in_any(1.0, mine) <= 5 and most_in_any(60.0, mine) <= 60, channel
    busy = sorted(at for at, channel in booked if channel == "C0BUSY")
    assert most_in_any(1.0, busy) == 5 and most_in_any(60.0, busy) == 60


def test_a_channel_only_holds_posts_not_other_methods_naming_it():
    p, time = pacer()
    moments(p, time, WS, "chat.postMessage", 5, channel="D1")
    assert p.book(WS, "chat.postMessage", "D1") == 1.0
    assert p.book(WS, "conversations.history", "D1") == 0.0
    assert p.book(WS, "chat.update", "D1") == 0.0
    assert p.book(WS, "conversations.open") == 0.0  # a call with no channel at all
    # nor does a channel pace another method's calls on their own: reactions.add is not paced at all
    assert [p.book(WS, "reactions.add", "D1") for _ in range(20)] == [0.0] * 20


def test_posts_without_a_channel_fit_the_workspace_window_only():
    p, _time = pacer()
    assert [p.book(WS, "chat.postMessage") for _ in range(60)] == [0.0] * 60
    assert p.book(WS, "chat.postMessage") == 1.0


# 429s ----------------------------------------------------------------------------------------------------------


def test_a_429_holds_only_that_method_in_that_workspace_until_retry_after():
    p, time = pacer()
    p.blocked(WS, "chat.postMessage", 30)
    assert p.rate_limited == 1
    assert p.book(WS, "chat.postMessage", "D1") == 30.0
    assert p.book(WS, "users.info") == 0.0
    assert p.book(OTHER_WS, "chat.postMessage", "D1") == 0.0
    time.now += 30
    assert p.book(WS, "chat.postMessage", "D2") == 0.0


def test_a_shorter_retry_after_does_not_shorten_a_longer_hold():
    p, time = pacer()
    p.blocked(WS, "users.info", 20)
    time.now += 5
    p.blocked(WS, "users.info", 1)  # a 429 on a call booked before the first one was heard of
    assert p.book(WS, "users.info") == 15.0
    p.blocked(WS, "users.info", 40)
    assert p.book(WS, "users.info") == 40.0


def test_a_hold_applies_even_when_pacing_is_off():
    p, _time = pacer(Limits.parse("off"))
    assert all(p.book(WS, "chat.postMessage", "D1") == 0.0 for _ in range(500))
    p.blocked(WS, "chat.postMessage", 3)
    assert p.book(WS, "chat.postMessage", "D1") == 3.0


# SLACK_RATE_LIMITS ---------------------------------------------------------------------------------------------


def test_limits_default_to_slacks_tiers():
    for text in (None, "", "   "):
        limits = Limits.parse(text)
        assert limits == Limits()
        assert limits.per_minute == {**{m: TIERS[t] for m, t in METHOD_TIERS.items()}, "chat.postMessage": 600}
        assert limits.channel_windows == CHANNEL_WINDOWS
    assert Limits().windows("users.list") == ((1.0, 2), (60.0, 20))
    assert Limits().windows("chat.postMessage") == ((1.0, 60), (60.0, 600))
    assert Limits().windows("not.paced") == ()


def test_limits_override_the_defaults_and_add_methods():
    limits = Limits.parse(" chat.postMessage=300, users.list = 5 ,reactions.add=7")
    assert limits.per_minute["chat.postMessage"] == 300
    assert limits.per_minute["users.list"] == 5 and limits.windows("users.list") == ((1.0, 1), (60.0, 5))
    assert limits.per_minute["reactions.add"] == 7
    assert limits.per_minute["users.info"] == 100  # the others keep their defaults
    assert limits.channel_windows == CHANNEL_WINDOWS
    assert Limits.parse("users.list=1").windows("users.list") == ((1.0, 1), (60.0, 1))
    assert Limits.parse("users.list=100000").per_minute["users.list"] == 100_000


def test_off_paces_nothing():
    for text in ("off", " OFF ", "Off"):
        limits = Limits.parse(text)
        assert limits.per_minute == {} and limits.channel_windows == ()
        assert limits.windows("chat.postMessage") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users.list", "expected method=calls_per_minute (e.g. chat.postMessage=300), not 'users.list'"),
        ("=20", "expected method=calls_per_minute (e.g. chat.postMessage=300), not '=20'"),
        (" =20", "expected method=calls_per_minute (e.g. chat.postMessage=300), not '=20'"),
        ("users=20", "expected method=calls_per_minute (e.g. chat.postMessage=300), not 'users=20'"),
        ("users.list=20,", "expected method=calls_per_minute (e.g. chat.postMessage=300), not ''"),
        ("users.list=20,,users.info=5", "expected method=calls_per_minute (e.g. chat.postMessage=300), not ''"),
        ("off,users.list=20", "expected method=calls_per_minute (e.g. chat.postMessage=300), not 'off'"),
        ("users.list:20", "expected method=calls_per_minute (e.g. chat.postMessage=300), not 'users.list:20'"),
        ("users.list=", "users.list: '' is not a whole number of calls a minute"),
        ("users.list=many", "users.list: 'many' is not a whole number of calls a minute"),
        ("users.list=1.5", "users.list: '1.5' is not a whole number of calls a minute"),
        ("users.list=20=30", "users.list: '20=30' is not a whole number of calls a minute"),
        ("users.list=0", "users.list: calls a minute must be between 1 and 100000, not 0"),
        ("users.list=-5", "users.list: calls a minute must be between 1 and 100000, not -5"),
        ("users.list=100001", "users.list: calls a minute must be between 1 and 100000, not 100001"),
    ],
)
def test_a_malformed_limit_says_what_is_wrong(text, message):
    with pytest.raises(ValueError) as raised:
        Limits.parse(text)
    assert str(raised.value) == message


# the paced client against the sandbox --------------------------------------------------------------------------


def paced_client(slack: FakeSlack, p: Pacer, workspace: str = WS) -> PacedClient:
    client = paced(web_client(base_url=slack.api_url, token=slack.workspace().bot_token, resend=False), p, workspace)
    assert isinstance(client, PacedClient)
    return client


def test_a_429_on_a_post_is_waited_out_and_the_post_goes_once_while_other_methods_go_on(slack):
    p, time = pacer()
    client = paced_client(slack, p)
    other = paced_client(slack, p)  # another sender of the same process, same workspace
    slack.rate_limit_next("chat.postMessage", retry_after=7)
    seen_while_held: dict[str, object] = {}

    def meanwhile() -> None:  # while the post waits out its Retry-After (the clock has not moved yet)
        before = len(time.slept)
        seen_while_held["info"] = other.users_info(user="U0BEN")["user"]["id"]
        seen_while_held["other workspace"] = p.book(OTHER_WS, "chat.postMessage", "D1")
        seen_while_held["held"] = p.book(WS, "chat.postMessage", "C0GENERAL")
        seen_while_held["slept"] = time.slept[before:]

    time.during_sleep = meanwhile
    response = client.chat_postMessage(channel="C0ROCKET", text="hello")

    assert response["ok"] and time.slept == [7.0]  # the first try is not held: only the Retry-After is
    assert seen_while_held == {"info": "U0BEN", "other workspace": 0.0, "held": 7.0, "slept": []}
    posts = slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 200]
    assert [m["text"] for m in slack.messages("C0ROCKET")] == ["hello"]
    assert p.rate_limited == 1


def test_after_retry_tries_429s_the_call_fails_and_one_fewer_is_waited_out(slack):
    p, time = pacer()
    client = paced_client(slack, p)
    slack.rate_limit_next("chat.postMessage", retry_after=2, times=RETRY_TRIES)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0ROCKET", text="hello")
    assert raised.value.response.status_code == 429
    assert len(slack.calls_to("chat.postMessage")) == RETRY_TRIES
    assert time.slept == [2.0] * (RETRY_TRIES - 1)
    assert slack.messages("C0ROCKET") == []

    slack.rate_limit_next("chat.postMessage", retry_after=2, times=RETRY_TRIES - 1)
    assert client.chat_postMessage(channel="C0ROCKET", text="at last")["ok"]
    assert [m["text"] for m in slack.messages("C0ROCKET")] == ["at last"]


def test_a_5xx_is_never_sent_again(slack):
    p, time = pacer()
    client = paced_client(slack, p)
    slack.fail_next("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0ROCKET", text="hello")
    assert len(slack.calls_to("chat.postMessage")) == 1 and time.slept == []

    slack.lose_answer_next("chat.postMessage")  # Slack posted it, the answer was a 500: it must not be posted again
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0ROCKET", text="posted once")
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in slack.messages("C0ROCKET")] == ["posted once"]
    assert p.rate_limited == 0


def test_the_paced_client_holds_posts_by_their_channel(slack):
    p, time = pacer()
    client = paced_client(slack, p)
    for n in range(5):
        client.chat_postMessage(channel="C0ROCKET", text=f"burst {n}")
    assert time.slept == []
    client.chat_postMessage(channel="C0GROWTH", text="elsewhere")
    assert time.slept == []
    client.chat_postMessage(channel="C0ROCKET", text="the sixth")
    assert time.slept == [1.0]


def test_the_processes_pacer_follows_slack_rate_limits():
    before = pacing.PACER.limits
    try:
        pacing.configure(Limits.parse("users.list=3"))
        assert pacing.PACER.limits.per_minute["users.list"] == 3
    finally:
        pacing.configure(before)
