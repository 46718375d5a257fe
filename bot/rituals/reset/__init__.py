"""The 13-week reset, as database steps: each one a transaction that can run twice and do its work once.

A reset of cycle N goes through three steps, recorded on the cycle row:
1. started (`reset_started_at`): at the cycle's last midnight, or earlier by a facilitator's `/okr reset`.
   The key results' owners are asked for a final value and score until `scoring_closes_at`.
2. closed (`state` closed): when every owner has answered, when scoring time is up, or when a facilitator
   closes scoring. Key results nobody scored keep their progress as final score; the cycle becomes
   read-only; every unfinished backlog item goes to "not now"; the next cycle opens for drafting.
3. done (`reset_done_at`): the retro and the next cycle's prompt are in the team channel (bot/delivery/resets.py).

A cycle in which nothing was ever committed (`committed_anything`) has nothing to score or review: it gets no
notice, asks nobody, leaves the backlog as it is, and closes at once; its only message is the short one saying
the next cycle is open for drafting. A cycle whose objectives were all dropped is not one of them: its retro says
what was dropped and why.

The team's row is locked for steps 1 and 2, so two sweeps or a sweep and a facilitator never start or close
a cycle twice; every item moved and every score given is in the event log.

By stage: `calendar` (when a cycle ends and the team hears of it; a new cycle start), `starting`, `final_scores`,
`closing`, `retrospective` (the retro and its answers), `next_cycle` (its prompt, carrying objectives forward),
`status` (where a team stands, for `/okr reset`) and `due` (what the sweep finds due). Every public name is here
too: `reset.close_cycle(...)`.
"""

from bot.rituals.reset.calendar import (
    NOTICE_DAYS,
    anchor_shown,
    apply_waiting_anchor,
    calendar_in_use,
    change_anchor,
    check_anchor_change,
    plan_after_notice,
    plan_calendar,
    replan,
)
from bot.rituals.reset.closing import (
    RESET_FROM,
    Closed,
    close_cycle,
    close_if_ready,
    mark_owners_asked,
    mark_reset_done,
    ready_to_close,
)
from bot.rituals.reset.due import cycle_numbered, resets_under_way, teams_at_cycle_end, teams_due_notice
from bot.rituals.reset.final_scores import (
    Scorable,
    ScoringForm,
    all_scored,
    committed_anything,
    cycle_and_team,
    live_key_results,
    owners_to_ask,
    parse_final_scores,
    parse_score,
    record_final_scores,
    scoring_for,
    scoring_form,
    team_cycle,
)
from bot.rituals.reset.next_cycle import Carried, NextCycle, carry_choices, carry_forward, next_cycle_prompt
from bot.rituals.reset.retrospective import (
    AMBITION,
    RETRO_ANSWER_MAX,
    RETRO_PROMPTS,
    Change,
    Retro,
    RetroKeyResult,
    forget_retro_reply,
    parse_retro_form,
    prompt_of,
    record_retro_form,
    record_retro_reply,
    remember_retro,
    retro,
    retro_cycle,
)
from bot.rituals.reset.starting import (
    SCORING_TIME,
    Due,
    begin_reset,
    close_scoring_now,
    reset_if_due,
    start_offered_reset,
    start_reset_now,
)
from bot.rituals.reset.status import ResetStatus, objective_states, reset_status

__all__ = [
    "AMBITION",
    "NOTICE_DAYS",
    "RESET_FROM",
    "RETRO_ANSWER_MAX",
    "RETRO_PROMPTS",
    "SCORING_TIME",
    "Carried",
    "Change",
    "Closed",
    "Due",
    "NextCycle",
    "ResetStatus",
    "Retro",
    "RetroKeyResult",
    "Scorable",
    "ScoringForm",
    "all_scored",
    "anchor_shown",
    "apply_waiting_anchor",
    "begin_reset",
    "calendar_in_use",
    "carry_choices",
    "carry_forward",
    "change_anchor",
    "check_anchor_change",
    "close_cycle",
    "close_if_ready",
    "close_scoring_now",
    "committed_anything",
    "cycle_and_team",
    "cycle_numbered",
    "forget_retro_reply",
    "live_key_results",
    "mark_owners_asked",
    "mark_reset_done",
    "next_cycle_prompt",
    "objective_states",
    "owners_to_ask",
    "parse_final_scores",
    "parse_retro_form",
    "parse_score",
    "plan_after_notice",
    "plan_calendar",
    "prompt_of",
    "ready_to_close",
    "record_final_scores",
    "record_retro_form",
    "record_retro_reply",
    "remember_retro",
    "replan",
    "reset_if_due",
    "reset_status",
    "resets_under_way",
    "retro",
    "retro_cycle",
    "scoring_for",
    "scoring_form",
    "start_offered_reset",
    "start_reset_now",
    "team_cycle",
    "teams_at_cycle_end",
    "teams_due_notice",
]
