"""A programming error, end to end, on each surface a person meets: it is logged as an error with its traceback and
shown as "something went wrong on the bot's side", never as a form or button "out of date"; nothing is saved.

The bug is a stand-in put where a ritual is called (there is no real one to find); everything else is the real app
behind signed HTTP and the fake Slack. The mapping itself is tested per error class in
tests/unit/test_error_mapping.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import handlers.checkins
import handlers.triage
from bot.rituals import drafts
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import create_team, okr, row_counts, shown
from tests.e2e.test_checkins import checkin_reply, key_results, modal_values, open_checkin

WENT_WRONG = "Something went wrong on the bot's side"


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def bugs(self) -> list[BaseException]:
        return [r.exc_info[1] for r in self.records if r.exc_info and isinstance(r.exc_info[1], Bug)]


class Bug(AttributeError):
    """What a slip in the code raises: an attribute of None, say."""


def broken(*_args, **_kwargs):
    raise Bug("'NoneType' object has no attribute 'id'")


@pytest.fixture
def errors() -> Iterator[Errors]:
    handler = Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_a_command_that_hits_a_bug_says_something_went_wrong(driver, slack, db, errors, monkeypatch):
    create_team(driver, slack, "Rockets")
    before = row_counts(db)
    monkeypatch.setattr(handlers.triage.rules, "open_round", broken)
    reply = okr(driver, slack, "triage start")
    assert reply.ephemeral and WENT_WRONG in reply.text, reply.text
    assert "out of date" not in reply.text
    assert errors.bugs(), "the bug was not logged as an error"
    assert row_counts(db) == before


def test_a_form_that_hits_a_bug_stays_open_with_what_was_typed_and_says_something_went_wrong(
    driver, slack, db, errors, monkeypatch
):
    """The check-in form used to answer an AttributeError or TypeError as "This form is out of date"."""
    rockets(driver, slack, members=("U0BEN",))
    commit(db)
    kr_id = key_results(db)["U0BEN"].id
    reply = checkin_reply(driver, slack, user="U0BEN")
    view = open_checkin(driver, slack, db, user="U0BEN", message=reply, channel="C0ROCKET", kr_id=kr_id)
    before = row_counts(db)
    monkeypatch.setattr(handlers.checkins, "record_checkin", broken)
    result = driver.submit_view(view["id"], user="U0BEN", values=modal_values("26", "7"))
    answer = result.json
    assert result.status == 200 and answer["response_action"] == "errors", result.text  # the form stays open
    (message,) = answer["errors"].values()
    assert WENT_WRONG in message and "out of date" not in message
    assert errors.bugs()
    assert row_counts(db) == before


def test_a_click_on_the_app_home_that_hits_a_bug_opens_a_small_form_saying_something_went_wrong(
    driver, slack, db, errors, monkeypatch
):
    create_team(driver, slack, "Rockets")
    driver.command("draft Fewer people leave during sign-up", user="U0ADA", channel="C0ROCKET")  # left open
    form = slack.wait_for("views.open").response["view"]
    driver.close_view(form["id"], user="U0ADA")
    driver.open_home("U0ADA")
    home = slack.wait_for("views.publish").response["view"]
    opened = len(slack.calls_to("views.open"))
    monkeypatch.setattr(drafts, "load_draft", broken)
    driver.click(view_id=home["id"], action_id="draft_resume", user="U0ADA")
    said = shown(slack.wait_for("views.open", count=opened + 1).response["view"])
    assert WENT_WRONG in said and "out of date" not in said, said
    assert errors.bugs()
