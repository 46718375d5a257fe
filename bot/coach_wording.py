"""How the coach reads words: output verbs, numbers in an objective, metrics that repeat each other.

Heuristics, kept apart from the rules in `bot.coach` so their word lists can grow without touching the
rules. Each one errs towards silence: a coach that nags about good key results stops being read.
"""

from __future__ import annotations

import difflib
import re

# Verbs that describe something a team does rather than a change it causes. Each tuple lists every form
# we match, the bare form first; forms of two words are phrasal verbs ("rolled out"). Nouns made from
# them ("completion rate", "delivery time", "builder") are different words and never match.
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
    ("set up", "sets up", "setting up"),
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
GATHERINGS = frozenset({
    "meeting", "meetings", "workshop", "workshops", "session", "sessions", "interview", "interviews", "training",
    "trainings", "webinar", "webinars", "event", "events", "demo", "demos", "retro", "retros", "retrospective",
    "retrospectives", "hackathon", "hackathons", "offsite", "offsites", "meetup", "meetups", "talk", "talks",
    "course", "courses", "review", "reviews", "call", "calls"
})  # fmt: skip
GATHERING_REACH = 4
# Bare forms double as nouns and adjectives ("design system adoption", "a complete profile", "time to
# build"), so a bare form counts only where it reads as an instruction: first, after these words at most.
LEAD_INS = frozenset({"successfully", "fully", "we", "will", "to", "first", "finally", "also", "then"})
# A verb followed by one of these is a noun naming part of the process, not a pile of outputs: "build
# time", "deploy failure rate", "release lead time", "design system adoption" measure how well the team
# or its tools work. Counting or pacing outputs ("releases per week", "features shipped", "deploy
# frequency") is throughput and still gets the nudge: it says how busy the team was, not what changed.
PROCESS_NOUNS = frozenset({
    "time", "times", "duration", "latency", "failure", "failures", "success", "speed", "error", "errors", "cost",
    "costs", "size", "quality", "stability", "reliability", "lead", "queue", "system", "systems", "pipeline",
    "pipelines", "process", "notes"
})  # fmt: skip
# An output verb whose doer is someone else describes their behaviour, which is an outcome: "teams who
# completed onboarding", "customers setting up billing".
RELATIVES = frozenset({"who", "whom", "whose", "that", "which"})
PEOPLE = frozenset({
    "user", "customer", "team", "people", "person", "member", "visitor", "client", "developer", "engineer",
    "employee", "student", "buyer", "seller", "player", "reader", "subscriber", "partner", "patient", "admin",
    "merchant", "shopper", "learner"
})  # fmt: skip

# Words that carry no meaning of their own when comparing a KR with its objective.
STOPWORDS = frozenset({
    "a", "an", "the", "of", "for", "to", "and", "or", "in", "on", "at", "by", "with", "from", "into", "our", "we",
    "us", "their", "its", "it", "this", "that", "every", "each", "per", "is", "are", "be", "become", "get", "make",
    "more", "all", "new"
})  # fmt: skip
# A KR made of this many meaningful words, all taken from the objective, restates it; shorter ones are
# usually a fragment ("new teams") that the number checks will catch instead.
RESTATE_MIN_WORDS = 3
# A KR this close to the objective (difflib ratio on meaningful words) is the objective reworded.
RESTATE_RATIO = 0.85

# How an objective can smuggle in a number: a percentage, an amount of money, "from X to Y", a number
# right after a word that sets a target, or a title that opens with a direction and has a number later.
# Standalone numbers only: not "Q3", "v2", "2FA", "3rd", "#1" or "1:1".
_NUMBER = r"(?<![\w.,#:])\d+(?:[.,]\d+)*(?:k|m|bn|x)?(?![\w:])"
_YEAR = re.compile(r"(?:19|20)\d\d")
_AMOUNT = r"\d(?:[\d.,]*\d)?"
_PERCENT = re.compile(rf"{_AMOUNT}\s*(?:%|percent\b|per\s?cent\b|pct\b)", re.IGNORECASE)
_CURRENCY = re.compile(
    rf"[$€£¥₹]\s*{_AMOUNT}(?:\s*(?:k|m|bn|million|billion)\b)?"
    rf"|{_AMOUNT}\s*(?:k|m|bn)?\s*(?:[$€£¥₹]|(?:usd|eur|gbp|dollars?|euros?|pounds?)\b)",
    re.IGNORECASE,
)
_FROM_TO = re.compile(r"\bfrom\s+[^\sa-z]*\d\S*\s+to\s+[^\sa-z]*\d\S*", re.IGNORECASE)
_NUMBERS = re.compile(_NUMBER, re.IGNORECASE)
TARGET_WORDS = frozenset(
    {"to", "reach", "reaching", "hit", "least", "most", "under", "below", "above", "over", "than", "within", "by"}
)
_LAST_WORD = re.compile(r"([^\W_]+)\W*$")
_COMPARISONS = ("<", ">", "≤", "≥", "~")
# Verbs of change or attainment: a title that opens with one and has a number later is a target.
TARGET_OPENERS = frozenset({
    "increase", "reduce", "grow", "decrease", "raise", "boost", "cut", "lower", "improve", "lift", "drop", "shrink",
    "get", "reach", "hit", "achieve", "gain", "win", "acquire", "attract", "sign", "add"
})  # fmt: skip
# These open a title with a number in all but digits; "double down" is an idiom, not a target.
MULTIPLIERS = frozenset({"double", "triple", "quadruple", "halve"})


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: "Week-one retention!" → ["week", "one", "retention"]."""
    return re.findall(r"[^\W_]+", text.casefold())


def metric_key(text: str) -> str:
    """What two metrics share when they say the same thing: case, punctuation and spacing aside."""
    return " ".join(words(text))


def similarity(first: str, second: str) -> float:
    """1.0 for the same metric written differently, lower as the words part ways."""
    a, b = metric_key(first), metric_key(second)
    if not a or not b:
        return 0.0
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def output_wording(metric: str) -> str | None:
    """The output verb a metric is phrased with ("launched"), or None if it reads as an outcome."""
    tokens = words(metric)
    for start in range(len(tokens)):
        for forms, gathering in _VERB_FORMS:
            for form in forms:
                size = len(form)
                if tuple(tokens[start : start + size]) != form:
                    continue
                if _counts(tokens, start, size, bare=form == forms[0], gathering=gathering):
                    return " ".join(form)
    return None


_VERB_FORMS: tuple[tuple[tuple[tuple[str, ...], ...], bool], ...] = tuple(
    (tuple(tuple(form.split()) for form in forms), gathering)
    for group, gathering in ((OUTPUT_VERBS, False), (GATHERING_VERBS, True))
    for forms in group
)


def _counts(tokens: list[str], start: int, size: int, *, bare: bool, gathering: bool) -> bool:
    before, after = tokens[:start], tokens[start + size :]
    if bare and not all(word in LEAD_INS for word in before):
        return False
    if any(word in RELATIVES for word in before) or (before and _singular(before[-1]) in PEOPLE):
        return False
    if after and after[0] in PROCESS_NOUNS:
        return False
    return not gathering or any(word in GATHERINGS for word in after[:GATHERING_REACH])


def restates(metric: str, objective: str) -> bool:
    """Whether a KR's metric is the objective said again, rather than a way to measure it."""
    kr, goal = _meaningful(metric), _meaningful(objective)
    if not kr or not goal:
        return False
    if kr == goal or set(kr) == set(goal):
        return True
    if len(kr) >= RESTATE_MIN_WORDS and set(kr) <= set(goal):
        return True
    ratio = difflib.SequenceMatcher(None, " ".join(kr), " ".join(goal)).ratio()
    return len(kr) >= 2 and ratio >= RESTATE_RATIO


def _meaningful(text: str) -> list[str]:
    return [_singular(word) for word in words(text) if word not in STOPWORDS and not word.isdigit()]


def _singular(word: str) -> str:
    """Crude, but enough to see "teams" and "team" as one word."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def objective_number(title: str) -> str | None:
    """The part of an objective's title that makes it read like a key result, or None."""
    for pattern in (_PERCENT, _CURRENCY, _FROM_TO):
        match = pattern.search(title)
        if match:
            return match.group().strip()
    opening = words(title)[:2]
    if opening and opening[0] in MULTIPLIERS and opening[1:] != ["down"]:
        return title.split()[0]
    numbers = [match for match in _NUMBERS.finditer(title) if not _YEAR.fullmatch(match.group())]
    if numbers and opening and opening[0] in TARGET_OPENERS:
        return title[: numbers[0].end()].strip()
    for match in numbers:
        before = title[: match.start()].rstrip()
        previous = _LAST_WORD.search(before)
        if previous and previous.group(1).casefold() in TARGET_WORDS:
            return title[previous.start() : match.end()]
        if before.endswith(_COMPARISONS):
            return title[len(before) - 1 : match.end()]
    return None
