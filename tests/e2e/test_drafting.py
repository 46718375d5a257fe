"""`/okr draft` end to end: the three steps, closing and resuming, sharing, committing, discarding."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from storage.models import (
    Cycle,
    CycleState,
    Direction,
    Draft,
    DraftState,
    DraftStep,
    EventLog,
    KeyResult,
    Objective,
    ObjectiveVersion,
    Team,
)
from tests.e2e.support import assert_clean_error, create_team, join_team, okr, row_counts, shown, wait_until
from tests.helpers import flatten


@pytest.fixture
def rockets(driver, slack):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")


# what Slack puts in state.values for each form ---------------------------------------------------------


def objective_values(title: str, why: str = "", vision: str | None = None) -> dict:
    values = {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "why": {"value": {"type": "plain_text_input", "value": why or None}},
    }
    if vision is not None:
        values["vision"] = {"value": {"type": "static_select", "selected_option": {"value": vision}}}
    return values


def kr_values(
    metric="Teams active after their first week",
    unit="%",
    baseline="40",
    target="65",
    direction="increase",
    owner: str | None = "U0BEN",
) -> dict:
    return {
        "metric": {"value": {"type": "plain_text_input", "value": metric}},
        "unit": {"value": {"type": "plain_text_input", "value": unit or None}},
        "baseline": {"value": {"type": "plain_text_input", "value": baseline or None}},
        "target": {"value": {"type": "plain_text_input", "value": target or None}},
        "direction": {"value": {"type": "static_select", "selected_option": {"value": direction}}},
        "owner": {"value": {"type": "users_select", "selected_user": owner}},
    }


# steps a person takes --------------------------------------------------------------------------------


def top(slack, user: str) -> dict:
    stack = slack.open_views(user)
    assert stack, f"{user} has no modal open"
    return slack.view_payload(stack[-1]["id"])


def draft_command(driver, slack, text: str = "", *, user: str = "U0ADA", channel: str = "C0ROCKET") -> dict:
    """`/okr draft …`: the modal the bot opened."""
    opened = len(slack.calls_to("views.open"))
    result = driver.command(f"draft {text}".strip(), user=user, channel=channel)
    assert result.status == 200 and not result.body, result.text
    call = slack.wait_for("views.open", count=opened + 1)
    assert call.ok, call.response
    return top(slack, user)


def submit(driver, slack, values: dict | None = None, *, user: str = "U0ADA") -> dict:
    view = top(slack, user)
    result = driver.submit_view(view["id"], user=user, values=values or {})
    assert result.status == 200, result.text
    return result.json if isinstance(result.json, dict) else {}


def add_kr(driver, slack, values: dict, *, user: str = "U0ADA") -> dict:
    """Press "Add a key result" on the list, fill the pushed form, save: the refreshed list."""
    listing = top(slack, user)
    pushes, updates = len(slack.calls_to("views.push")), len(slack.calls_to("views.update"))
    driver.click(user=user, action_id="draft_kr_add", view_id=listing["id"])
    slack.wait_for("views.push", count=pushes + 1)
    form = top(slack, user)
    assert form["callback_id"] == "draft_key_result"
    body = submit(driver, slack, values, user=user)
    assert body == {}, body  # the pushed form closes; the list under it is refreshed
    slack.wait_for("views.update", count=updates + 1)
    refreshed = top(slack, user)
    assert refreshed["id"] == listing["id"]
    return refreshed


def the_draft(db) -> Draft:
    with db.transaction() as session:
        return session.scalars(select(Draft).order_by(Draft.id.desc())).first()


def full_draft(driver, slack, *, user: str = "U0ADA", title: str = "New teams get value in their first week") -> dict:
    """Open, fill the objective and two key results, and reach the review step."""
    draft_command(driver, slack, user=user)
    submit(driver, slack, objective_values(title, why="Half of new teams leave in week one"), user=user)
    add_kr(driver, slack, kr_values(), user=user)
    add_kr(
        driver,
        slack,
        kr_values(
            metric="Median minutes to the first check-in",
            unit="min",
            baseline="300",
            target="30",
            direction="decrease",
            owner="U0CLEO",
        ),
        user=user,
    )
    submit(driver, slack, user=user)
    review = top(slack, user)
    assert review["callback_id"] == "draft_review"
    return review


def share(driver, slack, *, user: str = "U0ADA") -> dict:
    posted = len(slack.calls_to("chat.postMessage"))
    body = submit(driver, slack, user=user)
    assert body == {}, body
    slack.wait_for("chat.postMessage", count=posted + 1)
    return slack.messages("C0ROCKET")[-1]


def press(driver, slack, message: dict, action_id: str, *, user: str) -> None:
    driver.click(user=user, action_id=action_id, channel="C0ROCKET", ts=message["ts"])


# the flow ---------------------------------------------------------------------------------------------


def test_draft_share_commit_end_to_end(driver, slack, db, rockets):
    view = draft_command(driver, slack, "New teams get value in their first week")
    assert view["callback_id"] == "draft_objective"
    assert view["state"]["values"] == {} and "New teams get value" in str(view["blocks"])  # prefilled

    body = submit(driver, slack, objective_values("New teams get value in their first week", why="Churn"))
    assert body["response_action"] == "update"
    listing = top(slack, "U0ADA")
    assert listing["callback_id"] == "draft_key_results" and "No key results yet" in flatten(listing)
    assert the_draft(db).step is DraftStep.KEY_RESULTS

    listing = add_kr(driver, slack, kr_values())
    assert "KR 1." in flatten(listing) and "40 → 65 %" in shown(listing)
    listing = add_kr(
        driver,
        slack,
        kr_values(
            metric="Median minutes to first check-in", baseline="300", target="30", unit="min", direction="decrease"
        ),
    )
    assert "KR 2." in flatten(listing)
    assert len(the_draft(db).content["key_results"]) == 2

    submit(driver, slack)
    review = top(slack, "U0ADA")
    assert review["callback_id"] == "draft_review"
    assert "The coach's notes" in flatten(review)
    assert the_draft(db).step is DraftStep.REVIEW

    message = share(driver, slack)
    assert slack.open_views("U0ADA") == []
    text = shown(message)
    assert "<@U0ADA> shared a draft objective for *Rockets*" in text
    assert "New teams get value in their first week" in text and "300 → 30 min" in text
    wait_until(lambda: the_draft(db).shared_ts == message["ts"])
    assert the_draft(db).state is DraftState.SHARED

    before_posts = len(slack.calls_to("chat.postMessage"))
    press(driver, slack, message, "draft_commit", user="U0BEN")  # any member may commit
    slack.wait_for("chat.postMessage", count=before_posts + 1)
    announcement = shown(slack.messages("C0ROCKET")[-1])
    assert "<@U0BEN> committed *O1. New teams get value in their first week*" in announcement
    assert "KR 1.2" in announcement and "300 → 30 min" in announcement
    updated = slack.message("C0ROCKET", message["ts"])
    assert "Committed by <@U0BEN> as *O1*" in shown(updated)
    assert "draft_commit" not in str(updated["blocks"])  # the buttons are gone

    with db.transaction() as session:
        objective = session.scalars(select(Objective)).one()
        krs = session.scalars(select(KeyResult).order_by(KeyResult.position)).all()
        version = session.scalars(select(ObjectiveVersion)).one()
        cycle = session.scalars(select(Cycle)).one()
        log = session.scalars(select(EventLog).where(EventLog.action == "committed")).one()
        assert (objective.number, objective.title, objective.why) == (
            1,
            "New teams get value in their first week",
            "Churn",
        )
        assert [(k.position, k.baseline, k.target, k.current, k.direction, k.owner_user_id) for k in krs] == [
            (1, 40.0, 65.0, 40.0, Direction.INCREASE, "U0BEN"),
            (2, 300.0, 30.0, 300.0, Direction.DECREASE, "U0BEN"),
        ]
        assert version.version == 1 and version.change == "committed" and version.actor_user_id == "U0BEN"
        assert version.snapshot["key_results"][0]["metric"] == "Teams active after their first week"
        assert cycle.state is CycleState.ACTIVE and cycle.number == 1
        assert log.actor_user_id == "U0BEN" and log.entity_id == objective.id
    draft = the_draft(db)
    assert draft.state is DraftState.COMMITTED and draft.objective_id == objective.id


def test_closing_half_way_and_resuming_loses_nothing(driver, slack, db, rockets):
    view = draft_command(driver, slack)
    driver.close_view(view["id"], user="U0ADA")  # nothing typed yet
    view = draft_command(driver, slack)
    # typed, then closed without pressing Next
    slack.set_view_state(view["id"], objective_values("Make onboarding effortless", why="Teams\nleave"))
    wait_until(lambda: True)
    driver.close_view(view["id"], user="U0ADA")
    wait_until(lambda: the_draft(db).content.get("title") == "Make onboarding effortless")
    assert the_draft(db).content["why"] == "Teams\nleave"

    again = draft_command(driver, slack)
    assert again["callback_id"] == "draft_objective"
    assert "Make onboarding effortless" in str(again["blocks"])  # the form is filled in again
    with db.transaction() as session:
        assert session.query(Draft).count() == 1  # resumed, not a second draft

    submit(driver, slack, objective_values("Make onboarding effortless"))
    add_kr(driver, slack, kr_values())
    # a second key result, half typed, then the whole modal is closed
    listing = top(slack, "U0ADA")
    pushes = len(slack.calls_to("views.push"))
    driver.click(user="U0ADA", action_id="draft_kr_add", view_id=listing["id"])
    slack.wait_for("views.push", count=pushes + 1)
    form = top(slack, "U0ADA")
    slack.set_view_state(
        form["id"], kr_values(metric="Support tickets per new team", baseline="12", target="", direction="decrease")
    )
    driver.close_view(form["id"], user="U0ADA")
    wait_until(lambda: (the_draft(db).content.get("pending") or {}).get("metric") == "Support tickets per new team")
    assert the_draft(db).content["pending"]["baseline"] == "12"

    # back on the list; "Add a key result" brings the half-typed one back
    listing = top(slack, "U0ADA")
    driver.close_view(listing["id"], user="U0ADA")
    again = draft_command(driver, slack)
    assert again["callback_id"] == "draft_key_results"
    assert "Finish the key result you started" in flatten(again)
    pushes = len(slack.calls_to("views.push"))
    driver.click(user="U0ADA", action_id="draft_kr_add", view_id=again["id"])
    slack.wait_for("views.push", count=pushes + 1)
    assert "Support tickets per new team" in str(top(slack, "U0ADA")["blocks"])


def test_a_draft_left_on_a_key_result_form_reopens_on_that_form(driver, slack, db, rockets):
    """When Slack clears the whole stack from the key result's form, the draft is left on that form."""
    draft_command(driver, slack)
    submit(driver, slack, objective_values("Make onboarding effortless"))
    driver.close_view(top(slack, "U0ADA")["id"], user="U0ADA")
    with db.transaction() as session:
        draft = session.scalars(select(Draft)).one()
        draft.step = DraftStep.KEY_RESULT
        draft.content = {**draft.content, "pending": {**kr_values_typed(), "target": ""}, "pending_index": None}

    form = draft_command(driver, slack)
    assert form["callback_id"] == "draft_key_result"
    assert form["previous_view_id"] is None
    assert "Weekly active teams" in str(form["blocks"])

    body = submit(driver, slack, kr_values(metric="Weekly active teams", baseline="80", target="120"))

    assert body["response_action"] == "update"  # a form at the root moves on to the list itself
    assert top(slack, "U0ADA")["callback_id"] == "draft_key_results"
    saved = the_draft(db)
    assert saved.content["key_results"][0]["target"] == "120" and saved.content["pending"] is None
    assert saved.step is DraftStep.KEY_RESULTS


def kr_values_typed() -> dict:
    return {
        "metric": "Weekly active teams",
        "unit": "",
        "baseline": "80",
        "target": "",
        "direction": "increase",
        "owner": "",
    }


BAD_FIELDS = [
    # (values for the key result form, the block whose error is expected, words in the error)
    (kr_values(baseline="forty"), "baseline", "number"),
    (kr_values(target="x" * 5000), "target", "5,000 characters"),
    (kr_values(target="🚀"), "target", "number"),
    (kr_values(metric=""), "metric", "empty"),
    (kr_values(metric="Active \u202eteams"), "metric", "invisible"),
    (kr_values(baseline="nan"), "baseline", "number"),
    (kr_values(direction="sideways"), "direction", "direction"),
]


@pytest.mark.parametrize(
    ("values", "field", "words"), BAD_FIELDS, ids=[b[1] + str(i) for i, b in enumerate(BAD_FIELDS)]
)
def test_bad_key_result_input_is_shown_on_its_field_and_nothing_is_saved(
    driver, slack, db, rockets, values, field, words
):
    draft_command(driver, slack)
    submit(driver, slack, objective_values("Make onboarding effortless"))
    add_kr(driver, slack, kr_values(metric="Weekly active teams"))
    listing = top(slack, "U0ADA")
    pushes = len(slack.calls_to("views.push"))
    driver.click(user="U0ADA", action_id="draft_kr_add", view_id=listing["id"])
    slack.wait_for("views.push", count=pushes + 1)
    before, saved = row_counts(db), the_draft(db)

    body = submit(driver, slack, values)

    assert body["response_action"] == "errors", body
    assert set(body["errors"]) == {field}, body["errors"]
    assert words in body["errors"][field], body["errors"]
    form = top(slack, "U0ADA")
    assert form["callback_id"] == "draft_key_result"  # still open, with what was typed
    assert form["state"]["values"]["metric"]["value"]["value"] == values["metric"]["value"]["value"]
    after = the_draft(db)
    assert row_counts(db) == before
    assert (after.version, after.content) == (saved.version, saved.content)


@pytest.mark.parametrize(
    ("title", "words"), [("", "empty"), ("   ", "empty"), ("a\u200bb", "invisible"), ("x" * 301, "301 characters")]
)
def test_bad_objective_is_shown_on_its_field(driver, slack, db, rockets, title, words):
    draft_command(driver, slack)
    saved = the_draft(db)
    body = submit(driver, slack, objective_values(title, why="Still here"))
    assert body["response_action"] == "errors" and words in body["errors"]["title"], body
    assert top(slack, "U0ADA")["state"]["values"]["why"]["value"]["value"] == "Still here"
    assert the_draft(db).version == saved.version


def test_a_long_or_hostile_objective_on_the_command_line_is_refused_before_anything_is_written(
    driver, slack, db, rockets
):
    before = row_counts(db)
    reply = okr(driver, slack, "draft " + "y" * 400)
    assert_clean_error(reply, "400 characters")
    reply = okr(driver, slack, "draft ship \u202efast")
    assert_clean_error(reply, "invisible")
    assert row_counts(db) == before
    assert slack.calls_to("views.open") == []


def test_only_members_draft(driver, slack, db, rockets):
    before = row_counts(db)
    reply = okr(driver, slack, "draft Grow", user="U0CLEO")
    assert_clean_error(reply, "team join")
    assert row_counts(db) == before


def test_two_people_drafting_for_one_team_keep_their_own_drafts(driver, slack, db, rockets):
    draft_command(driver, slack, user="U0ADA")
    draft_command(driver, slack, user="U0BEN")
    submit(driver, slack, objective_values("Ada's objective"), user="U0ADA")
    submit(driver, slack, objective_values("Ben's objective"), user="U0BEN")
    add_kr(driver, slack, kr_values(metric="Ada's metric"), user="U0ADA")
    add_kr(driver, slack, kr_values(metric="Ben's metric"), user="U0BEN")
    with db.transaction() as session:
        drafts = {d.author_user_id: d.content for d in session.scalars(select(Draft))}
    assert drafts["U0ADA"]["title"] == "Ada's objective"
    assert [k["metric"] for k in drafts["U0ADA"]["key_results"]] == ["Ada's metric"]
    assert drafts["U0BEN"]["title"] == "Ben's objective"
    assert [k["metric"] for k in drafts["U0BEN"]["key_results"]] == ["Ben's metric"]


STALE = "saved this draft after you opened this form"
MOVED_ON = "changed this draft since you opened it: here it is as it is now"  # a step with nothing typed in it


def edit_shared(driver, slack, message: dict, *, user: str) -> dict:
    """**Edit** on the shared draft: the review step, in a modal of the person's own."""
    opened = len(slack.calls_to("views.open"))
    press(driver, slack, message, "draft_edit", user=user)
    slack.wait_for("views.open", count=opened + 1)
    return top(slack, user)


def goto(driver, slack, step: str, *, user: str) -> dict:
    """**Edit objective** / **Edit key results** in the person's modal: the step it moves to."""
    updates = len(slack.calls_to("views.update"))
    driver.click(user=user, action_id="draft_goto", value=step, view_id=top(slack, user)["id"])
    slack.wait_for("views.update", count=updates + 1)
    return top(slack, user)


def both_editing(driver, slack, message: dict) -> None:
    """Cleo joins the team, then Ben and Cleo both open the shared draft to edit it."""
    join_team(driver, slack, user="U0CLEO", channel="C0ROCKET")
    for user in ("U0BEN", "U0CLEO"):
        edit_shared(driver, slack, message, user=user)


def test_a_stale_form_never_overwrites_a_newer_save(driver, slack, db, rockets):
    full_draft(driver, slack)
    both_editing(driver, slack, share(driver, slack))  # and both go to its objective
    for user in ("U0BEN", "U0CLEO"):
        assert goto(driver, slack, "objective", user=user)["callback_id"] == "draft_objective", user

    body = submit(driver, slack, objective_values("Ben's better objective"), user="U0BEN")
    assert body["response_action"] == "update"
    assert the_draft(db).content["title"] == "Ben's better objective"

    # Cleo's form still holds the objective as it was before Ben's save: it cannot overwrite his
    body = submit(driver, slack, objective_values("Cleo's objective"), user="U0CLEO")
    assert body["response_action"] == "errors" and STALE in body["errors"]["title"], body
    assert "<@U0BEN>" in body["errors"]["title"]
    assert the_draft(db).content["title"] == "Ben's better objective"


def test_moving_between_steps_leaves_the_others_forms_current(driver, slack, db, rockets):
    title, why = "New teams get value in their first week", "Half of new teams leave in week one"
    full_draft(driver, slack, title=title)
    both_editing(driver, slack, share(driver, slack))
    version = the_draft(db).version

    # Ben only looks around: to the objective, on to the key results unchanged, back to the review
    goto(driver, slack, "objective", user="U0BEN")
    assert submit(driver, slack, objective_values(title, why=why), user="U0BEN")["response_action"] == "update"
    assert top(slack, "U0BEN")["callback_id"] == "draft_key_results"
    assert submit(driver, slack, user="U0BEN")["response_action"] == "update"
    assert top(slack, "U0BEN")["callback_id"] == "draft_review"
    assert goto(driver, slack, "key_results", user="U0BEN")["callback_id"] == "draft_key_results"
    assert (the_draft(db).version, the_draft(db).content["title"]) == (version, title)

    # Cleo's form, opened before all that, is still current: she edits the objective and it is saved
    objective = goto(driver, slack, "objective", user="U0CLEO")
    assert objective["callback_id"] == "draft_objective" and STALE not in flatten(objective)
    body = submit(driver, slack, objective_values("Cleo's sharper objective", why=why), user="U0CLEO")
    assert body["response_action"] == "update" and STALE not in flatten(body["view"])
    saved = the_draft(db)
    assert (saved.content["title"], saved.version, saved.updated_by) == (
        "Cleo's sharper objective",
        version + 1,
        "U0CLEO",
    )

    # a change of what the draft says does make Ben's list out of date: his next step shows Cleo's version
    body = submit(driver, slack, user="U0BEN")
    assert body["response_action"] == "update" and MOVED_ON in flatten(body["view"]), body
    assert "Copy what you typed" not in flatten(body["view"])  # he typed nothing: nothing of his is lost
    assert "<@U0CLEO>" in flatten(body["view"]) and "Cleo's sharper objective" in flatten(body["view"])
    assert the_draft(db).version == version + 1


def test_sharing_again_from_a_form_opened_before_someone_elses_change_is_refused(driver, slack, db, rockets):
    full_draft(driver, slack)
    both_editing(driver, slack, share(driver, slack))
    goto(driver, slack, "objective", user="U0BEN")
    submit(driver, slack, objective_values("Ben's better objective"), user="U0BEN")  # a change of content
    updates = len(slack.calls_to("chat.update"))

    body = submit(driver, slack, user="U0CLEO")  # Cleo's review: "Update the shared draft"
    assert body["response_action"] == "update" and MOVED_ON in flatten(body["view"]), body
    assert "Ben's better objective" in flatten(body["view"])  # what she is shown now is Ben's version
    assert len(slack.calls_to("chat.update")) == updates
    assert the_draft(db).content["title"] == "Ben's better objective"


def test_remove_and_edit_a_key_result_in_the_list(driver, slack, db, rockets):
    draft_command(driver, slack)
    submit(driver, slack, objective_values("Make onboarding effortless"))
    add_kr(driver, slack, kr_values(metric="First"))
    listing = add_kr(driver, slack, kr_values(metric="Second"))

    updates = len(slack.calls_to("views.update"))
    driver.click(user="U0ADA", action_id="draft_kr_remove:0", view_id=listing["id"])
    slack.wait_for("views.update", count=updates + 1)
    assert [k["metric"] for k in the_draft(db).content["key_results"]] == ["Second"]

    listing = top(slack, "U0ADA")
    pushes, updates = len(slack.calls_to("views.push")), len(slack.calls_to("views.update"))
    driver.click(user="U0ADA", action_id="draft_kr_edit:0", view_id=listing["id"])
    slack.wait_for("views.push", count=pushes + 1)
    assert "Second" in str(top(slack, "U0ADA")["blocks"])
    submit(driver, slack, kr_values(metric="Second, sharper", target="90"))
    slack.wait_for("views.update", count=updates + 1)
    assert [(k["metric"], k["target"]) for k in the_draft(db).content["key_results"]] == [("Second, sharper", "90")]


def test_the_review_shows_the_coach_findings_and_so_does_the_shared_draft(driver, slack, db, rockets):
    draft_command(driver, slack)
    submit(driver, slack, objective_values("Grow revenue to 2M by March"))
    add_kr(driver, slack, kr_values(metric="Launch the new pricing page", baseline="", target=""))
    submit(driver, slack)
    view = top(slack, "U0ADA")
    review = flatten(view)
    assert ":no_entry:" in review and "1 key result" in review  # kr_count: a hard limit
    assert "KR 1 describes work to do" in review  # kr_output_wording
    assert "Committing will wait" in review
    # each note is followed, in small print, by the code `okr-bot lint` reports for it
    blocks = view["blocks"]
    notes = {
        context["elements"][0]["text"]: note["text"]["text"]
        for note, context in itertools.pairwise(blocks)
        if note["type"] == "section" and context["type"] == "context" and context["elements"][0]["text"][0] == "`"
    }
    assert set(notes) == {
        "`kr_count`",
        "`objective_is_metric`",
        "`kr_output_wording`",
        "`kr_not_measurable`",
        "`objective_missing_why`",
    }
    assert "KR 1 describes work to do" in notes["`kr_output_wording`"] and "1 key result" in notes["`kr_count`"]
    assert "okr-bot lint" in flatten(view)

    message = share(driver, slack)
    assert "Coach:" in flatten(message)
    lines = flatten(message).splitlines()  # in the shared draft, each note ends with its code
    assert any(line.endswith("`kr_output_wording`") and "KR 1 describes work to do" in line for line in lines)
    assert all(any(line.endswith(code) for line in lines) for code in notes)
    responses = len(slack.responses)
    press(driver, slack, message, "draft_commit", user="U0BEN")
    reply = slack.wait_for_response(count=responses + 1)
    assert "2 to 5 key results" in shown(reply["body"])
    with db.transaction() as session:
        assert session.query(Objective).count() == 0
    assert the_draft(db).state is DraftState.SHARED  # still there to fix


def test_the_objective_limit_is_enforced_at_commit(driver, slack, db, rockets):
    okr(driver, slack, "team settings max-objectives=1")
    full_draft(driver, slack, title="First objective")
    first = share(driver, slack)
    press(driver, slack, first, "draft_commit", user="U0ADA")
    wait_until(lambda: "Committed by" in shown(slack.message("C0ROCKET", first["ts"])))

    review = full_draft(driver, slack, title="Second objective")
    # the note says it in words; its code stands apart, in the small print under it
    (note,) = [b["text"]["text"] for b in review["blocks"] if "limit is 1" in b.get("text", {}).get("text", "")]
    assert note.startswith(":no_entry:") and "too_many" not in note
    assert "`too_many_objectives`" in flatten(review)
    second = share(driver, slack)
    responses = len(slack.responses)
    press(driver, slack, second, "draft_commit", user="U0BEN")
    reply = slack.wait_for_response(count=responses + 1)
    assert "its limit" in shown(reply["body"]) and "team settings" in shown(reply["body"])
    with db.transaction() as session:
        assert session.query(Objective).count() == 1


def test_commit_pressed_before_the_shared_message_is_saved_still_updates_it(driver, slack, db, rockets):
    full_draft(driver, slack)
    posted = len(slack.calls_to("chat.postMessage"))
    slack.hold_next("chat.postMessage", 1.5)  # the message is posted; the bot hears its ts 1.5 s later
    assert submit(driver, slack) == {}
    slack.wait_for("chat.postMessage", count=posted + 1)
    message = slack.messages("C0ROCKET")[-1]
    with db.transaction() as session:
        assert session.query(Draft).one().shared_ts is None  # the instant the button is pressed in
    press(driver, slack, message, "draft_commit", user="U0BEN")
    wait_until(lambda: "Committed by" in shown(slack.message("C0ROCKET", message["ts"])))
    wait_until(lambda: db_shared_ts(db) == message["ts"])
    assert "Committed by" in shown(slack.message("C0ROCKET", message["ts"]))  # not drawn back as shared


def db_shared_ts(db) -> str | None:
    with db.transaction() as session:
        return session.query(Draft).one().shared_ts


def test_committing_twice_commits_once(driver, slack, db, rockets):
    full_draft(driver, slack)
    message = share(driver, slack)
    responses = len(slack.responses)
    (block, button), *_ = [
        (b, e) for b in message["blocks"] for e in b.get("elements", []) if e.get("action_id") == "draft_commit"
    ]
    press(driver, slack, message, "draft_commit", user="U0ADA")
    # Ben's Slack still shows the message as it was: his click comes even if Ada's commit has redrawn it already
    driver.click(
        user="U0BEN",
        action_id="draft_commit",
        value=button["value"],
        channel="C0ROCKET",
        ts=message["ts"],
        block_id=block.get("block_id") or "actions",
    )
    reply = slack.wait_for_response(count=responses + 1)
    assert "already committed" in shown(reply["body"])
    with db.transaction() as session:
        assert session.query(Objective).count() == 1
        assert session.query(ObjectiveVersion).count() == 1


def test_discard_keeps_the_draft_and_only_its_author_or_a_facilitator_may(driver, slack, db, rockets):
    full_draft(driver, slack, user="U0BEN")
    message = share(driver, slack, user="U0BEN")
    join_team(driver, slack, user="U0CLEO", channel="C0ROCKET")
    responses = len(slack.responses)
    press(driver, slack, message, "draft_discard", user="U0CLEO")
    reply = slack.wait_for_response(count=responses + 1)
    assert "Only <@U0BEN>" in shown(reply["body"])
    assert the_draft(db).state is DraftState.SHARED

    press(driver, slack, message, "draft_discard", user="U0ADA")  # a facilitator
    wait_until(lambda: "Discarded by <@U0ADA>" in shown(slack.message("C0ROCKET", message["ts"])))
    assert the_draft(db).state is DraftState.DISCARDED
    assert the_draft(db).content["title"]  # kept


def test_resume_from_the_app_home(driver, slack, db, rockets):
    draft_command(driver, slack, "Make onboarding effortless")
    driver.close_view(top(slack, "U0ADA")["id"], user="U0ADA")
    draft = the_draft(db)
    # the Home tab's "Resume" button
    opened = len(slack.calls_to("views.open"))
    home = _home(driver, slack)
    assert "Make onboarding effortless" in shown(home)
    driver.click(user="U0ADA", action_id="draft_resume", view_id=home["id"])  # the Home tab's own button
    slack.wait_for("views.open", count=opened + 1)
    assert "Make onboarding effortless" in str(top(slack, "U0ADA")["blocks"])

    # someone else's unshared draft cannot be resumed by id
    opened = len(slack.calls_to("views.open"))
    home = _home(driver, slack, "U0BEN")
    driver.click(user="U0BEN", action_id="draft_resume", value=str(draft.id), view_id=home["id"], block_id="resume")
    slack.wait_for("views.open", count=opened + 1)
    assert "has not been shared yet" in flatten(top(slack, "U0BEN"))


def _home(driver, slack, user: str = "U0ADA") -> dict:
    published = len(slack.calls_to("views.publish"))
    driver.open_home(user)
    slack.wait_for("views.publish", count=published + 1)
    return slack.home(user)


def test_a_draft_outside_the_team_channel_asks_which_team(driver, slack, db, rockets):
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    reply = okr(driver, slack, "draft Grow", user="U0BEN", channel="C0GENERAL")
    assert "Which team" in reply.text or "which team" in reply.text
    with db.transaction() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "Growth"))
    opened = len(slack.calls_to("views.open"))
    driver.click(user="U0BEN", action_id=f"choose_team:{team_id}", channel="C0GENERAL", ts=slack.ephemerals[-1]["ts"])
    slack.wait_for("views.open", count=opened + 1)
    assert "Growth" in flatten(top(slack, "U0BEN"))
    assert the_draft(db).team_id == team_id


def test_the_coach_knows_other_teams_and_the_teams_past_cycles(driver, slack, db, rockets):
    # Growth has committed a key result that Rockets is about to copy
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    draft_command(driver, slack, user="U0BEN", channel="C0GROWTH")
    submit(driver, slack, objective_values("Grow the teams that stay"), user="U0BEN")
    add_kr(driver, slack, kr_values(metric="Weekly active teams", baseline="80", target="120"), user="U0BEN")
    add_kr(driver, slack, kr_values(metric="Paid seats", baseline="10", target="30"), user="U0BEN")
    submit(driver, slack, user="U0BEN")
    posted = len(slack.calls_to("chat.postMessage"))
    submit(driver, slack, user="U0BEN")
    slack.wait_for("chat.postMessage", count=posted + 1)
    shared = slack.messages("C0GROWTH")[-1]
    driver.click(user="U0BEN", action_id="draft_commit", channel="C0GROWTH", ts=shared["ts"])
    wait_until(lambda: "Committed by" in shown(slack.message("C0GROWTH", shared["ts"])))

    # Rockets closed a cycle with every key result at its target
    with db.transaction() as session:
        team = session.scalars(select(Team).where(Team.name == "Rockets")).one()
        past = Cycle(
            workspace_id=team.workspace_id,
            team_id=team.id,
            number=0,
            state=CycleState.CLOSED,
            starts_on=team.cycle_anchor.replace(year=team.cycle_anchor.year - 1),
            ends_on=team.cycle_anchor,
        )
        session.add(past)
        session.flush()
        done = Objective(
            workspace_id=team.workspace_id, cycle_id=past.id, number=1, title="Old", author_user_id="U0ADA"
        )
        session.add(done)
        session.flush()
        for n in (1, 2):
            kr = KeyResult(
                workspace_id=team.workspace_id,
                objective_id=done.id,
                position=n,
                metric=f"m{n}",
                baseline=0,
                target=10,
                current=10,
            )
            session.add(kr)

    draft_command(driver, slack)
    submit(driver, slack, objective_values("Teams keep coming back"))
    add_kr(driver, slack, kr_values(metric="Weekly active teams!", baseline="80", target="150"))
    submit(driver, slack)
    review = shown(top(slack, "U0ADA"))
    assert "Growth" in review  # kr_copied_from_other_team names the team it was copied from
    assert "0.7" in review  # targets_look_safe: a perfect past cycle is a sign of safe targets
    assert "`kr_copied_from_other_team`" in review and "`targets_look_safe`" in review

    message = share(driver, slack)  # the shared draft carries the same notes, with the same codes
    assert "Growth" in shown(message) and "0.7" in shown(message)
    assert "`kr_copied_from_other_team`" in shown(message) and "`targets_look_safe`" in shown(message)
