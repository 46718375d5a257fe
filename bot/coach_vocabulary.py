"""The coach's word lists for telling a task from a measure (`bot.coach_wording.output_wording`): the output verbs
in every form, and the words around a verb that make it part of a noun phrase, a measure or someone else's doing.

Only the lists: the reading itself is in bot/coach_wording.py, so a list can grow without touching it. Every entry
is lower case: a key result's words are read case-folded.
"""

from __future__ import annotations

# A key result is either a measure (a noun phrase: "orders shipped late by partners", "deploys per week",
# "time to first deploy") or a task (an instruction: "launch the new pricing page", "implement SSO"), and
# only a task gets the nudge. English tells them apart by where the verb stands and what follows it:
# - a verb at the head of the key result is an instruction ("Build a dashboard", "Launching the portal",
#   "Rolled out to half of the users"), unless the words after it make it a noun phrase: "deploy
#   frequency", "design review comments that become rework", "shipped orders per day";
# - further on, a past participle says a deliverable is done ("New pricing page launched", "All services
#   migrated", "12 blog posts written"), unless what it follows is counted ("screens built from
#   design-system components", "number of features shipped"), measured ("revenue delivered by partners")
#   or someone else's doing ("teams that launched an OKR"), or it is an adjective ("migrated customers").
# Each tuple lists every form we match: the bare form, the -s form, the past forms, the -ing form. Forms of
# two words are phrasal verbs ("rolled out"). Nouns made from them ("completion rate", "delivery time",
# "builder") are different words and never match.
OUTPUT_VERBS: tuple[tuple[str, ...], ...] = (
    ("launch", "launches", "launched", "launching"),
    ("implement", "implements", "implemented", "implementing"),
    ("build", "builds", "built", "building"),
    ("choose", "chooses", "chose", "chosen", "choosing"),
    ("deliver", "delivers", "delivered", "delivering"),
    ("migrate", "migrates", "migrated", "migrating"),
    ("complete", "completes", "completed", "completing"),
    ("release", "releases", "released", "releasing"),
    ("ship", "ships", "shipped", "shipping"),
    ("create", "creates", "created", "creating"),
    ("develop", "develops", "developed", "developing"),
    ("finish", "finishes", "finished", "finishing"),
    ("roll out", "rolls out", "rolled out", "rolling out"),
    ("set up", "sets up", "set up", "setting up"),
    ("introduce", "introduces", "introduced", "introducing"),
    ("deploy", "deploys", "deployed", "deploying"),
    ("write", "writes", "wrote", "written", "writing"),
    ("design", "designs", "designed", "designing"),
    ("integrate", "integrates", "integrated", "integrating"),
    ("publish", "publishes", "published", "publishing"),
    ("redesign", "redesigns", "redesigned", "redesigning"),
    ("rewrite", "rewrites", "rewrote", "rewritten", "rewriting"),
    ("refactor", "refactors", "refactored", "refactoring"),
    ("automate", "automates", "automated", "automating"),
    ("conduct", "conducts", "conducted", "conducting"),
    ("organise", "organises", "organised", "organising"),
    ("organize", "organizes", "organized", "organizing"),
    ("hire", "hires", "hired", "hiring"),
)
# "Hold", "run" and "host" are outputs only when what is held is a gathering: "average hold time" and
# "test run time" are outcomes. Their object must come within a few words ("run 3 customer workshops").
GATHERING_VERBS: tuple[tuple[str, ...], ...] = (
    ("hold", "holds", "held", "holding"),
    ("run", "runs", "ran", "running"),
    ("host", "hosts", "hosted", "hosting"),
)
GATHERINGS = frozenset(
    {
        "meeting",
        "meetings",
        "workshop",
        "workshops",
        "session",
        "sessions",
        "interview",
        "interviews",
        "training",
        "trainings",
        "webinar",
        "webinars",
        "event",
        "events",
        "demo",
        "demos",
        "retro",
        "retros",
        "retrospective",
        "retrospectives",
        "hackathon",
        "hackathons",
        "offsite",
        "offsites",
        "meetup",
        "meetups",
        "talk",
        "talks",
        "course",
        "courses",
        "review",
        "reviews",
        "call",
        "calls",
        "pilot",
        "pilots",
        "experiment",
        "experiments",
        "survey",
        "surveys",
        "campaign",
        "campaigns",
        "summit",
        "summits",
        "conference",
        "conferences",
        "roundtable",
        "roundtables",
        "beta",
        "betas",
    }
)
GATHERING_REACH = 4
# Words that may come before a verb that is still at the head: "we will launch", "successfully deployed".
LEAD_INS = frozenset(
    {"successfully", "fully", "we", "will", "must", "should", "to", "first", "finally", "also", "then"}
)
# Bare forms of these double as nouns or adjectives ("design review comments", "build failures", "release
# notes", "complete profiles"), so at the head they are an instruction only if nothing says otherwise. The
# others ("implement", "migrate", "integrate"…) can only be verbs there: "Migrate billing to Stripe".
NOUN_TOO = frozenset(
    {
        "launch",
        "build",
        "design",
        "release",
        "ship",
        "deploy",
        "hire",
        "rewrite",
        "redesign",
        "refactor",
        "set up",
        "roll out",
        "run",
        "hold",
        "host",
        "finish",
        "complete",
    }
)
# After a verb at the head, these open its object, so the verb is an instruction whatever follows: "Build
# a dashboard that shows churn", "Ship v2", "Hold 5 interviews", "Integrate with Jira". Words with a digit
# ("v2", "80") open one too.
OBJECT_OPENERS = frozenset(
    {
        "the",
        "a",
        "an",
        "our",
        "my",
        "your",
        "their",
        "its",
        "this",
        "these",
        "those",
        "all",
        "every",
        "each",
        "both",
        "some",
        "new",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "twelve",
        "half",
        "to",
        "with",
        "into",
        "onto",
    }
)
# Nouns that name a measure: as the head of a phrase they say a quantity is meant ("design review
# turnaround time", "revenue delivered by partners").
MEASURES = frozenset(
    {
        "time",
        "times",
        "duration",
        "latency",
        "speed",
        "cost",
        "costs",
        "size",
        "quality",
        "stability",
        "reliability",
        "frequency",
        "rate",
        "rates",
        "count",
        "counts",
        "volume",
        "cadence",
        "velocity",
        "throughput",
        "ratio",
        "share",
        "percentage",
        "score",
        "coverage",
        "revenue",
        "value",
        "traffic",
        "usage",
        "spend",
        "money",
        "savings",
        "budget",
        "capacity",
    }
)
# A verb followed by one of these is a noun naming part of the process or a measure of it: "build time",
# "deploy failure rate", "release lead time", "design system adoption", "deploy frequency".
PROCESS_NOUNS = MEASURES | {
    "failure",
    "failures",
    "success",
    "error",
    "errors",
    "lead",
    "queue",
    "system",
    "systems",
    "pipeline",
    "pipelines",
    "process",
    "notes",
}
# A key result that opens with one of these is a measure: "number of features shipped", "share of
# orders delivered on time", "time to ship a fix", "median deploys a day".
MEASURE_OPENERS = frozenset(
    {
        "number",
        "numbers",
        "count",
        "share",
        "percentage",
        "percent",
        "proportion",
        "fraction",
        "ratio",
        "rate",
        "amount",
        "frequency",
        "time",
        "median",
        "mean",
        "average",
        "avg",
        "total",
        "how",
        "hours",
        "minutes",
        "days",
        "weeks",
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
    }
)
# Words before a participle that stand between it and its subject: "the new page is launched".
AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "be", "been", "being", "get", "gets", "got", "now", "fully", "successfully"}
)
# An output verb whose doer is someone else describes their behaviour, which is an outcome: "teams who
# completed onboarding", "customers setting up billing".
RELATIVES = frozenset({"who", "whom", "whose", "that", "which"})
PEOPLE = frozenset(
    {
        "user",
        "customer",
        "team",
        "people",
        "person",
        "member",
        "visitor",
        "client",
        "developer",
        "engineer",
        "employee",
        "student",
        "buyer",
        "seller",
        "player",
        "reader",
        "subscriber",
        "partner",
        "patient",
        "admin",
        "merchant",
        "shopper",
        "learner",
    }
)
# Where the head noun of a phrase ends: "services [to Kubernetes]", "comments [that become rework]".
BOUNDARIES = RELATIVES | {
    "of",
    "to",
    "for",
    "from",
    "by",
    "in",
    "on",
    "at",
    "with",
    "into",
    "onto",
    "within",
    "per",
    "across",
    "before",
    "after",
    "under",
    "over",
    "through",
    "than",
    "without",
    "via",
    "about",
    "among",
    "around",
    "between",
    "during",
    "since",
    "until",
    "against",
    "behind",
    "beyond",
    "outside",
    "inside",
    "towards",
    "toward",
    "like",
}
DEFINITE = frozenset({"the", "all", "every", "both", "our", "these", "those"})
DETERMINERS = DEFINITE | {"a", "an", "their", "its", "my", "your", "this", "that", "each", "some", "any"}
NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "dozen"}
)
# Past participles of other verbs, for "design tokens used in production", "release blockers found in QA".
PARTICIPLES = frozenset(
    {
        "made",
        "done",
        "seen",
        "sent",
        "taken",
        "given",
        "found",
        "kept",
        "left",
        "lost",
        "paid",
        "sold",
        "read",
        "won",
        "spent",
        "broken",
        "caught",
        "brought",
        "bought",
        "put",
        "cut",
        "hit",
        "met",
        "told",
        "known",
        "shown",
    }
)
