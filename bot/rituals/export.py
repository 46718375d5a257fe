"""`/okr export N`: one cycle of a team as two files, a CSV with one row per key result for a spreadsheet,
and a JSON document with everything (objectives with every version, key results with every check-in, the
drafts discarded during the cycle).

Reading a cycle takes 7 queries however many objectives, key results, check-ins and discarded drafts it has.
Nothing here writes, and nothing here talks to Slack: the handler uploads the bytes these functions return.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.rituals.cycles import CycleSpan, team_span
from bot.rituals.drafts import LIVE_OBJECTIVE_STATES, DiscardedDraft, discarded_drafts
from bot.rituals.okrs import (
    cycle_objectives,
    date_range,
    find_cycle,
    objective_versions,
    retro_answers,
    span_of,
    team_cycles,
)
from bot.rituals.reset import RETRO_PROMPTS
from bot.rituals.scoring import average, key_result_score
from bot.rituals.versions import differences
from storage.models import (
    CheckIn,
    Cycle,
    CycleState,
    KeyResult,
    KeyResultState,
    Objective,
    ObjectiveVersion,
    RetroAnswer,
    Team,
)

FORMAT = "okr-bot cycle export"
FORMAT_VERSION = 1
CSV_COLUMNS = (
    "objective",
    "objective title",
    "objective state",
    "key result",
    "metric",
    "unit",
    "direction",
    "start",
    "target",
    "current",
    "score",
    "confidence",
    "owner",
    "key result state",
    "check-ins",
)
# a spreadsheet reads a cell starting with one of these as a formula (CSV injection); tab and carriage
# return too, as some spreadsheets drop them and read what follows
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SLUG_LENGTH = 40


@dataclass(frozen=True)
class KeyResultExport:
    key_result: KeyResult
    objective_number: int
    checkins: tuple[CheckIn, ...]  # oldest week first

    @property
    def score(self) -> float | None:
        kr = self.key_result
        return key_result_score(kr)

    @property
    def confidence(self) -> int | None:
        """The latest check-in's, as `/okr list` shows it."""
        return self.checkins[-1].confidence if self.checkins else None

    @property
    def label(self) -> str:
        return f"KR {self.objective_number}.{self.key_result.position}"


@dataclass(frozen=True)
class ObjectiveExport:
    objective: Objective
    versions: tuple[ObjectiveVersion, ...]  # oldest first
    key_results: tuple[KeyResultExport, ...]  # by position, dropped ones included

    @property
    def live(self) -> bool:
        return self.objective.state in LIVE_OBJECTIVE_STATES

    @property
    def score(self) -> float | None:
        """The average of its active key results' scores, as `/okr list` shows it."""
        return average(k.score for k in self.key_results if k.key_result.state is KeyResultState.ACTIVE)


@dataclass(frozen=True)
class CycleExport:
    team: Team
    span: CycleSpan
    cycle: Cycle | None  # None: today's cycle before anyone drafted in it
    current: bool
    objectives: tuple[ObjectiveExport, ...]  # by number, dropped ones included
    exported_at: datetime
    retro: tuple[RetroAnswer, ...] = ()  # answers to the retro's prompts, oldest first
    discarded: tuple[DiscardedDraft, ...] = ()  # drafts discarded during the cycle, oldest first

    @property
    def dates(self) -> str:
        return date_range(self.span.starts_on, self.span.last_day)

    @property
    def state(self) -> str:
        return (self.cycle.state if self.cycle is not None else CycleState.DRAFTING).value

    @property
    def score(self) -> float | None:
        """The average score of the live objectives' active key results, as `/okr history` shows it."""
        return average(
            k.score
            for o in self.objectives
            if o.live
            for k in o.key_results
            if k.key_result.state is KeyResultState.ACTIVE
        )

    @property
    def key_results(self) -> list[tuple[ObjectiveExport, KeyResultExport]]:
        return [(o, k) for o in self.objectives for k in o.key_results]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    title: str
    content: bytes


def read_cycle(session: Session, *, team: Team, number: int | None, now: datetime) -> CycleExport:
    """Cycle `number` of the team (None: today's), in 7 queries; a number it never had is a `NotFound`."""
    today = team_span(team, now)
    cycle = find_cycle(team, team_cycles(session, team=team), today=today, number=number)
    span = span_of(cycle) if cycle is not None else today
    objectives = cycle_objectives(session, cycle_ids=[cycle.id] if cycle is not None else [])
    versions = objective_versions(session, team=team, objectives=objectives)
    key_results = _key_results(session, team=team, objectives=objectives)
    checkins = _checkins(session, team=team, key_results=[kr for krs in key_results.values() for kr in krs])
    return CycleExport(
        team=team,
        span=span,
        cycle=cycle,
        current=span.number == today.number,
        objectives=tuple(
            ObjectiveExport(
                o,
                tuple(versions[o.id]),
                tuple(KeyResultExport(kr, o.number, tuple(checkins[kr.id])) for kr in key_results[o.id]),
            )
            for o in objectives
        ),
        exported_at=now,
        retro=tuple(retro_answers(session, cycle_id=cycle.id)) if cycle is not None else (),
        discarded=tuple(discarded_drafts(session, team=team, span=span)),
    )


def files(export: CycleExport) -> list[ExportFile]:
    title = f"{export.team.name}, cycle {export.span.number}"
    return [
        ExportFile(file_name(export.team, export.span.number, "csv"), f"{title} (CSV)", to_csv(export)),
        ExportFile(file_name(export.team, export.span.number, "json"), f"{title} (JSON)", to_json(export)),
    ]


def file_name(team: Team, number: int, fmt: str) -> str:
    """A cycle's file as `/okr export` and the dashboard name it: `okrs-rockets-cycle-3.csv`."""
    return f"okrs-{slug(team.name)}-cycle-{number}.{fmt}"


def slug(name: str) -> str:
    """A team name as a file name part: `Équipe Rocket 🚀` → `equipe-rocket`; `team` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return words[:SLUG_LENGTH].strip("-") or "team"


# the CSV --------------------------------------------------------------------------------------------------


def to_csv(export: CycleExport) -> bytes:
    """One row per key result, dropped ones included; UTF-8 with a byte-order mark, so Excel reads accents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for o, k in export.key_results:
        kr = k.key_result
        writer.writerow(
            [
                f"O{o.objective.number}",
                safe_cell(o.objective.title),
                o.objective.state.value,
                k.label,
                safe_cell(kr.metric),
                safe_cell(kr.unit or ""),
                kr.direction.value,
                _cell_number(kr.baseline),
                _cell_number(kr.target),
                _cell_number(kr.current),
                _cell_number(k.score),
                _cell_number(k.confidence),
                safe_cell(kr.owner_user_id or ""),
                kr.state.value,
                len(k.checkins),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def safe_cell(text: str) -> str:
    """Text a person typed, made inert for a spreadsheet: a leading `'` shows the cell as text, not a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell_number(value: float | int | None) -> str:
    """A number the bot stored (never text a person typed, so a leading minus is a real negative number)."""
    found = _json_number(value)
    return "" if found is None else str(found)


# the JSON -------------------------------------------------------------------------------------------------


def to_json(export: CycleExport) -> bytes:
    return json.dumps(as_data(export), ensure_ascii=False, indent=2).encode("utf-8")


def as_data(export: CycleExport) -> dict[str, Any]:
    team, span = export.team, export.span
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": export.exported_at.isoformat(),
        "team": {"name": team.name, "channel": team.channel_id, "timezone": team.timezone},
        "cycle": {
            "number": span.number,
            "starts_on": span.starts_on.isoformat(),
            "last_day": span.last_day.isoformat(),
            "state": export.state,
            "current": export.current,
            "closed_at": _iso(export.cycle.closed_at) if export.cycle is not None else None,
            "average_score": export.score,
        },
        "objectives": [_objective(o) for o in export.objectives],
        "retro": [
            {
                "prompt": a.prompt,
                "question": RETRO_PROMPTS[a.prompt - 1] if a.prompt else None,
                "by": a.user_id,
                "text": a.text,
                "at": _iso(a.created_at),
            }
            for a in export.retro
        ],
        "discarded_drafts": [_discarded(d) for d in export.discarded],
    }


def _discarded(d: DiscardedDraft) -> dict[str, Any]:
    """A discarded draft as it was typed: its numbers are the text people wrote, never parsed."""
    fields = ("metric", "unit", "baseline", "target", "direction", "owner")
    return {
        "title": d.title,
        "why": d.why or None,
        "key_results": [{field: kr.get(field) or None for field in fields} for kr in d.key_results],
        "author": d.draft.author_user_id,
        "discarded_by": d.discarded_by,
        "discarded_at": _iso(d.discarded_at),
    }


def _objective(o: ObjectiveExport) -> dict[str, Any]:
    objective = o.objective
    previous = None
    versions = []
    for v in o.versions:
        versions.append(
            {
                "version": v.version,
                "change": v.change,
                "reason": v.reason,
                "by": v.actor_user_id,
                "at": _iso(v.created_at),
                "changes": [d.as_data() for d in differences(previous, v.snapshot)],
                "snapshot": v.snapshot,
            }
        )
        previous = v.snapshot
    return {
        "number": objective.number,
        "title": objective.title,
        "why": objective.why,
        "state": objective.state.value,
        "version": objective.version,
        "owner": objective.owner_user_id,
        "author": objective.author_user_id,
        "committed_at": _iso(objective.created_at),
        "updated_at": _iso(objective.updated_at),
        "score": o.score,
        "versions": versions,
        "key_results": [_key_result(k) for k in o.key_results],
    }


def _key_result(k: KeyResultExport) -> dict[str, Any]:
    kr = k.key_result
    return {
        "label": k.label,
        "position": kr.position,
        "metric": kr.metric,
        "unit": kr.unit,
        "direction": kr.direction.value,
        "start": _json_number(kr.baseline),
        "target": _json_number(kr.target),
        "current": _json_number(kr.current),
        "score": k.score,
        # the cycle's final scoring, once it closed: given by the owner, or the progress when they did not
        "final": None
        if kr.final_at is None
        else {
            "value": _json_number(kr.final_value),
            "score": kr.final_score,
            "by": kr.final_by,
            "from": "owner" if kr.final_by else "progress",
        },
        "confidence": k.confidence,
        "owner": kr.owner_user_id,
        "state": kr.state.value,
        "checkins": [
            {
                "week": c.week_start.isoformat(),
                "value": _json_number(c.value),
                "confidence": c.confidence,
                "note": c.note,
                "by": c.author_user_id,
                "at": _iso(c.created_at),
            }
            for c in k.checkins
        ],
    }


def _json_number(value: float | int | None) -> float | int | None:
    """20.0 as 20: the bot stores floats, people typed whole numbers."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# queries --------------------------------------------------------------------------------------------------


def _key_results(session: Session, *, team: Team, objectives: Sequence[Objective]) -> dict[int, list[KeyResult]]:
    found: dict[int, list[KeyResult]] = defaultdict(list)
    if objectives:
        query = (
            select(KeyResult)
            .where(KeyResult.workspace_id == team.workspace_id, KeyResult.objective_id.in_([o.id for o in objectives]))
            .order_by(KeyResult.objective_id, KeyResult.position)
        )
        for kr in session.scalars(query):
            found[kr.objective_id].append(kr)
    return found


def _checkins(session: Session, *, team: Team, key_results: Sequence[KeyResult]) -> dict[int, list[CheckIn]]:
    found: dict[int, list[CheckIn]] = defaultdict(list)
    if key_results:
        query = (
            select(CheckIn)
            .where(CheckIn.workspace_id == team.workspace_id, CheckIn.key_result_id.in_([kr.id for kr in key_results]))
            .order_by(CheckIn.key_result_id, CheckIn.week_start)
        )
        for checkin in session.scalars(query):
            found[checkin.key_result_id].append(checkin)
    return found
