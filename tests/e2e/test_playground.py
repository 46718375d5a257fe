"""`okr-bot sandbox`: a person types in the terminal and reads what the bot did."""

from __future__ import annotations

import io
import re

from sqlalchemy.engine import make_url

from bot.playground import run_playground
from bot.settings import Settings

# Rockets is created and commits one objective, drafted through the form, with two key results owned by ben
ROCKETS_COMMIT = [
    "/okr team create Rockets",
    "/okr draft Teams get value in their first week",
    "submit why='Half of them leave'",
    "click Add a key result",
    "submit metric='Teams active after week one' unit=% baseline=40 target=65 owner=ben",
    "click Add a key result",
    "submit metric='Median minutes to a first check-in' baseline=300 target=30 direction=decrease owner=ben",
    "submit",
    "submit",
    "click 2 Commit",
]


def _play(database_url: str, script: str) -> str:
    """Run the script in the terminal sandbox; no line here sets off the bot's timers (a triage tally's redraw),
    so the output of each is shown once Slack has been quiet for 50 ms rather than 300."""
    out = io.StringIO()
    settings = Settings(database_url=make_url(database_url), scheduler=False)
    assert run_playground(settings, stdin=io.StringIO(script), out=out, quiet=0.05) == 0
    return out.getvalue()


def test_a_session_with_commands_forms_reactions_and_home(database_url):
    output = _play(
        database_url,
        "\n".join([
            "/okr team create Rockets",
            "/okr team settings",
            "submit timezone=Asia/Tokyo checkin_weekday=Friday",
            "react 1 white_check_mark",
            "messages",
            "as cleo",
            "/okr team join",
            "home",
            "click 1 Nope",
            "quit",
        ]),
    )  # fmt: skip
    assert "[#team-rocket]\n  :tada: @ada created the team *Rockets*" in output
    assert "== form: Team settings ==" in output
    assert "Time zone: UTC  (field `timezone`)" in output
    assert ":gear: @ada changed the time zone, check-in day of *Rockets*." in output
    assert "Check-ins Friday at 10:00 (Asia/Tokyo)" in output
    assert "1. OKR bot:" in output and ":white_check_mark: 1" in output
    assert "@cleo joined the team *Rockets*" in output
    assert "== App Home ==" in output and "*Rockets* in #team-rocket · you are a member" in output
    assert "No button labelled 'Nope' on that message." in output


def test_mistakes_in_the_terminal_are_explained(database_url):
    output = _play(database_url, "as nobody\nin #nowhere\nreact 9 x\nsubmit a=b\nfly\n")
    assert "People here: ada, ben, cleo" in output
    assert "Channels here: #general, #team-rocket, #team-growth" in output
    assert "There are no messages in this channel yet." in output
    assert "No form is open." in output
    assert "I don't understand 'fly'" in output


def test_drafting_in_the_sandbox_with_form_buttons_people_and_cancel(database_url):
    output = _play(
        database_url,
        "\n".join([
            "/okr team create Rockets",
            "/okr draft Teams get value in their first week",
            "cancel",
            "/okr draft",
            "submit why='Half of them leave'",
            "click Add a key result",
            "submit metric='Teams active after week one' unit=% baseline=40 target=65 owner=ben",
            "click Nope",
            "click Add a key result",
            "submit metric='Median minutes to a first check-in' baseline=300 target=30 direction=decrease",
            "submit",
            "submit",
            "click 2 Commit",
            "quit",
        ]),
    )  # fmt: skip
    assert output.count("== form: Draft an objective ==") == 2  # cancelled, then resumed
    assert "Objective: Teams get value in their first week  (field `title`)" in output
    assert "*KR 1.* Teams active after week one · 40 → 65 % · increase · owner @ben" in output
    assert "No button labelled 'Nope' in the open form." in output
    assert "300 → 30 · decrease" in output
    assert "@ada shared a draft objective for *Rockets*" in output
    assert "@ada committed *O1. Teams get value in their first week*" in output


def test_a_check_in_in_the_sandbox_without_waiting_for_monday(database_url):
    output = _play(
        database_url,
        "\n".join([
            "sweep",
            *ROCKETS_COMMIT,
            "sweep next",
            "sweep next",
            "as ben",
            "in dm",
            "click 1 No change on all",
            "sweep now",
            "quit",
        ]),
    )  # fmt: skip
    assert "Nothing is scheduled yet" in output or "(sweep: nothing due)" in output
    assert "(pretending it is" in output
    assert "[DM to ben]" in output and "Teams active after week one" in output
    assert "A gentle nudge: your 2 key results" in output  # the reminder, in the DM
    assert "Nothing was checked in." in output  # no change on key results with no confidence yet
    assert "Type `sweep` or `sweep next`." in output


def test_capturing_the_backlog_in_the_sandbox_by_shortcut_and_csv(database_url, tmp_path):
    csv = tmp_path / "backlog.csv"
    csv.write_text("title\nDark mode\nExport to PDF\n", encoding="utf-8")
    output = _play(
        database_url,
        "\n".join([
            "/okr team create Rockets",
            "shortcut 1",
            "shortcut 9",
            f"share {csv}",
            "/okr backlog import",
            "share nowhere.csv",
            "/okr backlog inbox",
            "quit",
        ]),
    )  # fmt: skip
    assert "Give a message number from 1 to 1" in output
    assert "Which file? e.g. share backlog.csv" in output
    assert "Dark mode" in output and "Export to PDF" in output
    assert "#1" in output and "#3" in output  # the shortcut's item, then the file's two


def test_a_ripple_and_the_digest_in_the_sandbox(database_url):
    output = _play(
        database_url,
        "\n".join([
            *ROCKETS_COMMIT,
            "in #team-growth",
            "as ben",
            "/okr team create Growth",
            "as ada",
            "in #team-rocket",
            "/okr ripple",
            "submit key_result=1.1 kind=depends_on channel=#team-growth note='We need their sign-up numbers'",
            "as ben",
            "in #team-growth",
            "click 2 Acknowledge",
            "messages",
            "/okr digest",
            "quit",
        ]),
    )  # fmt: skip
    assert "== form: Declare a ripple ==" in output
    assert (
        "[#team-growth]" in output
        and "*R1* · *Rockets* KR 1.1 Teams active after week one depends on *Growth*" in output
    )
    assert "R1 is acknowledged by @ben." in output  # the notice, redrawn after the click
    assert "RIPPLES DIGEST · WEEK TO" in output and "1 of 2 teams had news" in output
    assert "*Rockets* #team-rocket" in output and "*R1* _new_ KR 1.1" in output


def test_a_dm_checked_in_after_sweep_next_is_redrawn_for_its_own_week(database_url):
    """`sweep next` moves the sandbox's clock to the DM's moment, so a check-in made from the DM counts for the
    week the DM named, and the DM redrawn after it names that same week (never the week the machine is in)."""
    output = _play(
        database_url,
        "\n".join([
            *ROCKETS_COMMIT,
            "sweep next",
            "as ben",
            "in dm",
            "click 1 Check in",
            "submit value=45 confidence=7",
            "messages",
            "quit",
        ]),
    )  # fmt: skip
    before, dm = output.split("\n[DM to ben]", 1)
    redrawn = output.rsplit("1. OKR bot:", 1)[1]
    week = re.findall(r"ROCKETS · WEEK OF (\d{4}-\d\d-\d\d)", dm)[0]  # as the DM came
    sent_on = re.findall(r"\(pretending it is Monday (\d{4}-\d\d-\d\d) \d\d:\d\d UTC\)", before)[-1]
    assert week == sent_on  # the Monday the DM came: its own week
    assert f"ROCKETS · WEEK OF {week}" in redrawn and "checked in 45, 7/10" in redrawn, redrawn
