"""The README's metrics table and alert rules name exactly the metrics bot/metrics.py exports."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY

import bot.metrics  # noqa: F401 -- registers the bot's metrics

README = Path(__file__).parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"### {title}\n")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def _exported() -> dict[str, set[str]]:
    """Each okr_ metric as the table names it (a counter with `_total`), and the series names it exposes."""
    found: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("okr_"):
            continue
        if family.type == "counter":
            found[f"{family.name}_total"] = {f"{family.name}_total"}
        elif family.type == "histogram":
            found[family.name] = {f"{family.name}_{part}" for part in ("bucket", "sum", "count")}
        else:
            found[family.name] = {family.name}
    return found


def test_the_table_lists_every_metric_and_only_those():
    rows = re.findall(r"^\| `(okr_\w+)` \| (\w+) \|", _section("Metrics"), flags=re.M)
    exported = _exported()
    assert sorted(name for name, _type in rows) == sorted(exported)
    types = {name: kind for name, kind in rows}
    for family in REGISTRY.collect():
        if family.name.startswith("okr_"):
            name = f"{family.name}_total" if family.type == "counter" else family.name
            assert types[name] == family.type, name


def test_the_alert_rules_and_queries_use_series_that_exist():
    section = _section("Metrics")
    series = set().union(*_exported().values())
    used = set(re.findall(r"\b(okr_\w+)", section[section.index("**Two alerts") :]))
    assert used, "the alerts name no metric"
    assert used <= series, used - series
