"""OKRs kept as YAML in a repository, read into coach drafts with every problem tied to its line.

The file is composed into YAML nodes rather than loaded into Python objects: nodes remember where they
came from, so "baseline is not a number" can say which line, and nothing in the file can make PyYAML
build anything but plain scalars. Aliases are refused, so a small file cannot expand into a huge one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.coach import DIRECTIONS, KeyResultDraft, ObjectiveDraft
from bot.numbers import check_number, parse_number
from bot.text import normalise

TOP_KEYS = ("max_objectives", "past_scores", "objectives")
OBJECTIVE_KEYS = ("title", "why", "key_results")
KEY_RESULT_KEYS = ("metric", "unit", "baseline", "target", "direction", "owner")
# The same range the team settings accept, so a file never promises a limit the bot would refuse.
OBJECTIVE_LIMITS = range(1, 6)

_YAML = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_YAML}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}


class MalformedFile(Exception):
    """The file cannot be read as OKRs; the message names the file and, where it can, the line."""


@dataclass(frozen=True)
class OkrFile:
    objectives: tuple[ObjectiveDraft, ...]
    max_objectives: int | None = None  # None: the file leaves it to the command line or the default
    past_scores: tuple[float, ...] = ()


def parse_okr_file(text: str, *, name: str) -> OkrFile:
    """Read the YAML text of an OKR file; raise MalformedFile naming the first problem and its line."""
    return _Reader(name).file(_compose(text, name))


class _RefuseAliases(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, "aliases (*name) are not supported here: write the value out", mark)
        return super().compose_node(parent, index)


def _compose(text: str, name: str) -> Node:
    try:
        root = yaml.compose(text, Loader=_RefuseAliases)
    except yaml.MarkedYAMLError as error:
        raise MalformedFile(_syntax_message(error, name)) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise MalformedFile(f"{name}:{line}: character U+{error.character:04X} is not allowed in YAML") from None
    except yaml.YAMLError as error:
        raise MalformedFile(f"{name}: {error}") from None
    except RecursionError:  # the composer recurses once per level of nesting
        raise MalformedFile(f"{name}: the YAML is nested too deeply to be an OKR file") from None
    if root is None:
        raise MalformedFile(f"{name}:1: the file is empty: expected a list of objectives, or objectives: with one")
    return root


def _syntax_message(error: yaml.MarkedYAMLError, name: str) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    message = error.problem or error.context or "not valid YAML"
    if error.context and error.problem and error.context_mark:
        message += f" ({error.context}, line {error.context_mark.line + 1})"
    if "cannot start any token" in message:
        message += '; put the value in quotes, like owner: "@ben"'
    return f"{where}: {message}"


class _Reader:
    """Walks the YAML nodes of one file; every method raises MalformedFile at the first problem."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._numbers = SafeConstructor()

    def fail(self, node: Node, problem: str) -> MalformedFile:
        return MalformedFile(f"{self.name}:{node.start_mark.line + 1}: {problem}")

    def file(self, root: Node) -> OkrFile:
        self.check_tag(root)
        if isinstance(root, SequenceNode):
            return OkrFile(objectives=self.objectives(root))
        if not isinstance(root, MappingNode):
            raise self.fail(root, "expected a list of objectives, or a mapping with an objectives: list")
        fields = self.mapping(root, TOP_KEYS, "at the top of the file")
        if "objectives" not in fields:
            raise self.fail(root, "no objectives: list found; add one, even if it is empty")
        limit = fields.get("max_objectives")
        scores = fields.get("past_scores")
        return OkrFile(
            objectives=self.objectives(fields["objectives"]),
            max_objectives=None if limit is None else self.objective_limit(limit),
            past_scores=() if scores is None else self.scores(scores),
        )

    def mapping(self, node: MappingNode, known: tuple[str, ...], where: str) -> dict[str, Node]:
        """The mapping's values by key, refusing unknown and repeated keys (YAML would keep the last)."""
        fields: dict[str, Node] = {}
        for key_node, value in node.value:
            self.check_tag(key_node)
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, f"keys {where} should be plain words, like {known[0]}")
            key = key_node.value
            if key not in known:
                raise self.fail(key_node, _unknown_key(key, known, where))
            if key in fields:
                raise self.fail(key_node, f"{key} appears twice {where}; keep one")
            self.check_tag(value)
            fields[key] = value
        return fields

    def check_tag(self, node: Node) -> None:
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, f"the tag {node.tag.removeprefix(_YAML)} is not supported; remove it")

    def objectives(self, node: Node) -> tuple[ObjectiveDraft, ...]:
        items = self.sequence(node, "objectives should be a list, one item per objective (each starting with -)")
        return tuple(self.objective(item) for item in items)

    def sequence(self, node: Node, problem: str) -> list[Node]:
        if self.is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, problem)
        for item in node.value:
            self.check_tag(item)
        return node.value

    def objective(self, node: Node) -> ObjectiveDraft:
        if not isinstance(node, MappingNode):
            raise self.fail(node, "an objective should be a mapping with a title: and key_results:")
        fields = self.mapping(node, OBJECTIVE_KEYS, "in an objective")
        if self.is_null(fields.get("title")):
            raise self.fail(fields.get("title", node), "this objective has no title: add one, a short sentence")
        results = fields.get("key_results")
        krs = [] if results is None else self.sequence(results, "key_results should be a list, one item per KR")
        return ObjectiveDraft(
            title=self.text(fields["title"], "title"),
            why=self.text(fields.get("why"), "why"),
            key_results=tuple(self.key_result(kr) for kr in krs),
        )

    def key_result(self, node: Node) -> KeyResultDraft:
        if not isinstance(node, MappingNode):
            raise self.fail(node, "a key result should be a mapping with a metric:, a baseline: and a target:")
        fields = self.mapping(node, KEY_RESULT_KEYS, "in a key result")
        if self.is_null(fields.get("metric")):
            raise self.fail(fields.get("metric", node), "this key result has no metric: say what it measures")
        owner = fields.get("owner")
        return KeyResultDraft(
            metric=self.text(fields["metric"], "metric"),
            unit=self.text(fields.get("unit"), "unit"),
            baseline=self.number(fields.get("baseline"), "baseline"),
            target=self.number(fields.get("target"), "target"),
            direction=self.direction(fields.get("direction")),
            owner=None if self.is_null(owner) else self.text(owner, "owner") or None,
        )

    def is_null(self, node: Node | None) -> bool:
        return node is None or node.tag == f"{_YAML}null"

    def text(self, node: Node | None, field: str) -> str:
        if node is None or self.is_null(node):
            return ""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{field} should be text, not a list or a mapping")
        return normalise(node.value)  # as written: `title: 2025` stays "2025", `owner: yes` stays "yes"

    def number(self, node: Node | None, field: str) -> float | None:
        if node is None or self.is_null(node):
            return None
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{field} should be a number, not a list or a mapping")
        try:
            if node.tag == f"{_YAML}str":
                return parse_number(node.value)
            if node.tag in (f"{_YAML}int", f"{_YAML}float"):  # YAML's own spellings: 1_000, 0x10, .5, 1e3
                return check_number(self._numbers.construct_object(node))
        except ValueError as error:
            raise self.fail(node, f'{field} "{node.value}": {error}') from None
        raise self.fail(node, f'{field} should be a number, like 40 or 12.5, not "{node.value}"')

    def direction(self, node: Node | None) -> str:
        if node is None or self.is_null(node):
            return "increase"
        raw = self.text(node, "direction")
        direction = "_".join(raw.casefold().replace("-", " ").replace("_", " ").split())
        if direction not in DIRECTIONS:
            raise self.fail(node, f'direction "{raw}" is not one we know; use one of {", ".join(DIRECTIONS)}')
        return direction

    def objective_limit(self, node: Node) -> int:
        value = self.number(node, "max_objectives")
        if value is None or not value.is_integer() or int(value) not in OBJECTIVE_LIMITS:
            raise self.fail(node, f"max_objectives should be a whole number from 1 to {OBJECTIVE_LIMITS[-1]}")
        return int(value)

    def scores(self, node: Node) -> tuple[float, ...]:
        items = self.sequence(node, "past_scores should be a list of numbers, like [0.7, 0.65]")
        scores = []
        for item in items:
            score = self.number(item, "a past score")
            if score is None or not 0 <= score <= 1:
                raise self.fail(item, "past scores run from 0.0 to 1.0, like 0.7")
            scores.append(score)
        return tuple(scores)


def _unknown_key(key: str, known: tuple[str, ...], where: str) -> str:
    guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f'did you mean "{guess[0]}"? ' if guess else ""
    return f'unknown key "{key}" {where}; {hint}known keys: {", ".join(known)}'
