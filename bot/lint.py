"""`okr-bot lint FILE`: the coach's advice on OKRs kept in a repository, for people and for CI.

Teams that keep their OKRs next to their code get the same suggestions the drafting modal gives, in
their terminal or as a failing check. The exit code follows the coach: only the hard limits fail the
check, unless `--strict` asks for warnings to fail it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO

from bot.coach import Finding, Severity, TeamContext, coach
from bot.okr_file import MalformedFile, OkrFile, parse_okr_file
from bot.text import plural

MAX_BYTES = 1024 * 1024  # an OKR file is a few kilobytes; anything this big is the wrong file
DEFAULT_MAX_OBJECTIVES = TeamContext().max_objectives
STDIN = "-"

# About the team rather than one objective: said once, with the first objective, instead of under each.
ONCE_PER_FILE = frozenset({"targets_look_safe"})
_LABELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_CODE_WIDTH = 26
_TITLE_LENGTH = 60


@dataclass(frozen=True)
class LintFinding:
    objective: int  # 0-based position in the file
    finding: Finding


def lint(okr_file: OkrFile, *, max_objectives: int | None = None) -> list[LintFinding]:
    """Coach each objective as if the ones above it were already committed this cycle."""
    limit = max_objectives or okr_file.max_objectives or DEFAULT_MAX_OBJECTIVES
    results: list[LintFinding] = []
    for index, draft in enumerate(okr_file.objectives):
        context = TeamContext(
            max_objectives=limit, committed_objectives=index, closed_cycle_scores=okr_file.past_scores
        )
        found = coach(draft, context)
        results.extend(LintFinding(index, f) for f in found if index == 0 or f.code not in ONCE_PER_FILE)
    return results


def run(
    path: str,
    *,
    as_json: bool = False,
    strict: bool = False,
    max_objectives: int | None = None,
    stdin: IO,
    stdout: IO[str],
    stderr: IO[str],
) -> int:
    """The whole command: 0 when the OKRs pass, 1 when they do not, 2 when the file cannot be read."""
    name = "<stdin>" if path == STDIN else path
    try:
        okr_file = parse_okr_file(read_source(path, stdin=stdin, name=name), name=name)
    except MalformedFile as error:
        print(error, file=stderr)
        return 2
    results = lint(okr_file, max_objectives=max_objectives)
    stdout.write(render_json(results) if as_json else render_text(okr_file, results))
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return 1 if any(result.finding.severity in failing for result in results) else 0


def read_source(path: str, *, stdin: IO, name: str) -> str:
    """The file's text, refusing what is too big or not UTF-8 before YAML sees it."""
    try:
        if path == STDIN:
            data = _read_bytes(stdin)
        else:
            with open(path, "rb") as file:
                data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise MalformedFile(f"{name}: no such file") from None
    except IsADirectoryError:
        raise MalformedFile(f"{name}: is a directory; give the path of a YAML file") from None
    except OSError as error:
        raise MalformedFile(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise MalformedFile(f"{name}: is larger than 1 MiB, far too big for an OKR file; is it the right file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise MalformedFile(f"{name}:{line}: this line is not UTF-8 text") from None


def _read_bytes(stream: IO) -> bytes:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        return buffer.read(MAX_BYTES + 1)
    text = stream.read(MAX_BYTES + 1)  # a text stream with no bytes underneath, as tests pass
    return text.encode() if isinstance(text, str) else text


def render_text(okr_file: OkrFile, results: list[LintFinding]) -> str:
    lines = []
    for index, draft in enumerate(okr_file.objectives):
        title = " ".join(draft.title.split())
        if len(title) > _TITLE_LENGTH:
            title = title[: _TITLE_LENGTH - 1].rstrip() + "…"
        lines.append(f'objective {index + 1} "{title}"' if title else f"objective {index + 1} (no title)")
        found = [result.finding for result in results if result.objective == index]
        lines.extend(_line(finding) for finding in found)
        if not found:
            lines.append("  nothing to suggest")
    if lines:
        lines.append("")
    lines.append(_summary(results, len(okr_file.objectives)))
    return "\n".join(lines) + "\n"


def _line(finding: Finding) -> str:
    where = "" if finding.key_result is None else f"KR {finding.key_result + 1}"
    label = _LABELS[finding.severity]
    return f"  {where:<5} {label:<7} {finding.code:<{_CODE_WIDTH}} {finding.message}"


def _summary(results: list[LintFinding], objectives: int) -> str:
    counts = {severity: 0 for severity in Severity}
    for result in results:
        counts[result.finding.severity] += 1
    parts = [plural(counts[severity], _LABELS[severity]) for severity in Severity]
    return f"{', '.join(parts)} in {plural(objectives, 'objective')}"


def render_json(results: list[LintFinding]) -> str:
    """One object per finding, positions 1-based as people count them."""
    rows = [
        {
            "objective": result.objective + 1,
            "key_result": None if result.finding.key_result is None else result.finding.key_result + 1,
            "code": result.finding.code,
            "severity": result.finding.severity.value,
            "message": result.finding.message,
        }
        for result in results
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
