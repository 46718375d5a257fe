"""The OKR coach: suggestions on a drafted objective, from the rules in DESIGN.md.

A pure function of the draft and a little context about the team, so the drafting modal, the
`okr-bot lint` command and the tests all get the same advice without Slack or a database. The coach
only advises: every finding is a warning or a note, except the two hard limits (objectives per cycle,
key results per objective), which are the only rules the bot enforces.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.coach_wording import (
    metric_key,
    objective_number,
    output_wording,
    restates,
    similarity,
)
from bot.numbers import format_number


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


DIRECTIONS = ("increase", "decrease", "keep_above", "keep_below")


@dataclass(frozen=True)
class KeyResultDraft:
    metric: str
    unit: str = ""
    baseline: float | None = None
    target: float | None = None
    direction: str = "increase"
    owner: str | None = None


@dataclass(frozen=True)
class ObjectiveDraft:
    title: str
    why: str = ""
    key_results: tuple[KeyResultDraft, ...] = ()


@dataclass(frozen=True)
class OtherTeamKeyResult:
    team: str  # the other team's name
    metric: str


@dataclass(frozen=True)
class TeamContext:
    max_objectives: int = 3
    committed_objectives: int = 0  # already committed this cycle, not counting the draft being coached
    other_teams_key_results: tuple[OtherTeamKeyResult, ...] = ()
    closed_cycle_scores: tuple[float, ...] = ()  # average KR score of each closed cycle, oldest first


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    key_result: int | None = None  # 0-based index into draft.key_results; None = about the objective


# The limits the bot enforces; everything else the coach says is advice the team may ignore.
HARD_LIMIT_CODES = frozenset({"too_many_objectives", "kr_count"})

# Every code the coach can emit, with its one severity: callers and tests can rely on both.
SEVERITIES: dict[str, Severity] = {
    "too_many_objectives": Severity.ERROR,
    "kr_count": Severity.ERROR,
    "objective_empty": Severity.WARNING,
    "objective_too_long": Severity.WARNING,
    "objective_is_metric": Severity.WARNING,
    "kr_metric_empty": Severity.WARNING,
    "kr_not_measurable": Severity.WARNING,
    "kr_direction_unknown": Severity.WARNING,
    "kr_target_equals_baseline": Severity.WARNING,
    "kr_direction_mismatch": Severity.WARNING,
    "kr_output_wording": Severity.WARNING,
    "kr_restates_objective": Severity.WARNING,
    "kr_duplicate": Severity.WARNING,
    "kr_copied_from_other_team": Severity.WARNING,
    "objective_missing_why": Severity.INFO,
    "kr_no_owner": Severity.INFO,
    "targets_look_safe": Severity.INFO,
}

# The most findings one draft can get, which the drafting modal's block budget relies on: on the objective,
# every code about it but one (objective_empty and objective_too_long exclude each other); on a key result,
# two about its numbers, four about its wording and kr_no_owner.
MOST_OBJECTIVE_FINDINGS = 6
MOST_KEY_RESULT_FINDINGS = 7

# 2 key results can balance each other (speed and quality); past 5 nobody follows them all each week.
MIN_KEY_RESULTS = 2
MAX_KEY_RESULTS = 5
# Past this an objective stops being a sentence people remember; the detail belongs in the why.
MAX_TITLE_LENGTH = 120
# Metrics this alike (difflib ratio on normalised words) are one metric written twice: only word order,
# plurals or a typo differ.
COPIED_RATIO = 0.9
# Averages above this mean the team hits nearly every target: a sign of safe targets, while about 0.7
# is what ambitious ones land at. Only recent cycles count: an old habit says little about today's team.
SAFE_SCORE = 0.9
HEALTHY_SCORE = 0.7
RECENT_CYCLES = 3
# How much of someone's text a message quotes back before it trims it.
QUOTE_LENGTH = 60

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def coach(draft: ObjectiveDraft, context: TeamContext = TeamContext()) -> list[Finding]:
    """Everything worth saying about a draft: errors first, then warnings, then notes."""
    findings = [*_objective_findings(draft, context)]
    for index, key_result in enumerate(draft.key_results):
        findings.extend(_key_result_findings(index, key_result, draft, context))
    return sorted(findings, key=lambda f: (_ORDER[f.severity], -1 if f.key_result is None else f.key_result))


def _finding(code: str, message: str, key_result: int | None = None) -> Finding:
    return Finding(code=code, severity=SEVERITIES[code], message=message, key_result=key_result)


def _objective_findings(draft: ObjectiveDraft, context: TeamContext) -> Iterator[Finding]:
    title = draft.title.strip()
    position = context.committed_objectives + 1
    if position > context.max_objectives:
        yield _finding(
            "too_many_objectives",
            f"This would be objective {position} this cycle, and your team's limit is {context.max_objectives} "
            "(facilitators can change it in the team settings). Fewer objectives get more done: drop one, "
            "or keep this one for the next cycle.",
        )
    count = len(draft.key_results)
    if not MIN_KEY_RESULTS <= count <= MAX_KEY_RESULTS:
        yield _finding("kr_count", _count_message(count))
    if not title:
        yield _finding("objective_empty", "Give the objective a title: one short sentence about the change you want.")
    elif len(title) > MAX_TITLE_LENGTH:
        yield _finding(
            "objective_too_long",
            f"The objective is {len(title)} characters long. Aim for one sentence people remember "
            f"(under {MAX_TITLE_LENGTH} characters) and move the detail into the why.",
        )
    evidence = objective_number(title)
    if evidence:
        yield _finding(
            "objective_is_metric",
            f'The objective reads like a key result ("{_quote(evidence)}"). An objective says in words what should '
            "change and why; its key results carry the numbers. Reword it, and let a KR hold the target.",
        )
    if not draft.why.strip():
        yield _finding(
            "objective_missing_why",
            "Add a line on why this matters now: it helps other teams, and your future selves, understand the choice.",
        )
    yield from _safe_targets(context.closed_cycle_scores)


def _count_message(count: int) -> str:
    if count == 0:
        return "Add 2 to 5 key results: the numbers that will tell you the objective is met."
    if count < MIN_KEY_RESULTS:
        return (
            "This objective has 1 key result. Add at least one more, so they can balance each other "
            "(speed and quality, say)."
        )
    return (
        f"This objective has {count} key results. Keep the {MAX_KEY_RESULTS} that matter most, "
        "so the team can follow every one of them each week."
    )


def _safe_targets(scores: tuple[float, ...]) -> Iterator[Finding]:
    recent = scores[-RECENT_CYCLES:]
    if not recent or statistics.fmean(recent) <= SAFE_SCORE:
        return
    cycles = "cycle" if len(recent) == 1 else f"{len(recent)} cycles"
    yield _finding(
        "targets_look_safe",
        f"Your team's last {cycles} scored {statistics.fmean(recent):.2f} on average, and about {HEALTHY_SCORE} "
        "is a healthy sign of ambition. Try a target here that you are not sure to reach.",
    )


def _key_result_findings(
    index: int, key_result: KeyResultDraft, draft: ObjectiveDraft, context: TeamContext
) -> Iterator[Finding]:
    name = f"KR {index + 1}"
    metric = key_result.metric.strip()
    yield from _number_findings(index, name, key_result)
    if not metric:
        yield _finding(
            "kr_metric_empty",
            f'{name} has no metric yet: say what you will measure, like "week-one retention of new teams".',
            index,
        )
    else:
        for check in _WORDING_CHECKS:
            found = check(index, name, metric, draft, context)
            if found:
                yield found
    if not (key_result.owner or "").strip():
        yield _finding("kr_no_owner", f"{name} has no owner yet. Name one person to answer its weekly check-in.", index)


def _number_findings(index: int, name: str, key_result: KeyResultDraft) -> Iterator[Finding]:
    baseline, target, direction = key_result.baseline, key_result.target, key_result.direction
    if baseline is None or target is None:
        yield _finding("kr_not_measurable", _missing_numbers(name, baseline, target), index)
    if direction not in DIRECTIONS:
        yield _finding(
            "kr_direction_unknown",
            f'{name} has an unknown direction "{_quote(direction)}": use increase, decrease, keep above or keep below.',
            index,
        )
        return
    if baseline is None or target is None or direction not in ("increase", "decrease"):
        return  # for keep above/below, a target equal to (or past) the baseline is holding the line
    rising = direction == "increase"
    if target == baseline:
        better = "Raise the target, or choose keep above" if rising else "Lower the target, or choose keep below"
        yield _finding(
            "kr_target_equals_baseline",
            f"{name} has the same baseline and target ({format_number(target)}), so it asks for no change. "
            f"{better} if holding the line is the point.",
            index,
        )
    elif (target < baseline) == rising:
        side, other = ("below", "decrease") if rising else ("above", "increase")
        yield _finding(
            "kr_direction_mismatch",
            f"{name} should {direction}, but its target ({format_number(target)}) is {side} its baseline "
            f"({format_number(baseline)}). Check the numbers, or change the direction to {other}.",
            index,
        )


def _missing_numbers(name: str, baseline: float | None, target: float | None) -> str:
    if baseline is None and target is None:
        return f"{name} has no numbers yet: add a baseline (where you are today) and a target (where you want to be)."
    if baseline is None:
        return f"{name} has a target but no baseline: add where you are today, even a rough first measure."
    return f"{name} has a baseline but no target: add where you want to be at the end of the cycle."


def _output_check(index: int, name: str, metric: str, draft: ObjectiveDraft, context: TeamContext) -> Finding | None:
    words = output_wording(metric)
    if not words:
        return None
    return _finding(
        "kr_output_wording",
        f'{name} describes work to do ("{words}") rather than a result. Name the change it should cause: '
        "what will people do differently once it is done? Measure that.",
        index,
    )


def _restates_check(index: int, name: str, metric: str, draft: ObjectiveDraft, context: TeamContext) -> Finding | None:
    # An objective that is itself a number to reach ("Grow weekly active users to 10,000") hears so from
    # objective_is_metric; a KR measuring that number is then the right place for it, not a repetition.
    if objective_number(draft.title) or not restates(metric, draft.title):
        return None
    return _finding(
        "kr_restates_objective",
        f"{name} repeats the objective. Pick a number that moves when the objective is met, so you can tell.",
        index,
    )


def _duplicate_check(index: int, name: str, metric: str, draft: ObjectiveDraft, context: TeamContext) -> Finding | None:
    key = metric_key(metric)
    for earlier, other in enumerate(draft.key_results[:index]):
        if key and metric_key(other.metric) == key:
            return _finding(
                "kr_duplicate",
                f"{name} measures the same thing as KR {earlier + 1}: merge them, or measure something else.",
                index,
            )
    return None


def _copied_check(index: int, name: str, metric: str, draft: ObjectiveDraft, context: TeamContext) -> Finding | None:
    best: tuple[float, OtherTeamKeyResult] | None = None
    for theirs in context.other_teams_key_results:
        ratio = similarity(metric, theirs.metric)
        if ratio >= COPIED_RATIO and (best is None or ratio > best[0]):
            best = (ratio, theirs)
    if best is None:
        return None
    ratio, theirs = best
    same = "the same as" if ratio == 1 else "nearly the same as"
    return _finding(
        "kr_copied_from_other_team",
        f'{name} is {same} a key result of {_quote(theirs.team)} ("{_quote(theirs.metric)}"). Each team sets its '
        "own OKRs: say what your team will change to help, and declare a ripple if you depend on theirs.",
        index,
    )


_WORDING_CHECKS: tuple[Callable[[int, str, str, ObjectiveDraft, TeamContext], Finding | None], ...] = (
    _output_check,
    _restates_check,
    _duplicate_check,
    _copied_check,
)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1].rstrip() + "…"
