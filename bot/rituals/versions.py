"""What changed between two versions of an objective, read from their snapshots.

Snapshots (`drafts.snapshot`) are plain JSON kept forever, so the comparison works on any two versions,
however old, without the rows they came from. Key results are matched by id, which no revision changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OBJECTIVE_FIELDS = ("title", "why", "state")
KEY_RESULT_FIELDS = ("metric", "unit", "baseline", "target", "direction", "owner", "state")
NUMBER_FIELDS = {"baseline", "target"}


@dataclass(frozen=True)
class Difference:
    """One field of the objective or of one key result, before and after a change.

    `field` is a snapshot key, or "added"/"removed" for a key result that appeared or disappeared.
    """

    subject: str  # "O2" or "KR 2.3"
    field: str
    before: Any
    after: Any

    def as_data(self) -> dict[str, Any]:
        """For the event log: the raw values, so a later reader can compare them again."""
        return {"subject": self.subject, "field": self.field, "before": self.before, "after": self.after}


def differences(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Difference]:
    """Every field that differs from `before` to `after`; nothing for a first version (`before` None)."""
    if before is None:
        return []
    number = after.get("number", before.get("number"))
    found = [
        Difference(f"O{number}", field, before.get(field), after.get(field))
        for field in OBJECTIVE_FIELDS
        if not _same(field, before.get(field), after.get(field))
    ]
    earlier = {kr["id"]: kr for kr in before.get("key_results", [])}
    for kr in after.get("key_results", []):
        subject = f"KR {number}.{kr.get('position')}"
        prior = earlier.pop(kr["id"], None)
        if prior is None:
            found.append(Difference(subject, "added", None, kr.get("metric")))
            continue
        found.extend(
            Difference(subject, field, prior.get(field), kr.get(field))
            for field in KEY_RESULT_FIELDS
            if not _same(field, prior.get(field), kr.get(field))
        )
    found.extend(
        Difference(f"KR {number}.{kr.get('position')}", "removed", kr.get("metric"), None) for kr in earlier.values()
    )
    return found


def _same(field: str, before: Any, after: Any) -> bool:
    """Empty and missing text are the same thing to a reader ("" unit, None unit); a 0 is not a None."""
    if field in NUMBER_FIELDS:
        if before is None or after is None:
            return before is None and after is None
        return float(before) == float(after)
    return (before or None) == (after or None)
