"""`/okr` itself: help, unknown and malformed input.

Every answer here must be ephemeral, name the problem (and the usage), never show a stack trace,
and leave the database as it was. Each test runs a table of inputs against one running bot;
the parser itself is covered input by input in tests/unit/test_command_parser.py.
"""

from __future__ import annotations

from bot.commands import CATALOGUE
from tests.e2e.support import (
    assert_clean_error,
    command_form,
    create_team,
    encode_form,
    install,
    okr,
    row_counts,
    shown,
)

READY = [c for c in CATALOGUE if c.ready]
COMING = [c for c in CATALOGUE if not c.ready]


def test_help_lists_every_command_that_works_and_those_coming(driver, slack, db):
    reply = okr(driver, slack, "help", user="U0BEN", channel="C0GENERAL")

    assert reply.via == "ack" and reply.ephemeral
    for command in READY:
        assert f"`{command.usage}`" in reply.text, command.name
    assert not COMING and "Coming soon" not in reply.text  # every sub-command of the Slack contract works
    assert "You typed `/okr` on its own" not in reply.text

    for text in ("", "   ", "\n"):
        alone = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")

        assert alone.ephemeral, repr(text)
        assert "You typed `/okr` on its own" in alone.text, repr(text)
        assert "`/okr team create NAME`" in alone.text, repr(text)


def test_help_on_one_topic(driver, slack, db):
    team = okr(driver, slack, "help team", user="U0BEN")

    assert team.ephemeral
    for name in ("create", "join", "leave", "settings"):
        assert f"`/okr team {name}" in team.text
    assert "vision" not in team.text

    draft = okr(driver, slack, "help draft", user="U0BEN")
    assert "`/okr draft [OBJECTIVE]`" in draft.text and "resumes where you left off" in draft.text
    assert "coming soon" not in draft.text

    checkin = okr(driver, slack, "help checkin", user="U0BEN")
    assert "`/okr checkin`" in checkin.text and "coming soon" not in checkin.text

    reset = okr(driver, slack, "help reset", user="U0BEN")
    assert "`/okr reset`" in reset.text and "coming soon" not in reset.text

    ripple = okr(driver, slack, "help ripple", user="U0BEN")
    assert "`/okr ripple [[affects|depends] #other-team-channel KR [their KR] NOTE" in ripple.text
    digest = okr(driver, slack, "help digest", user="U0BEN")
    assert "`/okr digest [post | settings" in digest.text and "coming soon" not in digest.text


NOT_UNDERSTOOD = [
    # (case, typed, what the reply must say)
    ("tem", "tem create Rockets", "Did you mean `/okr team`?"),
    ("visoin", "visoin", "Did you mean `/okr vision`?"),
    ("hlep", "hlep", "Did you mean `/okr help`?"),
    ("no-suggestion", "xyzzy", "I don't know the command `xyzzy`"),
    ("team-alone", "team", "`/okr team` needs one more word"),
    ("team-unknown", "team frobnicate", "`team frobnicate` is not a command"),
    ("help-unknown", "help nonsense", "There is no help on `nonsense`"),
    ("4001-chars", "x" * 4001, "4,001 characters long; `/okr` takes at most 4,000"),
    ("nul", "team create Rock\x00ets", "U+0000"),
    ("bell", "team create Rock\x07ets", "U+0007"),
    ("bidi-isolate", "vision add \u2066hidden\u2069", "U+2066"),
    ("private-use", "team create \ue000", "U+E000"),
]


def test_what_the_bot_does_not_understand_is_explained_and_changes_nothing(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    for case, text, expected in NOT_UNDERSTOOD:
        reply = okr(driver, slack, text, user="U0BEN", channel="C0ROCKET")

        assert_clean_error(reply, expected, case=case)
        assert row_counts(db) == before, case
    assert slack.calls_to("chat.postMessage") == []


def test_a_refusal_of_malformed_input_shows_the_usage(driver, slack, db):
    for text in ("tem create Rockets", "team frobnicate", "x" * 4001, "help nonsense"):
        reply = okr(driver, slack, text, user="U0BEN", channel="C0ROCKET")

        assert "Usage: `/okr" in reply.text or "Try one of:\n`/okr" in reply.text, reply.text


def test_a_refused_character_is_answered_with_the_usage(driver, slack, db):
    reply = okr(driver, slack, "team create Rock\x00ets", user="U0BEN", channel="C0ROCKET")

    assert "Usage: `/okr" in reply.text, reply.text


def test_a_typo_is_not_run_and_4000_characters_are_read(driver, slack, db):
    typo = okr(driver, slack, "tem create Rockets", user="U0ADA", channel="C0ROCKET")

    assert typo.text.count("Did you mean") == 1 and "I don't know the command `tem`" in typo.text
    assert row_counts(db)["teams"] == 0

    text = "help " + "x" * 3995
    assert len(text) == 4000
    longest = okr(driver, slack, text, user="U0BEN")
    assert_clean_error(longest, "There is no help on `xxxx")  # understood as a (bad) help topic
    assert "4,000" not in longest.text


def test_commands_are_case_insensitive_and_names_keep_their_case(driver, slack, db):
    reply = okr(driver, slack, "TEAM Create  Rocket  Crew", user="U0ADA", channel="C0ROCKET")

    assert "created the team *Rocket Crew*" in reply.text


def _send_with_lone_surrogate(driver, slack, text: str) -> dict:
    """A lone surrogate cannot be UTF-8; on the wire it is the bytes ED A0 80, which decode to U+FFFD."""
    responses = len(slack.responses)
    body = encode_form(command_form(slack, text, user="U0BEN", channel="C0ROCKET"))
    result = driver.send_raw(body, {"Content-Type": "application/x-www-form-urlencoded", **driver.sign(body)})
    assert result.status == 200, text
    return result.json if result.body else slack.wait_for_response(count=responses + 1)["body"]


def test_a_lone_surrogate_gets_an_ephemeral_answer_not_a_crash(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    for text, expected in [("help \ud800", "could not be read (U+FFFD)"), ("tem\udfff", "could not be read")]:
        answer = _send_with_lone_surrogate(driver, slack, text)

        assert answer.get("response_type") != "in_channel", text
        assert expected in shown(answer) and "Traceback" not in shown(answer), shown(answer)
        assert row_counts(db) == before, text


def test_a_lone_surrogate_in_a_team_name_is_refused(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    answer = _send_with_lone_surrogate(driver, slack, "team create Rock\ud800ets")

    assert answer.get("response_type") != "in_channel", shown(answer)
    assert row_counts(db) == before


def test_a_name_with_the_replacement_character_is_refused(driver, slack, db):
    install(driver, slack)
    before = row_counts(db)

    reply = okr(driver, slack, "team create Rock\ufffdets", user="U0ADA", channel="C0ROCKET")

    assert_clean_error(reply, "U+FFFD")
    assert row_counts(db) == before


def test_every_refusal_is_ephemeral_and_names_the_way_out(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    before = row_counts(db)

    for text, channel in [
        ("team leave", "C0GENERAL"),
        ("team settings hour=9", "C0GENERAL"),
        ("team settings", "C0GENERAL"),
        ("team join", "D0CLEO0001"),
        ("team create", "C0GENERAL"),
        ("vision archive", "C0GENERAL"),
        ("team settings hour=9", "C0ROCKET"),
        ("team leave Rockets", "C0GENERAL"),
    ]:
        reply = okr(driver, slack, text, user="U0CLEO", channel=channel)

        assert_clean_error(reply, case=f"{text} in {channel}")
        assert "/okr" in reply.text, (text, reply.text)  # tells the person what to type instead
        assert row_counts(db) == before, text
