"""`okr-bot lint FILE`: OKRs kept as YAML, read with every problem on its line, coached, reported."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from bot.cli import main
from bot.coach import SEVERITIES, KeyResultDraft, ObjectiveDraft, Severity
from bot.lint import MAX_BYTES
from bot.okr_file import MalformedFile, OkrFile, parse_okr_file

README_EXAMPLE = """\
max_objectives: 3          # optional, default 3 (the CLI flag overrides)
past_scores: [0.95, 0.93]  # optional: average score of each closed cycle, enables targets_look_safe
objectives:
  - title: Make onboarding feel effortless
    why: New teams drop out in their first week   # optional
    key_results:
      - metric: Week-one retention of new teams
        unit: "%"
        baseline: 40
        target: 65
        direction: increase   # increase | decrease | keep_above | keep_below (also "keep above"); default increase
        owner: "@ben"         # optional, free text
"""

CLEAN = """\
- title: Make onboarding feel effortless
  why: New teams drop out in their first week
  key_results:
    - metric: Week-one retention of new teams
      baseline: 40
      target: 65
      owner: "@ben"
    - metric: Median minutes to a team's first check-in
      baseline: 90
      target: 20
      direction: decrease
      owner: "@cleo"
"""


def parse(text: str) -> OkrFile:
    return parse_okr_file(dedent(text), name="okrs.yaml")


def lint(tmp_path: Path, capsys, text: str, *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "okrs.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    code = main(["lint", *flags, str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# reading the file ---------------------------------------------------------------------------------------


def test_the_readme_example_reads_as_drafts():
    okr_file = parse(README_EXAMPLE)
    assert okr_file.max_objectives == 3
    assert okr_file.past_scores == (0.95, 0.93)
    assert okr_file.objectives == (
        ObjectiveDraft(
            title="Make onboarding feel effortless",
            why="New teams drop out in their first week",
            key_results=(
                KeyResultDraft(
                    metric="Week-one retention of new teams",
                    unit="%",
                    baseline=40.0,
                    target=65.0,
                    direction="increase",
                    owner="@ben",
                ),
            ),
        ),
    )


def test_a_bare_list_of_objectives_is_a_file_too():
    okr_file = parse(CLEAN)
    assert okr_file.max_objectives is None and okr_file.past_scores == ()
    assert [kr.metric for kr in okr_file.objectives[0].key_results] == [
        "Week-one retention of new teams",
        "Median minutes to a team's first check-in",
    ]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("40", 40.0),
        ("12.5", 12.5),
        ("1_000", 1000.0),
        ("-3", -3.0),
        ('"1,200"', 1200.0),
        ('"12,5"', 12.5),
        ("12,5", 12.5),  # YAML reads it as text, which parse_number understands
        ('"40%"', 40.0),
        ('" 1 200 "', 1200.0),
        ("~", None),
        ("", None),
    ],
)
def test_numbers_are_yaml_numbers_or_text(written, value):
    okr_file = parse(f"- title: t\n  key_results:\n    - metric: m\n      baseline: {written}\n")
    assert okr_file.objectives[0].key_results[0].baseline == value


@pytest.mark.parametrize(
    ("written", "direction"),
    [
        ("increase", "increase"),
        ("decrease", "decrease"),
        ("keep_above", "keep_above"),
        ("keep above", "keep_above"),
        ("Keep-Below", "keep_below"),
        ("  KEEP   below ", "keep_below"),
        ("~", "increase"),
    ],
)
def test_directions(written, direction):
    okr_file = parse(f"- title: t\n  key_results:\n    - metric: m\n      direction: {written}\n")
    assert okr_file.objectives[0].key_results[0].direction == direction


def test_missing_optional_fields_take_their_defaults():
    okr_file = parse("objectives:\n  - title: 2025\n    key_results:\n      - metric: NPS\n        owner: ''\n")
    (draft,) = okr_file.objectives
    assert draft.title == "2025" and draft.why == ""  # text stays as written, even when YAML sees a number
    assert draft.key_results == (KeyResultDraft(metric="NPS"),)


def test_empty_lists_and_a_missing_key_results_are_fine():
    assert parse("objectives: []\n").objectives == ()
    assert parse("objectives:\n").objectives == ()
    assert parse("- title: t\n").objectives[0].key_results == ()


# malformed files: every problem on its line ------------------------------------------------------------

MALFORMED = [
    (
        "objectives: [1, 2\n",
        "okrs.yaml:2:1:",
        "expected ',' or ']', but got '<stream end>' (while parsing a flow sequence, line 1)",
    ),
    ("objectives:\n  - title: a\n   bad indentation: b\n", "okrs.yaml:3:4:", "expected <block end>"),
    (
        "objectives:\n  - title: t\n    key_results:\n      - metric: m\n        owner: @ben\n",
        "okrs.yaml:5:16:",
        "quotes",
    ),
    ("a: 1\n---\nb: 2\n", "okrs.yaml:2:1:", "single document"),
    ("objectives: 3\n", "okrs.yaml:1:", "objectives should be a list"),
    ("just text\n", "okrs.yaml:1:", "expected a list of objectives"),
    ("objectives:\n  - Make onboarding effortless\n", "okrs.yaml:2:", "an objective should be a mapping"),
    ("foo: 1\nobjectives: []\n", "okrs.yaml:1:", 'unknown key "foo" at the top of the file'),
    ("max_objectives: 3\n", "okrs.yaml:1:", "no objectives: list"),
    ("objective:\n  - title: t\n", "okrs.yaml:1:", 'did you mean "objectives"?'),
    ("objectives:\n  - titel: t\n", "okrs.yaml:2:", 'unknown key "titel" in an objective; did you mean "title"?'),
    ("objectives:\n  - why: w\n", "okrs.yaml:2:", "no title"),
    ("objectives:\n  - title:\n    why: w\n", "okrs.yaml:2:", "no title"),
    ("objectives:\n  - title: [a, b]\n", "okrs.yaml:2:", "title should be text"),
    ("objectives:\n  - title: t\n    title: u\n", "okrs.yaml:3:", "title appears twice"),
    ("objectives:\n  - title: t\n    key_results: m\n", "okrs.yaml:3:", "key_results should be a list"),
    ("objectives:\n  - title: t\n    key_results:\n      - m\n", "okrs.yaml:4:", "a key result should be a mapping"),
    ("objectives:\n  - title: t\n    key_results:\n      - unit: '%'\n", "okrs.yaml:4:", "no metric"),
    ("objectives:\n  - title: t\n    key_results:\n      - metric:\n", "okrs.yaml:4:", "no metric"),
    (
        "objectives:\n  - title: t\n    key_results:\n      - metric: m\n        targte: 3\n",
        "okrs.yaml:5:",
        'unknown key "targte" in a key result; did you mean "target"? known keys: metric, unit, baseline, target',
    ),
    (
        "objectives:\n  - title: t\n    key_results:\n      - metric: m\n        baseline: ten\n",
        "okrs.yaml:5:",
        'baseline "ten": Type just the number',
    ),
    ("- title: t\n  key_results:\n    - metric: m\n      target: yes\n", "okrs.yaml:4:", "target should be a number"),
    ("- title: t\n  key_results:\n    - metric: m\n      target: .nan\n", "okrs.yaml:4:", 'target ".nan"'),
    ("- title: t\n  key_results:\n    - metric: m\n      target: 1.0e+16\n", "okrs.yaml:4:", "too big"),
    (
        "- title: t\n  key_results:\n    - metric: m\n      target: 1e6\n",
        "okrs.yaml:4:",
        "without words",
    ),  # text in YAML 1.1
    ("- title: t\n  key_results:\n    - metric: m\n      target: 2024-01-01\n", "okrs.yaml:4:", "should be a number"),
    ("- title: t\n  key_results:\n    - metric: m\n      target: [1]\n", "okrs.yaml:4:", "not a list"),
    ("- title: t\n  key_results:\n    - metric: m\n      target: !!int abc\n", "okrs.yaml:4:", 'target "abc"'),
    ("- title: t\n  key_results:\n    - metric: m\n      direction: up\n", "okrs.yaml:4:", 'direction "up"'),
    ("- title: !foo t\n", "okrs.yaml:1:", "tag !foo is not supported"),
    ("- title: !!python/object:os.system t\n", "okrs.yaml:1:", "tag python/object:os.system is not supported"),
    ("- &a {title: t}\n- *a\n", "okrs.yaml:2:3:", "aliases"),
    ("max_objectives: 9\nobjectives: []\n", "okrs.yaml:1:", "from 1 to 5"),
    ("max_objectives: 2.5\nobjectives: []\n", "okrs.yaml:1:", "whole number"),
    ("past_scores: 0.9\nobjectives: []\n", "okrs.yaml:1:", "past_scores should be a list"),
    ("past_scores:\n  - 0.5\n  - 95\nobjectives: []\n", "okrs.yaml:3:", "from 0.0 to 1.0"),
    ("objectives: []\n1: x\n", "okrs.yaml:2:", 'unknown key "1"'),
    ("objectives: []\n? [a]\n: x\n", "okrs.yaml:2:", "should be plain words"),
    ("", "okrs.yaml:1:", "empty"),
    ("# nothing but a comment\n", "okrs.yaml:1:", "empty"),
    ("objectives: []\nx: \x00\n", "okrs.yaml:2:", "U+0000"),
    ("[" * 5000, "okrs.yaml", ""),
]


@pytest.mark.parametrize(("text", "where", "problem"), MALFORMED)
def test_malformed_files_name_the_line(text, where, problem):
    with pytest.raises(MalformedFile) as caught:
        parse_okr_file(text, name="okrs.yaml")
    message = str(caught.value)
    assert message.startswith(where + " ") or (where == "okrs.yaml" and message.startswith("okrs.yaml"))
    assert problem in message


@pytest.mark.parametrize(("text", "where", "problem"), MALFORMED[::4])
def test_the_command_prints_them_on_stderr_and_exits_2(tmp_path, capsys, text, where, problem):
    code, out, err = lint(tmp_path, capsys, text)
    assert code == 2 and out == ""
    assert err.startswith(str(tmp_path / where)) and problem in err
    assert "Traceback" not in err


def test_a_missing_file(tmp_path, capsys):
    assert main(["lint", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_a_directory(tmp_path, capsys):
    assert main(["lint", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_file_over_1_mib_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_BYTES + "\nobjectives: []\n")
    assert main(["lint", str(path)]) == 2
    assert "larger than 1 MiB" in capsys.readouterr().err


def test_a_file_of_exactly_1_mib_is_read(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    text = "objectives: []\n# "
    path.write_text(text + "x" * (MAX_BYTES - len(text)))
    assert main(["lint", str(path)]) == 0


def test_a_file_that_is_not_utf8_names_the_line(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("objectives:\n  - title: Café\n".encode("latin-1"))
    assert main(["lint", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:2: this line is not UTF-8 text\n"


def test_a_byte_order_mark_is_fine(tmp_path, capsys):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + CLEAN.encode())
    assert main(["lint", str(path)]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["lint"],
        ["lint", "a.yaml", "b.yaml"],
        ["lint", "--max-objectives", "0", "a.yaml"],
        ["lint", "--max-objectives", "6", "a.yaml"],
        ["lint", "--max-objectives", "two", "a.yaml"],
        ["lint", "--colour", "a.yaml"],
    ],
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert capsys.readouterr().err.startswith("usage: okr-bot")


# coaching and reporting --------------------------------------------------------------------------------


def test_a_clean_file_exits_0_and_says_so(tmp_path, capsys):
    code, out, err = lint(tmp_path, capsys, CLEAN)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        'objective 1 "Make onboarding feel effortless"',
        "  nothing to suggest",
        "",
        "0 errors, 0 warnings, 0 notes in 1 objective",
    ]


ONE_OF_EACH = """\
objectives:
  - title: Make onboarding feel effortless
    why: New teams drop out
    key_results:
      - metric: Week-one retention of new teams
        baseline: 40
        target: 65
        owner: ada
      - metric: Launch the setup wizard
        baseline: 0
        target: 1
  - title: Increase revenue by 20%
    why: Runway
    key_results:
      - metric: Weekly paying teams
        baseline: 10
        target: 20
        owner: ben
"""


def test_the_readable_report(tmp_path, capsys):
    code, out, _ = lint(tmp_path, capsys, ONE_OF_EACH)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == 'objective 1 "Make onboarding feel effortless"'
    assert lines[1].split()[:4] == ["KR", "2", "warning", "kr_output_wording"]
    assert lines[2].split()[:4] == ["KR", "2", "note", "kr_no_owner"]
    assert lines[3] == 'objective 2 "Increase revenue by 20%"'
    assert lines[4].split()[:2] == ["error", "kr_count"] and lines[4].startswith("        error")
    assert lines[5].split()[:2] == ["warning", "objective_is_metric"]
    assert lines[-2:] == ["", "1 error, 2 warnings, 1 note in 2 objectives"]
    # messages line up in one column, whatever the code and whether a KR is named
    findings = lines[1:3] + lines[4:6]
    column = lines[1].index("KR 2 describes")
    assert all(line[column - 1] == " " and line[column] in "KT" for line in findings), findings


def test_json_output(tmp_path, capsys):
    code, out, _ = lint(tmp_path, capsys, ONE_OF_EACH, "--json")
    assert code == 1
    rows = json.loads(out)
    assert all(set(row) == {"objective", "key_result", "code", "severity", "message"} for row in rows)
    assert [(row["objective"], row["key_result"], row["code"], row["severity"]) for row in rows] == [
        (1, 2, "kr_output_wording", "warning"),
        (1, 2, "kr_no_owner", "info"),
        (2, None, "kr_count", "error"),
        (2, None, "objective_is_metric", "warning"),
    ]
    assert rows[0]["message"].startswith("KR 2 ")


MEASURED = """\
objectives:
  - title: Grow paying primary schools to 1,200
    why: Schools are where the teachers who love us work
    key_results:
      - metric: Paying primary schools
        baseline: 700
        target: 1200
        owner: ada
      - metric: Invoices sent out per month
        baseline: 40
        target: 90
        owner: ben
      - metric: Lesson plans built from shared templates
        baseline: 15
        target: 60
        owner: cleo
  - title: Make lesson planning feel quick
    why: Teachers plan on Sunday evenings
    key_results:
      - metric: Minutes to plan a lesson
        baseline: 40
        target: 15
        direction: decrease
        owner: ada
      - metric: Build a template gallery
        baseline: 0
        target: 1
        owner: ben
"""


def test_an_objective_that_is_a_number_and_measures_with_activity_verbs(tmp_path, capsys):
    # the objective hears it is a metric, not the key result that measures it; counts and paces are measures,
    # and a key result that is work to do is still caught
    code, out, _ = lint(tmp_path, capsys, MEASURED, "--json")
    rows = json.loads(out)
    assert [(row["objective"], row["key_result"], row["code"]) for row in rows] == [
        (1, None, "objective_is_metric"),
        (2, 2, "kr_output_wording"),
    ]
    assert "in words" in rows[0]["message"] and '("build")' in rows[1]["message"]
    assert code == 0


def test_the_readme_lists_every_code_with_its_severity():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The coach's codes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    listed = {code.strip().strip("`"): severity.strip() for code, severity in rows}
    labels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    assert listed == {code: labels[severity] for code, severity in SEVERITIES.items()}


def test_json_output_of_a_clean_file_is_an_empty_list(tmp_path, capsys):
    code, out, _ = lint(tmp_path, capsys, CLEAN, "--json")
    assert (code, json.loads(out)) == (0, [])


WARNINGS_ONLY = CLEAN.replace("Week-one retention of new teams", "Launch the setup wizard")
NOTES_ONLY = CLEAN.replace('      owner: "@ben"\n', "")


@pytest.mark.parametrize(
    ("text", "flags", "code"),
    [
        (CLEAN, (), 0),
        (CLEAN, ("--strict",), 0),
        (WARNINGS_ONLY, (), 0),
        (WARNINGS_ONLY, ("--strict",), 1),
        (NOTES_ONLY, (), 0),
        (NOTES_ONLY, ("--strict",), 0),  # notes never fail a check
        (ONE_OF_EACH, (), 1),
        (ONE_OF_EACH, ("--strict", "--json"), 1),
    ],
)
def test_exit_codes(tmp_path, capsys, text, flags, code):
    assert lint(tmp_path, capsys, text, *flags)[0] == code


def test_the_examples_above_are_what_their_names_say(tmp_path, capsys):
    severities = {
        name: {row["severity"] for row in json.loads(lint(tmp_path, capsys, text, "--json")[1])}
        for name, text in (("warnings", WARNINGS_ONLY), ("notes", NOTES_ONLY))
    }
    assert severities == {"warnings": {"warning"}, "notes": {"info"}}


def many(count: int, header: str = "") -> str:
    """`count` objectives the coach has nothing to say about, under an optional header."""
    body = "".join(CLEAN.replace("feel effortless", f"feel effortless {n}") for n in range(count))
    return header + ("objectives:\n" + "\n".join("  " + line for line in body.splitlines()) + "\n" if header else body)


@pytest.mark.parametrize(
    ("header", "flags", "over"),
    [
        ("", (), [4, 5]),  # the default limit is 3
        ("max_objectives: 4\n", (), [5]),
        ("max_objectives: 4\n", ("--max-objectives", "2"), [3, 4, 5]),  # the flag wins over the file
        ("", ("--max-objectives", "5"), []),
    ],
)
def test_objectives_past_the_limit(tmp_path, capsys, header, flags, over):
    code, out, _ = lint(tmp_path, capsys, many(5, header), "--json", *flags)
    rows = json.loads(out)
    assert [row["objective"] for row in rows if row["code"] == "too_many_objectives"] == over
    assert code == (1 if over else 0)


def test_past_scores_are_noted_once_per_file(tmp_path, capsys):
    code, out, _ = lint(tmp_path, capsys, many(2, "past_scores: [0.95, 0.93]\n"), "--json")
    rows = json.loads(out)
    assert [(row["objective"], row["code"]) for row in rows] == [(1, "targets_look_safe")]
    assert code == 0


def test_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ONE_OF_EACH.encode()), encoding="utf-8"))
    assert main(["lint", "-", "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_stdin_problems_are_named_after_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"objectives: 3\n"), encoding="utf-8"))
    assert main(["lint", "-"]) == 2
    assert capsys.readouterr().err.startswith("<stdin>:1: ")


def test_lint_needs_no_settings(tmp_path, capsys, monkeypatch):
    # a CI job has no Slack credentials, and may have a DATABASE_URL meant for something else
    monkeypatch.setenv("DATABASE_URL", "definitely not a url")
    monkeypatch.setenv("PORT", "http")
    assert lint(tmp_path, capsys, CLEAN)[0] == 0


def test_through_the_installed_command(tmp_path):
    path = tmp_path / "okrs.yaml"
    path.write_text(ONE_OF_EACH)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "lint", "--json", "-"],
        input=path.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 1, result.stderr
    assert [row["code"] for row in json.loads(result.stdout)][:1] == ["kr_output_wording"]
    broken = subprocess.run(
        [sys.executable, "-m", "bot", "lint", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert broken.returncode == 2 and broken.stderr.endswith("missing.yaml: no such file\n")
