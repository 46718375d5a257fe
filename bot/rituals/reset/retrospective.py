"""Step 3 of a reset, the retro of a closed cycle: its scores (the owners' or the progress), what was revised or
dropped and why, what went back to "not now", and the team's answers to three prompts, given in the retro's
thread (a reply that starts with a prompt's number answers that prompt) or in the retro form.

A cycle whose objectives were all dropped still has a retro: it says what was dropped and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.errors import InvalidFields, NotAllowed
from bot.rituals import teams as team_rules
from bot.rituals.okrs import retro_answers
from bot.rituals.reset.final_scores import cycle_and_team, live_key_results
from bot.rituals.scoring import average, key_result_score
from bot.text import normalise
from storage.claims import insert_if_absent
from storage.db import rows_matched
from storage.models import Cycle, CycleState, EventLog, KeyResult, Objective, ObjectiveVersion, RetroAnswer, Team
from storage.models.okrs import LIVE_OBJECTIVE_STATES

AMBITION = 0.7  # about what an ambitious team lands on average
RETRO_PROMPTS = (
    "What did we learn?",
    "What do we stop doing?",
    "Are we working differently from 13 weeks ago?",
)
RETRO_ANSWER_MAX = 3000
# "1. …", "1) …", "3 - …", "#2: …", "Q3) …": the number of the prompt an answer in the thread is for; not the
# start of "1.5x faster", "3:30 is too late", "1 thing we learned" or "Q3 revenue was flat"
_PROMPT_NUMBER = re.compile(r"^\s*(?:q|#)?\s*([1-3])\s*[.):\-–—](?!\d)\s*", flags=re.IGNORECASE)


@dataclass(frozen=True)
class RetroKeyResult:
    key_result: KeyResult
    objective: Objective
    by_owner: bool  # scored by its owner; otherwise its progress at the close

    @property
    def label(self) -> str:
        return f"KR {self.objective.number}.{self.key_result.position}"

    @property
    def score(self) -> float | None:
        return key_result_score(self.key_result)


@dataclass(frozen=True)
class Change:
    objective: Objective
    version: ObjectiveVersion


@dataclass(frozen=True)
class Retro:
    team: Team
    cycle: Cycle
    objectives: list[tuple[Objective, list[RetroKeyResult]]]  # live objectives, by number
    changes: list[Change]  # revisions and drops, in order
    moved: dict[str, int]
    answers: list[RetroAnswer] = field(default_factory=list)
    prompts: tuple[str, ...] = RETRO_PROMPTS

    @property
    def key_results(self) -> list[RetroKeyResult]:
        return [kr for _, krs in self.objectives for kr in krs]

    @property
    def score(self) -> float | None:
        return average(kr.score for kr in self.key_results)

    @property
    def ambition(self) -> str:
        """How the average compares with the ~0.7 guide: "none", "low", "healthy" or "safe"; "dropped" when every
        objective was dropped during the cycle, leaving none to score."""
        if not self.objectives and self.changes:
            return "dropped"
        average_score = self.score
        if average_score is None:
            return "none"
        if average_score >= 0.95:
            return "safe"
        if average_score >= 0.6:
            return "healthy"
        return "low"

    @property
    def by_progress(self) -> list[RetroKeyResult]:
        return [kr for kr in self.key_results if not kr.by_owner]

    @property
    def moved_total(self) -> int:
        return sum(self.moved.values())


def retro(session: Session, *, cycle_id: int) -> Retro:
    """What the retro shows of a closed cycle (5 queries)."""
    cycle = session.get_one(Cycle, cycle_id)
    team = session.get_one(Team, cycle.team_id)
    objectives = list(
        session.scalars(select(Objective).where(Objective.cycle_id == cycle.id).order_by(Objective.number))
    )
    grouped: dict[int, list[RetroKeyResult]] = {}
    for kr, objective in live_key_results(session, cycle_id=cycle.id):
        grouped.setdefault(objective.id, []).append(RetroKeyResult(kr, objective, kr.final_by is not None))
    by_id = {o.id: o for o in objectives}
    versions: Iterable[ObjectiveVersion] = (
        session.scalars(
            select(ObjectiveVersion)
            .where(ObjectiveVersion.objective_id.in_(list(by_id)), ObjectiveVersion.change != "committed")
            .order_by(ObjectiveVersion.created_at, ObjectiveVersion.id)
        )
        if by_id
        else []
    )
    closed = session.scalar(
        select(EventLog)
        .where(EventLog.entity == "cycle", EventLog.entity_id == cycle.id, EventLog.action == "closed")
        .order_by(EventLog.id.desc())
        .limit(1)
    )
    answers = retro_answers(session, cycle_id=cycle.id)
    return Retro(
        team=team,
        cycle=cycle,
        objectives=[(o, grouped.get(o.id, [])) for o in objectives if o.state in LIVE_OBJECTIVE_STATES],
        changes=[Change(by_id[v.objective_id], v) for v in versions],
        moved=dict((closed.data or {}).get("moved") or {}) if closed is not None else {},
        answers=answers,
    )


def retro_cycle(session: Session, *, workspace_id: int, channel_id: str, thread_ts: str) -> Cycle | None:
    """The cycle whose retro message is `thread_ts` in `channel_id`, if any (an indexed lookup: every thread
    reply in a channel the bot is in asks)."""
    return session.scalar(
        select(Cycle).where(
            Cycle.workspace_id == workspace_id, Cycle.retro_channel_id == channel_id, Cycle.retro_ts == thread_ts
        )
    )


def remember_retro(session: Session, *, cycle_id: int, channel_id: str, ts: str) -> None:
    """The retro's message, on the cycle (the first one recorded): thread replies find their cycle by it."""
    session.execute(
        update(Cycle)
        .where(Cycle.id == cycle_id, Cycle.retro_ts.is_(None))
        .values(retro_channel_id=channel_id, retro_ts=ts)
    )


def prompt_of(text: str) -> tuple[int | None, str]:
    """Which prompt an answer is for, when it starts with its number ("2. Stop the Friday demo")."""
    match = _PROMPT_NUMBER.match(text)
    if match is None:
        return None, text
    rest = text[match.end() :].strip()
    return (int(match.group(1)), rest) if rest else (None, text)


def record_retro_reply(
    session: Session, *, cycle: Cycle, user_id: str, text: str, message_ts: str, now: datetime
) -> bool:
    """A reply in the retro's thread, kept once however often Slack delivers it; an edit replaces its text."""
    prompt, body = prompt_of(normalise(text, multiline=True)[:RETRO_ANSWER_MAX])
    if not body.strip():
        return False
    values = {
        "workspace_id": cycle.workspace_id,
        "cycle_id": cycle.id,
        "user_id": user_id,
        "prompt": prompt,
        "text": body,
        "message_ts": message_ts,
        "created_at": now,
        "updated_at": now,
    }
    if insert_if_absent(session, RetroAnswer.__table__, values):
        return True
    edited = rows_matched(
        session,
        update(RetroAnswer)
        .where(RetroAnswer.cycle_id == cycle.id, RetroAnswer.message_ts == message_ts, RetroAnswer.user_id == user_id)
        .values(prompt=prompt, text=body, updated_at=now),
    )
    return bool(edited)


def forget_retro_reply(session: Session, *, cycle: Cycle, message_ts: str) -> bool:
    """A reply deleted in Slack leaves the retro too."""
    deleted = rows_matched(
        session, delete(RetroAnswer).where(RetroAnswer.cycle_id == cycle.id, RetroAnswer.message_ts == message_ts)
    )
    return bool(deleted)


def record_retro_form(
    session: Session, *, workspace_id: int, cycle_id: int, user_id: str, answers: dict[int, str], now: datetime
) -> tuple[Cycle, Team, list[RetroAnswer]]:
    """Answers typed in the retro form, one per prompt answered; the handler then posts them in the thread."""
    cycle, team = cycle_and_team(session, workspace_id=workspace_id, cycle_id=cycle_id)
    if cycle.state is not CycleState.CLOSED:
        raise NotAllowed(f"Cycle {cycle.number} has no retro yet: it opens when the cycle closes.")
    team_rules.require_member(session, team=team, user_id=user_id)
    saved = []
    for prompt, text in sorted(answers.items()):
        answer = RetroAnswer(
            workspace_id=workspace_id,
            cycle_id=cycle.id,
            user_id=user_id,
            prompt=prompt,
            text=text,
            created_at=now,
            updated_at=now,
        )
        session.add(answer)
        saved.append(answer)
    session.flush()
    return cycle, team, saved


def parse_retro_form(fields: dict[str, str | None]) -> dict[int, str]:
    answers: dict[int, str] = {}
    for number in range(1, len(RETRO_PROMPTS) + 1):
        text = normalise(str(fields.get(f"prompt:{number}") or ""), multiline=True).strip()
        if len(text) > RETRO_ANSWER_MAX:
            raise InvalidFields({f"prompt:{number}": f"Keep an answer under {RETRO_ANSWER_MAX:,} characters."})
        if text:
            answers[number] = text
    if not answers:
        raise InvalidFields({"prompt:1": "Answer at least one of the prompts."})
    return answers
