"""How the coach reads words: output verbs, numbers in an objective, metrics that repeat each other.

Heuristics, kept apart from the rules in `bot.coach` so their word lists can grow without touching the
rules. Each one errs towards silence: a coach that nags about good key results stops being read.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass

from bot.coach_vocabulary import (
    AUXILIARIES,
    BOUNDARIES,
    DEFINITE,
    DETERMINERS,
    GATHERING_REACH,
    GATHERING_VERBS,
    GATHERINGS,
    LEAD_INS,
    MEASURE_OPENERS,
    MEASURES,
    NOUN_TOO,
    NUMBER_WORDS,
    OBJECT_OPENERS,
    OUTPUT_VERBS,
    PARTICIPLES,
    PEOPLE,
    PROCESS_NOUNS,
    RELATIVES,
)

# Words that carry no meaning of their own when comparing a KR with its objective.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "and",
        "or",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "into",
        "our",
        "we",
        "us",
        "their",
        "its",
        "it",
        "this",
        "that",
        "every",
        "each",
        "per",
        "is",
        "are",
        "be",
        "become",
        "get",
        "make",
        "more",
        "all",
        "new",
    }
)
# A KR made of this many meaningful words, all taken from the objective, restates it; shorter ones are
# usually a fragment ("new teams") that the number checks will catch instead.
RESTATE_MIN_WORDS = 3
# A KR this close to the objective (difflib ratio on meaningful words) is the objective reworded.
RESTATE_RATIO = 0.85

# How an objective can smuggle in a number: a percentage, an amount of money, "from X to Y", a number
# right after a word that sets a target, a title that opens with a count, or a title that opens with a
# direction and has a number later.
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
# A title that opens with a count of something: "10,000 weekly active users by June".
_LEADING_COUNT = re.compile(r"\s*(\d+(?:[.,]\d+)*(?:k|m|bn)?)\s+[^\W\d_]", re.IGNORECASE)
TARGET_WORDS = frozenset(
    {"to", "reach", "reaching", "hit", "least", "most", "under", "below", "above", "over", "than", "within", "by"}
)
_LAST_WORD = re.compile(r"([^\W_]+)\W*$")
_COMPARISONS = ("<", ">", "≤", "≥", "~")
# Verbs of change or attainment: a title that opens with one and has a number later is a target.
TARGET_OPENERS = frozenset(
    {
        "increase",
        "reduce",
        "grow",
        "decrease",
        "raise",
        "boost",
        "cut",
        "lower",
        "improve",
        "lift",
        "drop",
        "shrink",
        "get",
        "reach",
        "hit",
        "achieve",
        "gain",
        "win",
        "acquire",
        "attract",
        "sign",
        "add",
        "sell",
        "onboard",
        "convert",
        "retain",
        "save",
        "generate",
        "close",
        "book",
        "land",
    }
)
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
    """The output verb a metric is phrased with ("launched"), or None if it reads as a measure."""
    found = [(match.group().casefold(), match.end()) for match in re.finditer(r"[^\W_]+", metric)]
    tokens = [word for word, _ in found]
    if not tokens or _opens_with_measure(metric, tokens):
        return None
    lead = 0
    while lead < len(tokens) - 1 and tokens[lead] in LEAD_INS:
        lead += 1
    heads = _forms_at(tokens, lead)
    if heads:
        head = heads[0]  # "set up" first as an instruction, then as a participle
        end = found[lead + len(head.words) - 1][1]
        hyphenated = re.match(r"-[^\W\d_]", metric[end:]) is not None  # "launch-day incidents"
        if not hyphenated and _instruction(head, tokens[lead + len(head.words) :]):
            return head.text
    # no instruction at the head: a noun phrase, which may still say that something is done
    for position in range(lead + 1, len(tokens)):
        for form in _forms_at(tokens, position):
            if form.kind == "past" and _done(form, tokens[lead:position], tokens[position + len(form.words) :]):
                return form.text
    return None


@dataclass(frozen=True)
class _Form:
    words: tuple[str, ...]
    kind: str  # "bare", "s", "past" or "ing"
    verb: str  # its bare form
    gathering: bool

    @property
    def text(self) -> str:
        return " ".join(self.words)


_FORMS: tuple[_Form, ...] = tuple(
    _Form(tuple(form.split()), kind, forms[0], gathering)
    for group, gathering in ((OUTPUT_VERBS, False), (GATHERING_VERBS, True))
    for forms in group
    for form, kind in (
        (forms[0], "bare"),
        (forms[1], "s"),
        *((past, "past") for past in forms[2:-1]),
        (forms[-1], "ing"),
    )
)


def _forms_at(tokens: list[str], position: int) -> list[_Form]:
    return [form for form in _FORMS if tuple(tokens[position : position + len(form.words)]) == form.words]


def _opens_with_measure(metric: str, tokens: list[str]) -> bool:
    """A key result opening with "number of", "share of", "time to", "% of", "median" is a measure."""
    if metric.lstrip()[:1] in ("%", "#"):
        return True
    first = next((word for word in tokens if word not in ("the", "a", "an", "our")), "")
    return first in MEASURE_OPENERS


def _instruction(form: _Form, after: list[str]) -> bool:
    """Whether a verb at the head of a key result, followed by `after`, tells the team what to do."""
    if form.kind == "s":
        return False  # at the head, "deploys", "releases", "builds" are plural nouns: something counted
    if form.gathering and not any(word in GATHERINGS for word in after[:GATHERING_REACH]):
        return False
    if after and after[0] in PROCESS_NOUNS:
        return False
    if after and (after[0] in OBJECT_OPENERS or _has_digit(after[0])):
        return True
    if form.kind == "bare" and form.verb not in NOUN_TOO:
        return True
    if _counted(after):
        return False
    # "Migrated services" counts services; "Published roadmap" says a deliverable is done
    return form.kind != "past" or not _plural(_head_noun(after))


def _done(form: _Form, subject: list[str], after: list[str]) -> bool:
    """Whether a participle says a deliverable is done ("New pricing page launched", "3 engineers hired")."""
    while subject and subject[-1] in AUXILIARIES:
        subject = subject[:-1]
    if not subject or any(word in RELATIVES or word in MEASURE_OPENERS for word in subject):
        return False
    head = _head_noun(subject) or subject[-1]  # "migration" in "migration to Kubernetes completed"
    if head in MEASURES or (after and after[0] in PROCESS_NOUNS) or _paced(after):
        return False
    if subject[-1] in DETERMINERS or (after and _plural(after[0])):
        return False  # an adjective, not a statement: "bugs in the released version", "churn of migrated teams"
    if form.gathering and not any(word in GATHERINGS for word in subject[-GATHERING_REACH:]):
        return False
    # A batch with its size or a set named in full is a list of deliverables: "12 blog posts written", "all
    # services migrated to Kubernetes", "3 engineers hired by June".
    named = subject[0] in NUMBER_WORDS or subject[0] in DEFINITE or _has_digit(subject[0])
    if named and (not after or after[0] in BOUNDARIES):
        return True
    if _singular(head) in PEOPLE:
        return False  # "5 customers launched their first campaign" is what they did
    return not _plural(head)  # "orders shipped late by partners" counts orders; "status page published" is done


def _counted(after: list[str]) -> bool:
    """Whether the words after a verb at the head make the whole a noun phrase that counts or measures."""
    if _paced(after) or any(word in RELATIVES for word in after):
        return True  # "design review comments that become rework", "shipped orders per day"
    if any(_plural(before) and _participle(word) for before, word in itertools.pairwise(after)):
        return True  # "design tokens used in production screens"
    return _head_noun(after) in MEASURES  # "design review turnaround time"


def _paced(after: list[str]) -> bool:
    """Whether the words name a pace ("per week", "per engineer"), which makes what comes before a count."""
    return "per" in after


def _head_noun(phrase: list[str]) -> str | None:
    """The last word before a preposition or a relative: "services" in "services to Kubernetes"."""
    head = list(itertools.takewhile(lambda word: word not in BOUNDARIES, phrase))
    return head[-1] if head else None


def _plural(word: str | None) -> bool:
    return word is not None and not _has_digit(word) and _singular(word) != word


def _participle(word: str) -> bool:
    if word in PARTICIPLES or word in _PAST_FORMS:
        return True
    return len(word) > 3 and word.endswith("ed") and not word.endswith("eed")


def _has_digit(word: str) -> bool:
    return any(character.isdigit() for character in word)


_PAST_FORMS = frozenset(form.words[-1] for form in _FORMS if form.kind == "past" and len(form.words) == 1)


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
    leading = _LEADING_COUNT.match(title)
    if leading and not _YEAR.fullmatch(leading.group(1)):
        return leading.group(1)
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
