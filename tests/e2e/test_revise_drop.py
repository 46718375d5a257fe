"""Revising and dropping objectives and key results mid-cycle: ⋯ menu → modal → reason → saved and announced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.errors import Conflict, NotAllowed
from bot.rituals import revisions
from storage.models import Direction, EventLog, KeyResultState, ObjectiveState
from tests.e2e.okr_support import (
    choose_in_message,
    commit,
    initial_values,
    key_result_values,
    key_results,
    list_okrs,
    objective,
    objective_values,
    open_from_list,
    rockets,
    versions,
)
from tests.e2e.support import okr, row_counts, shown, wait_until
from tests.helpers import flatten

THREE = [
    {"metric": "Teams active after their first week", "unit": "%", "baseline": 20, "target": 35, "owner": "U0BEN"},
    {
        "metric": "Median minutes to first dashboard",
        "unit": "min",
        "baseline": 30,
        "target": 10,
        "direction": "decrease",
    },
    {"metric": "Support tickets about setup", "baseline": 40, "target": 20, "direction": "decrease"},
]


def _announcement(slack, count: int) -> str:
    slack.wait_for("chat.postMessage", count=count)
    return flatten(slack.messages("C0ROCKET")[-1])


def _events(db, entity: str) -> list[EventLog]:
    with db.transaction() as session:
        query = select(EventLog).where(EventLog.entity == entity, EventLog.action != "committed")
        return list(session.scalars(query.order_by(EventLog.id)))


def _submit(driver, view: dict, values: dict, *, user: str = "U0BEN"):
    result = driver.submit_view(view["id"], user=user, values=values)
    assert result.status == 200, result.text
    return result


def test_revising_an_objective_saves_a_version_and_announces_it(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db, title="New teams get value", why="Churn starts early")
    posted = len(slack.calls_to("chat.postMessage"))

    view = open_from_list(driver, slack, f"revise_objective:{objective_id}", user="U0BEN")

    assert view["callback_id"] == "okr_change" and view["title"]["text"] == "Revise objective"
    assert initial_values(view) == {"title": "New teams get value", "why": "Churn starts early", "reason": None}
    result = _submit(
        driver,
        view,
        objective_values(
            title="New teams get value in week one", why="Churn starts early", reason="Interviews: week one decides"
        ),
    )
    assert not result.body  # closes the modal
    text = _announcement(slack, posted + 1)

    assert "<@U0BEN> revised *O1 · New teams get value in week one* in *Rockets*" in text
    assert ">Interviews: week one decides" in text
    assert "• *O1* objective: New teams get value → New teams get value in week one" in text
    assert "why it matters" not in text  # unchanged fields are not listed
    saved = objective(db, objective_id)
    assert (saved.title, saved.state, saved.version) == ("New teams get value in week one", ObjectiveState.REVISED, 2)
    [v1, v2] = versions(db, objective_id)
    assert (v1.version, v1.change, v1.snapshot["title"]) == (1, "committed", "New teams get value")
    assert (v2.version, v2.change, v2.reason, v2.actor_user_id) == (
        2,
        "revised",
        "Interviews: week one decides",
        "U0BEN",
    )
    assert v2.snapshot["title"] == "New teams get value in week one" and len(v2.snapshot["key_results"]) == 2
    [event] = _events(db, "objective")
    assert (event.action, event.entity_id, event.actor_user_id, event.reason) == (
        "revised",
        objective_id,
        "U0BEN",
        "Interviews: week one decides",
    )
    assert event.data["version"] == 2 and event.data["changes"] == [
        {
            "subject": "O1",
            "field": "title",
            "before": "New teams get value",
            "after": "New teams get value in week one",
        },
        {"subject": "O1", "field": "state", "before": "committed", "after": "revised"},
    ]
    assert "_(revised)_" in shown(list_okrs(driver, slack, user="U0BEN"))


def test_a_revision_announcement_never_pings_the_channel_from_typed_text(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db, title="New teams get value", why="Churn starts early")
    posted = len(slack.calls_to("chat.postMessage"))
    view = open_from_list(driver, slack, f"revise_objective:{objective_id}", user="U0BEN")
    _submit(
        driver,
        view,
        objective_values(
            title="<!channel> New teams & <https://x.example|value>",
            why="Churn starts early",
            reason="<!here> week one decides",
        ),
    )
    slack.wait_for("chat.postMessage", count=posted + 1)
    message = slack.messages("C0ROCKET")[-1]
    for text in (message["text"], flatten(message)):  # the notification and what is shown
        assert "<!channel>" not in text and "<!here>" not in text and "<https://" not in text, text
    assert "&lt;!channel&gt; New teams &amp; &lt;https://x.example|value&gt;" in message["text"], message["text"]
    assert "&lt;!here&gt; week one decides" in message["text"], message["text"]


def test_revising_a_key_result_shows_before_and_after(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)
    kr = key_results(db, objective_id)[0]
    posted = len(slack.calls_to("chat.postMessage"))

    view = open_from_list(driver, slack, f"revise_kr:{kr.id}", user="U0BEN")

    assert initial_values(view) == {
        "metric": "Teams active after their first week",
        "unit": "%",
        "baseline": "20",
        "target": "35",
        "direction": "increase",
        "owner": "U0BEN",
        "reason": None,
    }
    values = key_result_values(
        metric="Teams active after their first week",
        unit="%",
        baseline="22",
        target="1,200",
        owner="U0CLEO",
        reason="The baseline was last month's",
    )
    _submit(driver, view, values)
    text = _announcement(slack, posted + 1)

    assert "<@U0BEN> revised *KR 1.1* Teams active after their first week of *O1* in *Rockets*" in text
    assert "• *KR 1.1* baseline: 20 → 22" in text and "• *KR 1.1* target: 35 → 1,200" in text
    assert "• *KR 1.1* owner: <@U0BEN> → <@U0CLEO>" in text
    [saved, other] = key_results(db, objective_id)
    assert (saved.baseline, saved.target, saved.owner_user_id, saved.current) == (22, 1200, "U0CLEO", 22)
    assert (other.baseline, other.target) == (30, 10)  # the other key result is untouched
    assert objective(db, objective_id).version == 2
    [_, v2] = versions(db, objective_id)
    assert v2.change == "kr_revised" and v2.snapshot["key_results"][0]["target"] == 1200
    [event] = _events(db, "key_result")
    assert (event.action, event.entity_id) == ("revised", kr.id)
    assert {c["field"]: (c["before"], c["after"]) for c in event.data["changes"] if c["subject"] == "KR 1.1"} == {
        "baseline": (20, 22),
        "target": (35, 1200),
        "owner": ("U0BEN", "U0CLEO"),
    }


def test_direction_and_an_emptied_unit_are_saved(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)
    kr = key_results(db, objective_id)[1]

    view = open_from_list(driver, slack, f"revise_kr:{kr.id}", user="U0BEN")
    _submit(
        driver,
        view,
        key_result_values(
            metric="Median minutes to first dashboard",
            baseline="30",
            target="12",
            direction="keep_below",
            reason="A ceiling, not a race",
        ),
    )

    saved = wait_until(lambda: key_results(db, objective_id)[1] if objective(db, objective_id).version == 2 else None)
    assert (saved.direction, saved.unit, saved.target, saved.owner_user_id) == (Direction.KEEP_BELOW, None, 12, None)


BAD_KEY_RESULT = [
    # (case, fields changed from a valid revision, the block the error must be under, words of the error)
    ("words-in-baseline", {"baseline": "12abc"}, "baseline", "without words"),
    ("emoji-in-target", {"target": "🚀"}, "target", "number"),
    ("5000-char-target", {"target": "1" * 5000}, "target", "5,000 characters"),
    ("empty-metric", {"metric": "  "}, "metric", "cannot be empty"),
    ("empty-reason", {"reason": ""}, "reason", "Say why"),
    ("blank-reason", {"reason": " \n "}, "reason", "Say why"),
    ("long-reason", {"reason": "x" * 1001}, "reason", "1,001 characters"),
    ("control-in-reason", {"reason": "fine\x07"}, "reason", "U+0007"),
    ("nothing-changed", {"target": "35"}, "metric", "Nothing changed"),
    ("same-number-other-spelling", {"target": "35.00", "unit": " % "}, "metric", "Nothing changed"),
]


@pytest.mark.parametrize(("case", "change", "block", "words"), BAD_KEY_RESULT, ids=[c[0] for c in BAD_KEY_RESULT])
def test_a_bad_key_result_field_is_shown_under_it_and_nothing_is_written(driver, slack, db, case, change, block, words):
    rockets(driver, slack)
    objective_id = commit(db)
    kr = key_results(db, objective_id)[0]
    view = open_from_list(driver, slack, f"revise_kr:{kr.id}", user="U0BEN")
    before, posted = row_counts(db), len(slack.calls_to("chat.postMessage"))
    fields = {
        "metric": "Teams active after their first week",
        "unit": "%",
        "baseline": "20",
        "target": "40",
        "owner": "U0BEN",
        "reason": "Aim higher",
    } | change

    result = _submit(driver, view, key_result_values(**fields))

    assert result.json["response_action"] == "errors", result.text
    assert block in result.json["errors"] and words in result.json["errors"][block], result.json
    assert [v["id"] for v in slack.open_views("U0BEN")] == [view["id"]]  # still open, with what was typed
    assert row_counts(db) == before
    assert len(slack.calls_to("chat.postMessage")) == posted


def test_every_problem_of_an_objective_revision_is_shown_at_once(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)
    view = open_from_list(driver, slack, f"revise_objective:{objective_id}", user="U0BEN")
    before = row_counts(db)

    result = _submit(driver, view, objective_values(title="", reason=""))

    assert result.json["response_action"] == "errors"
    assert set(result.json["errors"]) == {"title", "reason"}
    assert "cannot be empty" in result.json["errors"]["title"]
    unchanged = _submit(driver, view, objective_values(title="New teams get value in their first week"))
    assert "Nothing changed" in unchanged.json["errors"]["title"]
    assert row_counts(db) == before


def test_dropping_a_key_result_below_two_is_refused_with_the_way_out(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)  # two key results
    kr = key_results(db, objective_id)[0]
    message = list_okrs(driver, slack, user="U0BEN")
    before, opened, responses = row_counts(db), len(slack.calls_to("views.open")), len(slack.responses)

    choose_in_message(driver, message, user="U0BEN", value=f"drop_kr:{kr.id}")

    reply = slack.wait_for_response(count=responses + 1)["body"]
    text = shown(reply)
    assert "O1 has 2 key results; dropping KR 1.1 would leave 1" in text
    assert "Revise KR 1.1 instead, or drop O1 altogether" in text
    assert reply.get("response_type") != "in_channel"
    assert len(slack.calls_to("views.open")) == opened  # no form to fill in for nothing
    assert row_counts(db) == before


def test_dropping_a_key_result_keeps_it_in_history_and_out_of_the_list(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db, key_results=THREE)
    third = key_results(db, objective_id)[2]
    posted = len(slack.calls_to("chat.postMessage"))

    view = open_from_list(driver, slack, f"drop_kr:{third.id}", user="U0BEN")
    assert view["title"]["text"] == "Drop key result" and "stay in `/okr history`" in shown(view)
    _submit(driver, view, {"reason": {"value": {"type": "plain_text_input", "value": "Support moved teams"}}})
    text = _announcement(slack, posted + 1)

    assert "<@U0BEN> dropped *KR 1.3* Support tickets about setup of *O1* in *Rockets*" in text
    assert "other teams hear about it in the digest" in text
    assert [kr.state for kr in key_results(db, objective_id)] == [KeyResultState.ACTIVE] * 2 + [KeyResultState.DROPPED]
    [_, v2] = versions(db, objective_id)
    assert (v2.change, v2.reason, v2.snapshot["key_results"][2]["state"]) == (
        "kr_dropped",
        "Support moved teams",
        "dropped",
    )
    listed = shown(list_okrs(driver, slack, user="U0BEN"))
    assert "KR 1.3" not in listed and "*KR 1.2*" in listed
    # now at two: the next drop is refused
    with db.transaction() as session, pytest.raises(Conflict, match="at least 2"):
        revisions.drop_key_result(
            session,
            key_result_id=key_results(db, objective_id)[0].id,
            workspace_id=third.workspace_id,
            user_id="U0BEN",
            reason="x",
            now=datetime.now(UTC),
        )


def test_a_drop_that_became_too_many_while_the_form_was_open_is_refused(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db, key_results=THREE)
    first, second, _ = key_results(db, objective_id)
    ben_view = open_from_list(driver, slack, f"drop_kr:{first.id}", user="U0BEN")
    ada_view = open_from_list(driver, slack, f"drop_kr:{second.id}", user="U0ADA")
    _submit(driver, ada_view, {"reason": {"value": {"type": "plain_text_input", "value": "Duplicate"}}}, user="U0ADA")
    wait_until(lambda: objective(db, objective_id).version == 2)
    before = row_counts(db)

    result = _submit(driver, ben_view, {"reason": {"value": {"type": "plain_text_input", "value": "Also"}}})

    assert result.json["response_action"] == "update"
    assert "dropping KR 1.1 would leave 1" in shown(result.json["view"])
    assert row_counts(db) == before


def test_dropping_an_objective(driver, slack, db):
    rockets(driver, slack)
    kept = commit(db, title="Kept")
    gone = commit(db, title="Gone soon")
    posted = len(slack.calls_to("chat.postMessage"))

    view = open_from_list(driver, slack, f"drop_objective:{gone}", user="U0ADA")
    assert "frees a place for another objective" in shown(view)
    _submit(
        driver,
        view,
        {"reason": {"value": {"type": "plain_text_input", "value": "Leadership changed focus"}}},
        user="U0ADA",
    )
    text = _announcement(slack, posted + 1)

    assert "<@U0ADA> dropped *O2 · Gone soon* in *Rockets*" in text and ">Leadership changed focus" in text
    saved = objective(db, gone)
    assert (saved.state, saved.version) == (ObjectiveState.DROPPED, 2)
    assert [(v.version, v.change) for v in versions(db, gone)] == [(1, "committed"), (2, "dropped")]
    assert objective(db, kept).state is ObjectiveState.COMMITTED
    [event] = _events(db, "objective")
    assert (event.action, event.entity_id, event.reason) == ("dropped", gone, "Leadership changed focus")
    listed = shown(list_okrs(driver, slack, user="U0ADA"))
    assert "Gone soon" not in listed and "1 objective dropped this cycle" in listed

    # a dropped objective cannot be changed again, even from an old menu
    before, responses = row_counts(db), len(slack.responses)
    choose_in_message(driver, _old_list_with(slack, gone), user="U0ADA", value=f"revise_objective:{gone}")
    reply = slack.wait_for_response(count=responses + 1)["body"]
    assert "O2 was dropped; it stays in `/okr history`" in shown(reply)
    assert row_counts(db) == before


def _old_list_with(slack, objective_id: int) -> dict:
    """The first list the person was shown that still has this objective's menu."""
    for message in slack.ephemerals:
        if any(b.get("block_id") == f"objective:{objective_id}" for b in message["blocks"]):
            return message
    raise AssertionError("no list showed it")


def test_a_non_member_is_refused_by_the_menu_and_by_the_form(driver, slack, db):
    rockets(driver, slack, members=("U0BEN", "U0CLEO"))
    objective_id = commit(db)
    message = list_okrs(driver, slack, user="U0CLEO")
    view = open_from_list(driver, slack, f"revise_objective:{objective_id}", user="U0BEN")
    okr(driver, slack, "team leave", user="U0CLEO")
    okr(driver, slack, "team leave", user="U0BEN")
    before, opened, responses = row_counts(db), len(slack.calls_to("views.open")), len(slack.responses)

    choose_in_message(driver, message, user="U0CLEO", value=f"revise_objective:{objective_id}")
    reply = slack.wait_for_response(count=responses + 1)["body"]
    result = _submit(driver, view, objective_values(title="Taken over"))

    assert "You are not a member of *Rockets*" in shown(reply) and reply.get("response_type") != "in_channel"
    assert len(slack.calls_to("views.open")) == opened
    assert result.json["response_action"] == "update"
    assert "You are not a member of *Rockets*" in shown(result.json["view"])
    assert row_counts(db) == before
    with db.transaction() as session, pytest.raises(NotAllowed):
        revisions.revise_objective(
            session,
            objective_id=objective_id,
            workspace_id=objective(db, objective_id).workspace_id,
            user_id="U0CLEO",
            title="x",
            why="",
            reason="y",
            now=datetime.now(UTC),
        )


def test_a_stale_menu_value_is_answered_not_crashed(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    message = list_okrs(driver, slack, user="U0BEN")
    block = next(b for b in message["blocks"] if b.get("block_id", "").startswith("objective:"))

    for value in ("revise_objective:999999", "explode:1", "revise_kr:abc"):
        responses = len(slack.responses)
        driver.click(
            user="U0BEN",
            action_id="okr_menu",
            channel=message["channel"],
            ts=message["ts"],
            block_id=block["block_id"],
            selected_option={"text": {"type": "plain_text", "text": "x"}, "value": value},
        )
        text = shown(slack.wait_for_response(count=responses + 1)["body"])
        assert "no longer exists" in text or "out of date" in text, (value, text)


def test_two_revisions_at_once_get_the_next_two_versions(db):
    """The objective's row is locked before its version is read: the second waits, then becomes version 3."""
    from tests import factories

    with db.transaction() as session:
        team = factories.team(session, factories.workspace(session))
        factories.member(session, team, "U0BEN")
        factories.member(session, team, "U0CLEO")
        created = factories.committed_objective(session, team, now=datetime.now(UTC))
        objective_id, workspace_id = created.id, team.workspace_id
    second_done = threading.Event()
    outcome: list[object] = []

    def second() -> None:
        try:
            with db.transaction() as session:
                change = revisions.revise_objective(
                    session,
                    objective_id=objective_id,
                    workspace_id=workspace_id,
                    user_id="U0CLEO",
                    title="Second title",
                    why="",
                    reason="Two",
                    now=datetime.now(UTC),
                )
                outcome.append(change.version)
        except Exception as error:  # the test reports it below
            outcome.append(error)
        second_done.set()

    with db.transaction() as session:
        first = revisions.revise_objective(
            session,
            objective_id=objective_id,
            workspace_id=workspace_id,
            user_id="U0BEN",
            title="First title",
            why="",
            reason="One",
            now=datetime.now(UTC),
        )
        thread = threading.Thread(target=second)
        thread.start()
        assert not second_done.wait(0.5)  # waits for the first transaction to end
    thread.join(10)

    assert first.version == 2 and outcome == [3]
    assert [(v.version, v.actor_user_id, v.snapshot["title"]) for v in versions(db, objective_id)] == [
        (1, "U0ADA", "New teams get value in their first week"),
        (2, "U0BEN", "First title"),
        (3, "U0CLEO", "Second title"),
    ]
