"""What `GET /metrics` counts, read over HTTP before and after each thing a process does.

Requests go in signed (or not) through the real WSGI app, Slack's answers come from the fake Slack, sweeps run
in-process as the scheduler runs them, and the exposition is parsed with prometheus_client's own parser. The
registry is the process's, shared by every test a worker runs, so each test asserts on the change an action made,
never on a total.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient
from sqlalchemy import insert, text, update
from sqlalchemy.exc import OperationalError

from bot import metrics, shutdown
from bot.delivery import LEASE
from bot.delivery.checkins import UNREACHABLE_KIND
from bot.health import Readiness, only_operations
from bot.rituals.checkins import CHECKIN_KIND
from bot.sandbox import SlackDriver
from bot.web import EVENTS_PATH, BackgroundServer
from storage.db import Database
from storage.models import ClaimState, SendClaim, Team
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.support import encode_form, okr
from tests.e2e.test_checkin_delivery import MINUTE, checkin_row, claims, due_team, sweeper

FORM = "application/x-www-form-urlencoded"


# reading /metrics --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    """One reading of /metrics: every sample by name and labels."""

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a series not exported yet (a labelled counter appears at its first increment)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, found), v in self.samples.items() if n == name and wanted <= set(found))


def scrape(base_url: str) -> Scrape:
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain"), answer.headers["Content-Type"]
        exposition = answer.read().decode()
    samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return Scrape(samples)


class Change:
    """/metrics read when made; `of()` is how much a sample moved since."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.before = scrape(base_url)
        self.after = self.before

    def read(self) -> Change:
        self.after = scrape(self.base_url)
        return self

    def of(self, name: str, **labels: str) -> float:
        return self.after.value(name, **labels) - self.before.value(name, **labels)

    def of_all(self, name: str, **labels: str) -> float:
        return self.after.total(name, **labels) - self.before.total(name, **labels)

    def now(self, name: str, **labels: str) -> float:
        """A gauge's value as last read."""
        return self.after.value(name, **labels)


@pytest.fixture
def operator(tmp_path) -> Iterator[str]:
    """`/livez`, `/readyz` and `/metrics` alone, as `okr-bot scheduler` serves them (its database does not matter
    here: /metrics is the process's)."""
    readiness = Readiness(Database(f"sqlite:///{tmp_path}/unused.db"))
    server = BackgroundServer(only_operations(readiness))
    yield f"http://127.0.0.1:{server.port}"
    server.stop()
    readiness.close()


@pytest.fixture
def unreachable(slack, tmp_path):
    """A bot whose SQLite file cannot be opened (its directory does not exist)."""
    url = f"sqlite:///{tmp_path}/missing-dir/okr.db"
    db = Database(url)
    running, stop = serve_bot(sandbox_settings(slack, url), db)
    yield running, SlackDriver(slack, bot_url=running.url + EVENTS_PATH, signing_secret=SIGNING_SECRET)
    stop()
    db.dispose()


def old_button(slack, driver: SlackDriver, *, user: str = "U0BEN"):
    """A click on a button of a message the bot drew long ago (its handler answers: out of date)."""
    button = {"type": "button", "action_id": "long_gone", "value": "1", "text": {"type": "plain_text", "text": "Go"}}
    message = slack.add_message("C0ROCKET", "U0ADA", "Old", blocks=[{"type": "actions", "elements": [button]}])
    return driver.click(user=user, action_id="long_gone", value="1", channel="C0ROCKET", ts=message["ts"])


def old_form(slack, driver: SlackDriver, *, user: str = "U0BEN"):
    """A form left open over a deploy, submitted."""
    form = {
        "type": "modal",
        "callback_id": "long_gone_form",
        "title": {"type": "plain_text", "text": "Old"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "value",
                "label": {"type": "plain_text", "text": "Value"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    client = WebClient(token=slack.workspace().bot_token, base_url=slack.api_url)
    view_id = client.views_open(trigger_id=slack.new_trigger_id(user), view=form)["view"]["id"]
    typed = {"value": {"value": {"type": "plain_text_input", "value": "42"}}}
    return driver.submit_view(view_id, user=user, values=typed)


# 1. requests from Slack --------------------------------------------------------------------------------------------


def test_each_kind_of_request_is_counted_ok_with_its_time_to_answer(bot, driver, slack):
    change = Change(bot.url)

    assert "/okr" in okr(driver, slack, "help").text
    assert driver.open_home("U0BEN").status == 200
    assert old_button(slack, driver).status == 200
    assert old_form(slack, driver).status == 200

    change.read()
    for kind in ("command", "event", "action", "view"):
        assert change.of("okr_requests_total", kind=kind, outcome="ok") == 1, kind
        assert change.of_all("okr_requests_total", kind=kind) == 1, kind  # no other outcome
        assert change.of("okr_ack_seconds_count", kind=kind) == 1, kind
        assert 0 < change.of("okr_ack_seconds_sum", kind=kind) < 3, kind
        # the bucket of Slack's 3 seconds holds it, the one of 0 s does not exist
        assert change.of("okr_ack_seconds_bucket", kind=kind, le="3.0") == 1, kind
    assert change.of_all("okr_requests_total", outcome="refused") == 0


def test_unsigned_and_forged_requests_are_counted_refused(bot, driver, slack):
    body = encode_form(
        {
            "command": "/okr",
            "text": "help",
            "team_id": slack.workspace().team_id,
            "user_id": "U0ADA",
            "channel_id": "C0ROCKET",
        }
    )
    forger = SlackDriver(slack, bot_url=bot.url + EVENTS_PATH, signing_secret="not-the-signing-secret-0000000")
    change = Change(bot.url)

    unsigned = driver.send_raw(body, {"Content-Type": FORM})
    forged = forger.send_raw(body, {"Content-Type": FORM, **forger.sign(body)})

    assert (unsigned.status, forged.status) == (401, 401)
    change.read()
    # without signature headers the request is turned away before it is parsed: its kind is not known
    assert change.of("okr_requests_total", kind="other", outcome="refused") == 1
    # a wrong signature is refused by the gate's dispatch, once the body is read
    assert change.of("okr_requests_total", kind="command", outcome="refused") == 1
    assert change.of_all("okr_requests_total", outcome="ok") == 0


def test_a_fallback_is_counted_by_its_reason_not_as_ok(unreachable, slack):
    running, driver = unreachable
    change = Change(running.url)

    command = driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    event = driver.open_home("U0ADA")
    click = old_button(slack, driver)

    assert command.status == 200 and "can't reach its database" in command.text
    assert event.status == 503
    assert click.status == 200
    change.read()
    for kind in ("command", "event", "action"):
        assert change.of("okr_requests_total", kind=kind, outcome="database") == 1, kind
        assert change.of_all("okr_requests_total", kind=kind) == 1, kind  # not also "ok" or "error"
        assert change.of("okr_ack_seconds_count", kind=kind) == 1, kind


def test_a_vote_or_a_user_change_the_database_cannot_store_is_counted_as_a_database_fallback(unreachable, slack):
    """Events written before their ack (a vote, a profile change) answer 503 themselves when the database refuses."""
    running, driver = unreachable
    message = slack.add_message("C0ROCKET", "U0ADA", "an inbox item")
    change = Change(running.url)

    assert driver.react("U0BEN", "C0ROCKET", message["ts"], "white_check_mark").status == 503
    assert driver.user_changed("U0BEN").status == 503
    change.read()
    assert change.of("okr_requests_total", kind="event", outcome="database") == 2
    assert change.of_all("okr_requests_total", kind="event") == 2  # not also "error"


def test_a_signed_payload_the_bot_does_not_read_is_counted_ignored(bot, driver, slack):
    envelope = {"type": "event_callback", "team_id": slack.workspace().team_id, "event": {"no_type": 1}}
    body = json.dumps(envelope).encode()
    change = Change(bot.url)

    assert driver.send_raw(body, {"Content-Type": "application/json", **driver.sign(body)}).status == 200
    assert (
        driver.send_raw(
            body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}
        ).status
        == 401
    )
    change.read()
    assert change.of("okr_requests_total", kind="other", outcome="ignored") == 1
    assert change.of("okr_requests_total", kind="other", outcome="refused") == 1
    assert change.of("okr_ack_seconds_count", kind="other") == 2


# 2. calls to Slack's Web API ---------------------------------------------------------------------------------------


def test_a_command_s_calls_to_slack_are_counted_by_method_and_outcome(bot, driver, slack):
    change = Change(bot.url)
    asked = len(slack.calls_to("users.info"))

    okr(driver, slack, "away today", user="U0ADA")  # the person's zone, from Slack

    assert len(slack.calls_to("users.info")) == asked + 1
    change.read()
    assert change.of("okr_slack_calls_total", method="users.info", outcome="ok") == 1
    assert change.of("okr_slack_calls_total", method="users.info", outcome="refused") == 0
    assert change.of("okr_slack_call_seconds_count", method="users.info") == 1

    slack.fail_next("users.info", "user_not_found")
    change = Change(bot.url)
    okr(driver, slack, "away today", user="U0BEN")
    change.read()
    assert change.of("okr_slack_calls_total", method="users.info", outcome="refused") == 1
    assert change.of("okr_slack_calls_total", method="users.info", outcome="ok") == 0


def test_a_429_waited_out_is_counted_with_its_retry_after(bot, driver, slack):
    slack.rate_limit_next("users.info", retry_after=1)
    change = Change(bot.url)
    asked = len(slack.calls_to("users.info"))

    okr(driver, slack, "away today", user="U0CLEO")

    statuses = [call.status for call in slack.calls_to("users.info")[asked:]]
    assert statuses == [429, 200], statuses  # waited out, then answered
    change.read()
    assert change.of("okr_slack_rate_limited_total", method="users.info") == 1
    assert change.of("okr_slack_retry_after_seconds_total", method="users.info") == 1.0
    # one call, whose retry made it: ok, and its time includes the wait
    assert change.of("okr_slack_calls_total", method="users.info", outcome="ok") == 1
    assert change.of("okr_slack_calls_total", method="users.info", outcome="ratelimited") == 0
    assert change.of("okr_slack_call_seconds_count", method="users.info") == 1
    assert change.of("okr_slack_call_seconds_sum", method="users.info") >= 1.0


def test_a_sweep_s_429_is_counted_per_attempt_and_waited_out_by_the_pacer(slack, db, database_url, operator):
    """A scheduled send's client (bot/delivery/pacing.py) makes each attempt a call of its own: the 429 is counted
    `ratelimited` and the attempt after the wait `ok` (a request's client counts the two as one call, above)."""
    team = due_team(db, slack, 1)
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 1}

    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    change.read()
    assert change.of("okr_slack_rate_limited_total", method="chat.postMessage") == 1
    assert change.of("okr_slack_retry_after_seconds_total", method="chat.postMessage") == 1.0
    assert change.of("okr_slack_calls_total", method="chat.postMessage", outcome="ratelimited") == 1
    assert change.of("okr_slack_calls_total", method="chat.postMessage", outcome="ok") == 1
    assert change.of("okr_slack_paced_seconds_total") >= 0.9  # the wait for Retry-After, by the pacer
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="sent") == 1


def test_a_5xx_is_counted_as_a_server_error_and_the_send_given_back(slack, db, database_url, operator):
    team = due_team(db, slack, 1)
    slack.fail_next("conversations.open", "internal_error", status=500)  # a sweep's client retries no 5xx
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"retry": 1}

    change.read()
    assert change.of("okr_slack_calls_total", method="conversations.open", outcome="server_error") == 1
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="retry") == 1
    assert change.of_all("okr_sends_total", kind=CHECKIN_KIND) == 1


# 3. claimed sends --------------------------------------------------------------------------------------------------


def test_a_sent_check_in_is_counted_sent(slack, db, database_url, operator):
    team = due_team(db, slack, 2)
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 2}

    change.read()
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="sent") == 2
    assert change.of_all("okr_sends_total", kind=CHECKIN_KIND) == 2
    assert change.of("okr_slack_calls_total", method="chat.postMessage", outcome="ok") == 2


def test_a_check_in_of_a_paused_team_is_counted_skipped(slack, db, database_url, operator):
    team = due_team(db, slack, 1)
    with db.transaction() as session:
        session.execute(update(Team).where(Team.id == team.team_id).values(checkins_paused=True))
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"paused": 1}

    change.read()
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="skipped") == 1
    assert change.of_all("okr_sends_total", kind=CHECKIN_KIND) == 1
    assert slack.calls_to("chat.postMessage") == []


def test_dms_slack_refuses_for_good_are_counted_refused(slack, db, database_url, operator):
    team = due_team(db, slack, 1, robots=("U1ROBOT",))  # Slack answers cannot_dm_bot for a bot user
    slack.fail_next("chat.postMessage", "invalid_blocks")  # and the first owner's DM is refused for good
    change = Change(operator)

    report = sweeper(slack, database_url, db).run(team.now)

    assert report == {"failed": 1, "unreachable": 1}, report
    change.read()
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="refused") == 2
    assert change.of_all("okr_sends_total", kind=CHECKIN_KIND) == 2
    assert change.of("okr_slack_calls_total", method="chat.postMessage", outcome="refused") == 1
    assert change.of("okr_slack_calls_total", method="conversations.open", outcome="refused") == 1
    # the facilitator is told of the owner the bot cannot reach: a claimed send of its own kind
    assert change.of("okr_sends_total", kind=UNREACHABLE_KIND, outcome="sent") == 1


def held_by(db, team, owner: str, worker: str, *, since) -> None:
    """The owner's check-in claimed by another process `worker` since `since`, and not finished."""
    with db.transaction() as session:
        session.execute(
            insert(SendClaim).values(
                workspace_id=team.workspace_id,
                kind=CHECKIN_KIND,
                claim_key=team.key(owner),
                state=ClaimState.CLAIMED,
                claimed_at=since,
                claimed_by=worker,
            )
        )


def test_a_claim_a_dead_process_left_is_counted_taken_over_then_sent(slack, db, database_url, operator):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    held_by(db, team, owner, "gone-host:4242", since=team.now - LEASE - MINUTE)  # a process that died
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"sent": 1}

    change.read()
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="taken_over") == 1
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="sent") == 1
    assert claims(db)[team.key(owner)].state is ClaimState.SENT


def test_a_claim_still_held_by_a_live_process_is_counted_held_elsewhere(slack, db, database_url, operator):
    team = due_team(db, slack, 1)
    (owner,) = team.owners
    held_by(db, team, owner, "other-host:4242", since=team.now)  # a process still at work
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {"taken": 1}

    change.read()
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="held_elsewhere") == 1
    assert change.of("okr_sends_total", kind=CHECKIN_KIND, outcome="taken_over") == 0
    assert slack.calls_to("chat.postMessage") == []


# 4. the sweep ------------------------------------------------------------------------------------------------------


def test_a_sweep_is_counted_with_its_time_and_what_it_left_due(slack, db, database_url, operator):
    team = due_team(db, slack, 3)
    slack.fail_next("conversations.open", "internal_error", status=500, times=3)  # every DM stays due
    sweep = sweeper(slack, database_url, db)
    change = Change(operator)

    assert sweep.run(team.now) == {"retry": 3}

    change.read()
    assert change.of("okr_sweeps_total", outcome="finished") == 1
    assert change.of_all("okr_sweeps_total") == 1
    assert change.of("okr_sweep_seconds_count") == 1
    assert change.now("okr_due_rows", what="checkin") == 3
    assert change.now("okr_due_rows", what="reminder") == 0
    # due a minute before the sweep's `now`, read a moment after it
    assert MINUTE.total_seconds() <= change.now("okr_due_oldest_seconds") < MINUTE.total_seconds() + 60
    finished_at = change.now("okr_sweep_last_finished_timestamp_seconds")
    assert abs(finished_at - datetime.now(UTC).timestamp()) < 60

    change = Change(operator)
    assert sweep.run(team.now + MINUTE) == {"sent": 3}

    change.read()
    assert change.of("okr_sweeps_total", outcome="finished") == 1
    assert change.now("okr_due_rows", what="checkin") == 0
    assert change.now("okr_due_oldest_seconds") == 0


def test_a_sweep_begun_while_stopping_is_counted_stopped_and_claims_nothing(slack, db, database_url, operator):
    team = due_team(db, slack, 2)
    (first, _second) = team.owners
    due_at = checkin_row(db, team, first).due_at
    shutdown.STOPPING.set()  # conftest clears it after the test
    change = Change(operator)

    assert sweeper(slack, database_url, db).run(team.now) == {}

    change.read()
    assert change.of("okr_sweeps_total", outcome="stopped") == 1
    assert change.of("okr_sweeps_total", outcome="finished") == 0
    assert change.of("okr_sweep_seconds_count") == 1
    assert change.of_all("okr_sends_total") == 0
    assert claims(db) == {}
    assert checkin_row(db, team, first).due_at == due_at  # still due, for the next sweep of any process
    assert slack.calls_to("conversations.open") == slack.calls_to("chat.postMessage") == []


# 5. the database ---------------------------------------------------------------------------------------------------


def test_errors_from_a_watched_database_are_counted_by_name(tmp_path, operator):
    broken = Database(f"sqlite:///{tmp_path}/missing-dir/okr.db")  # SQLite cannot open it
    metrics.watch_database(broken.engine)
    change = Change(operator)
    try:
        with pytest.raises(OperationalError), broken.read() as session:
            session.execute(text("SELECT 1"))
    finally:
        broken.dispose()

    change.read()
    assert change.of("okr_database_errors_total", error="OperationalError") == 1


def test_a_statement_the_database_refuses_is_counted_too(db, operator):
    metrics.watch_database(db.engine)
    change = Change(operator)

    with pytest.raises(Exception, match="no_such_table"), db.read() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    with db.read() as session:  # a statement that works counts nothing
        assert session.execute(text("SELECT 1")).scalar() == 1

    change.read()
    assert change.of_all("okr_database_errors_total") == 1
    assert change.of("okr_database_errors_total", error=type_of_missing_table(db)) == 1


def type_of_missing_table(db: Database) -> str:
    """What SQLAlchemy calls "no such table": OperationalError on SQLite, ProgrammingError on PostgreSQL."""
    return "OperationalError" if db.engine.url.get_backend_name() == "sqlite" else "ProgrammingError"


def test_metric_names_and_help_are_exported(operator):
    exposition = urllib.request.urlopen(operator + "/metrics", timeout=5).read().decode()
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    expected = {
        "okr_requests": "counter",
        "okr_ack_seconds": "histogram",
        "okr_work_after_ack_dropped": "counter",
        "okr_slack_calls": "counter",
        "okr_slack_call_seconds": "histogram",
        "okr_slack_rate_limited": "counter",
        "okr_slack_retry_after_seconds": "counter",
        "okr_slack_paced_seconds": "counter",
        "okr_sends": "counter",
        "okr_sweep_seconds": "histogram",
        "okr_sweeps": "counter",
        "okr_sweep_last_finished_timestamp_seconds": "gauge",
        "okr_due_rows": "gauge",
        "okr_due_oldest_seconds": "gauge",
        "okr_database_errors": "counter",
        "okr_shutting_down": "gauge",
    }
    for name, kind in expected.items():
        assert name in families, name
        assert families[name].type == kind, name
        assert families[name].documentation, name
    # nothing else of ours (prometheus_client adds a `_created` gauge next to each counter and histogram)
    ours = {name for name in families if name.startswith("okr_") and not name.endswith("_created")}
    assert ours == set(expected)
