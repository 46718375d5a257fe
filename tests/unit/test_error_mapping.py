"""The one mapping from errors to replies (handlers/errors.py), per surface: a person's mistake reads as theirs, a
stale payload as out of date, a database outage as one, and a programming error is logged as an error and shown as
"something went wrong", never as "out of date"."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.errors import Conflict, InvalidFields, NotAllowed, OkrError, Stale, UsageError
from bot.rituals.revisions import NothingChanged
from handlers.errors import form_answer, message_for, modal_for, words_for
from handlers.payload import row_id

OUT_OF_DATE = "This button is out of date. Run the command again for a fresh one."
SOMETHING_WRONG = "Something went wrong on the bot's side"
UNREACHABLE = "can't reach its database"
VIEW = {"type": "modal", "blocks": [{"type": "input", "block_id": "title", "element": {}}], "title": {"text": "T"}}


def _outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))


def _errors(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


# the sentence ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [UsageError("Give the team a name."), NotAllowed("Only a facilitator."), Conflict("Closed."), Stale(OUT_OF_DATE)],
    ids=lambda error: type(error).__name__,
)
def test_a_persons_mistake_or_a_stale_payload_says_its_own_words_and_logs_no_error(error, caplog):
    assert words_for(error) == error.message
    assert error.message in message_for(error)["text"]
    assert not _errors(caplog)


@pytest.mark.parametrize(
    "bug", [TypeError("f() got None"), AttributeError("'NoneType'"), KeyError("kind"), ValueError()]
)
def test_a_programming_error_is_logged_as_one_and_shown_as_something_went_wrong(bug, caplog):
    assert SOMETHING_WRONG in words_for(bug)
    assert "out of date" not in words_for(bug)
    logged = _errors(caplog)
    assert logged and logged[0].exc_info[1] is bug


def test_a_database_outage_says_so_and_is_logged(caplog):
    assert UNREACHABLE in words_for(_outage())
    assert _errors(caplog)


def test_only_the_payload_readers_call_a_payload_stale():
    with pytest.raises(Stale, match="out of date"):
        row_id("12abc")
    assert issubclass(Stale, OkrError)


# each surface ---------------------------------------------------------------------------------------------------


def test_a_command_or_a_clicked_message_gets_an_ephemeral_message():
    for error in (UsageError("No."), _outage(), TypeError()):
        message = message_for(error)
        assert message["response_type"] == "ephemeral" and message["text"] and message["blocks"]


def test_a_fields_mistake_goes_under_the_field():
    answer = form_answer(InvalidFields({"title": "Give it a title."}), VIEW, title="Draft")
    assert answer == {"response_action": "errors", "errors": {"title": "Give it a title."}}
    nothing = form_answer(NothingChanged("Change something first.", block_id="title"), VIEW, title="OKRs")
    assert nothing == {"response_action": "errors", "errors": {"title": "Change something first."}}


@pytest.mark.parametrize("error", [NotAllowed("Only a facilitator."), Stale("This form is out of date.")])
def test_a_forms_other_refusal_replaces_it_with_the_reason(error):
    answer = form_answer(error, VIEW, title="Team settings")
    assert answer["response_action"] == "update"
    assert error.message in str(answer["view"]["blocks"])
    assert answer["view"]["title"]["text"] == "Team settings"


@pytest.mark.parametrize("error", [TypeError("bug"), _outage()], ids=["bug", "outage"])
def test_a_failure_that_is_not_the_persons_keeps_the_form_open_with_the_reason_under_its_first_field(error, caplog):
    answer = form_answer(error, VIEW, title="Draft")
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["title"]
    assert "out of date" not in answer["errors"]["title"]
    assert _errors(caplog)


def test_the_app_home_gets_a_small_form_with_the_same_words(caplog):
    view = modal_for(Stale(OUT_OF_DATE), "OKRs")
    assert view["type"] == "modal" and OUT_OF_DATE in str(view["blocks"])
    bug = modal_for(AttributeError("'NoneType' object has no attribute 'id'"), "OKRs")
    assert SOMETHING_WRONG in str(bug["blocks"]) and "out of date" not in str(bug["blocks"])
    assert _errors(caplog)
