"""`make bench`: every benchmark in one run, printed as a table and written as JSON.

    python -m benchmarks [--quick] [--json PATH] [--only PART,…]   # ack votes weather sweeps fanout delivery
                                                                    # digest shutdown sandbox dashboard
    python -m benchmarks --table benchmarks/results.json     # the table of an earlier run

Runs on SQLite and, when PostgreSQL's server binaries are on the machine (as for `make test`), on a throwaway
PostgreSQL server it starts itself. The machine is small and noisy: compare the ratios measured in one run, not
absolute figures across runs. `--quick` runs every part at a tenth of its size, to check the harness.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    ack_path,
    dashboard_pages,
    delivery,
    digest_build,
    fanout,
    sandbox_page,
    shutdown,
    stage,
    sweeps,
    votes,
    weather,
)
from benchmarks.common import ROOT, databases
from storage.db import Database

PARTS = ("ack", "votes", "weather", "sweeps", "fanout", "delivery", "digest", "shutdown", "sandbox", "dashboard")


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for; `--table PATH` prints the table of an earlier run's JSON instead."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every part at a tenth of its size")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json", help="where to write")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS)}")
    parser.add_argument("--table", type=Path, metavar="JSON", help="print the table of an earlier run and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    wanted = [part.strip() for part in args.only.split(",") if part.strip()]
    if unknown := set(wanted) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    scale = 0.1 if args.quick else 1.0
    started = time.monotonic()
    results: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "quick": args.quick,
    }
    with databases() as found:
        results["skipped"] = found.skipped
        log = found.workdir / "bot.log"
        for backend in found.backends:
            if "ack" in wanted or "votes" in wanted:
                _progress(f"{backend}: serving the bot")
                served = stage.start(found.new(backend), log=log)
                try:
                    if "ack" in wanted:
                        _progress(f"{backend}: ack path")
                        results.setdefault("ack", {})[backend] = ack_path.run(
                            served, log=log, requests=max(60, int(ack_path.REQUESTS * scale))
                        )
                    if "votes" in wanted:
                        _progress(f"{backend}: votes")
                        results.setdefault("votes", {})[backend] = votes.run(
                            served, events=max(300, int(votes.EVENTS * scale))
                        )
                finally:
                    results.setdefault("peak_mb", {})[f"okr-bot serve ({backend})"] = served.stop()
            if "weather" in wanted:
                _progress(f"{backend}: Slack's weather (429s, a hanging database)")
                served = stage.start(found.new(backend), log=log)
                try:
                    results.setdefault("weather", {})[backend] = weather.run(
                        served, log=log, postgres=found.postgres, requests=max(80, int(weather.REQUESTS * scale))
                    )
                finally:
                    served.stop()
            if "sweeps" in wanted:
                _progress(f"{backend}: sweeps")
                results.setdefault("sweeps", {})[backend] = sweeps.run(
                    backend, found.new(backend), teams=max(100, int(sweeps.TEAMS * scale))
                )
            if "digest" in wanted:
                _progress(f"{backend}: digest")
                results.setdefault("digest", {})[backend] = _digest(found.new(backend), scale)
            if "dashboard" in wanted:
                _progress(f"{backend}: the dashboard's pages")
                results.setdefault("dashboard", {})[backend] = dashboard_pages.run(found.new(backend), scale=scale)
        if "fanout" in wanted:
            # one backend: 10,000 DMs take minutes, and the sweep spends its time in Python either way
            backend = "sqlite"
            _progress(f"{backend}: fan-out")
            result = fanout.run(backend, found.new(backend), log=log, dms=int(fanout.DMS * scale))
            results["fanout"] = result
            results.setdefault("peak_mb", {})[f"okr-bot sweep ({backend})"] = result["peak_mb"]
        if "delivery" in wanted:
            for owners, workspaces, limits, steady, both in delivery.RUNS:
                for backend in found.backends if both else ("sqlite",):
                    size = max(50, int(owners * scale))
                    _progress(
                        f"{backend}: delivery at Slack's latency, {workspaces} × {size:,} owners, "
                        f"{'limits' if limits else 'no limits'}, {'steady' if steady else 'first week'}"
                    )
                    results.setdefault("delivery", []).append(
                        delivery.run(
                            backend,
                            found.new(backend),
                            log=log,
                            owners=size,
                            workspaces=workspaces,
                            limits=limits,
                            steady=steady,
                        )
                    )
        if "shutdown" in wanted:
            # one backend: what a stop waits for is the calls to Slack in flight, not the database
            _progress("sqlite: graceful stops under load")
            results["shutdown"] = shutdown.run("sqlite", lambda: found.new("sqlite"), log=log, scale=scale)
        if "sandbox" in wanted:
            # one backend: the page's cost is drawing, and a click's is the bot's own path, measured above
            _progress("sqlite: the browser sandbox's page")
            results["sandbox"] = sandbox_page.run(found.new("sqlite"), runs=max(5, int(sandbox_page.RUNS * scale)))
    results["total_s"] = time.monotonic() - started
    args.json.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    print(table(results))
    print(f"\nwritten to {args.json} in {results['total_s']:.0f} s")
    return 0


def _digest(database_url: str, scale: float) -> list[dict]:
    db = Database(database_url)
    try:
        now = datetime.now(UTC)
        sizes = [(20, 200), (200, 2_000)] if scale == 1.0 else [(2, 20), (20, 200)]
        return [
            digest_build.measure(db, teams=t, ripples=r, now=now, runs=3, picture=t == sizes[-1][0]) for t, r in sizes
        ]
    finally:
        db.dispose()


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _progress(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


# the table ---------------------------------------------------------------------------------------------------


def table(results: dict) -> str:
    lines = [f"Benchmarks of {results['when']} on {results['machine']}" + (" (quick)" if results["quick"] else "")]
    for skipped in results.get("skipped", []):
        lines.append(f"  skipped: {skipped}")
    if "ack" in results:
        first = next(iter(next(iter(results["ack"].values())).values()))
        lines += [
            "",
            f"Ack path: latency to the HTTP response (ms) at {first['rate_per_s']:.0f} requests/s from "
            f"{first['clients']} clients, the bot next to a bare Bolt app, both under waitress",
            f"  {'backend':<11} {'request':<9} {'bot p50':>8} {'p95':>7} {'p99':>7} {'bare p50':>9} {'p99':>7} "
            f"{'p50 ×':>6} {'p99 ×':>6} {'not 200':>8}",
        ]
        for backend, kinds in results["ack"].items():
            for kind, row in kinds.items():
                bot, bare = row["bot"], row["bare"]
                lines.append(
                    f"  {backend:<11} {kind:<9} {bot['p50_ms']:>8.1f} {bot['p95_ms']:>7.1f} {bot['p99_ms']:>7.1f} "
                    f"{bare['p50_ms']:>9.1f} {bare['p99_ms']:>7.1f} {row['ratio_p50']:>6.2f} {row['ratio_p99']:>6.2f} "
                    f"{bot['non_200'] + bare['non_200']:>8}"
                )
    if "votes" in results:
        lines += [
            "",
            "Votes: reaction events on one triage, sent by 8 clients as fast as the bot answers",
            f"  {'backend':<11} {'events':>7} {'acked/s':>8} {'ack p99 ms':>11} {'recorded/s':>11} {'tally':>6}",
        ]
        for backend, row in results["votes"].items():
            tally = "equal" if row["tally_matches"] else f"-{row['missing']}/+{row['extra']}"
            lines.append(
                f"  {backend:<11} {row['events']:>7} {row['acked_per_s']:>8.0f} {row['ack_p99_ms']:>11.1f} "
                f"{row['recorded_per_s']:>11.0f} {tally:>6}"
            )
    if "weather" in results:
        lines += [
            "",
            "Slack's weather: latency to the HTTP answer (ms) at 25 requests/s from 8 clients (draft, list, "
            "help, votes), while Slack answers 30% of calls 429 (Retry-After: 2), and while the database hangs",
            f"  {'backend':<11} {'condition':<10} {'p50':>7} {'p99':>7} {'max':>7} {'in 3 s':>7} "
            f"{'fallbacks':>10} {'healthy after':>14}",
        ]
        for backend, conditions in results["weather"].items():
            for condition, row in conditions.items():
                healthy = row.get("healthy_after_s")
                after = f"{healthy:>12.1f} s" if healthy is not None else f"{'':>14}"
                lines.append(
                    f"  {backend:<11} {condition:<10} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} "
                    f"{row['max_ms']:>7.0f} {row['within_3s']:>7.1%} {row['fallbacks']:>10} {after}"
                )
    if "sweeps" in results:
        first = next(iter(results["sweeps"].values()))
        lines += [
            "",
            f"Sweeps: reading what is due, one pass (ms), {first['teams']:,} teams and "
            f"{first['key_results']:,} key results (one check-in row each)",
            f"  {'backend':<11} {'1% due':>7} {'pass':>7} {'100% due':>9} {'pass':>7} {'reads':>6} {'time ×':>7} "
            f"{'due ×':>6}",
        ]
        for backend, row in results["sweeps"].items():
            low, high = row["1%"], row["100%"]
            lines.append(
                f"  {backend:<11} {low['due']:>7} {low['pass_ms']:>7.1f} {high['due']:>9} "
                f"{high['pass_ms']:>7.1f} {high['reads']:>6} {row['growth']:>7.1f} "
                f"{row['due_growth']:>6.0f}"
            )
    if "fanout" in results:
        row = results["fanout"]
        limited = ", ".join(f"{m} {n}" for m, n in row["rate_limited_calls"].items()) or "none"
        lines += [
            "",
            "Fan-out: check-in DMs through the sandbox, rate limits on",
            f"  {row['backend']}: {row['sent']:,} of {row['dms']:,} sent, {row['duplicates']} duplicates, "
            f"{row['rate_per_s']:.1f} DMs/s against a limit of {row['allowed_per_s']:.0f}/s per method "
            f"({row['share_of_allowed']:.0%}), 429s met: {limited}, {row['wall_s']:.0f} s "
            f"in all",
        ]
    if "delivery" in results:
        lines += [
            "",
            "Delivery: a Monday's check-in DMs by `okr-bot sweep`, every Slack call answered after "
            f"{results['delivery'][0]['latency_ms']:.0f} ms",
            f"  {'backend':<11} {'owners':>13} {'limits':>6} {'state':>10} {'DMs/s':>6} {'calls/DM':>8} "
            f"{'binding':>8} {'share':>6} {'last DM s':>9} {'429s':>5} {'dup':>4} {'lost':>5}",
        ]
        for row in results["delivery"]:
            owners = f"{row['workspaces']} × {row['owners']:,}"
            binding = f"{row['binding_per_s']:.0f}/s" if row["binding_per_s"] else "none"
            share = f"{row['share_of_binding']:.0%}" if row["share_of_binding"] else ""
            lines.append(
                f"  {row['backend']:<11} {owners:>13} {'on' if row['limits'] else 'off':>6} "
                f"{'steady' if row['steady'] else 'first week':>10} {row['rate_per_s']:>6.1f} "
                f"{row['calls_per_dm']:>8.2f} {binding:>8} {share:>6} {row['due_to_last_s']:>9.0f} "
                f"{row['rate_limited']:>5} {row['duplicates']:>4} {row['lost']:>5}"
            )
    if "digest" in results:
        lines += [
            "",
            "Digest: the weekly digest of one workspace",
            f"  {'backend':<11} {'teams':>6} {'ripples':>8} {'SQL':>4} {'build ms':>9} {'messages ms':>12} "
            f"{'parts':>6} {'picture ms':>11}",
        ]
        for backend, rows in results["digest"].items():
            for row in rows:
                picture = f"{row['picture_ms']:>11.0f}" if row["picture_ms"] is not None else f"{'':>11}"
                lines.append(
                    f"  {backend:<11} {row['teams']:>6} {row['ripples']:>8} {row['statements']:>4} "
                    f"{row['build_ms']:>9.1f} {row['messages_ms']:>12.1f} {row['messages']:>6} {picture}"
                )
    if "shutdown" in results:
        stops = results["shutdown"]
        lines += [
            "",
            f"Graceful stop (SIGTERM) under load, Slack answering after {delivery.LATENCY * 1000:.0f} ms; "
            f"median stop {stops['sweep_median_stop_s']:.2f} s (sweep), {stops['serve_median_stop_s']:.2f} s "
            "(serve)",
        ]
        for row in stops["sweep"]:
            lines.append(
                f"  okr-bot sweep, {row['owners']:,} DMs due: stopped in {row['stop_s']:.2f} s "
                f"(exit {row['exit_code']}) with {row['dms_when_stopped']:,} out, {row['claims_left_held']} claims "
                f"left held; after a restart {row['duplicates']} duplicates, {row['lost']} lost"
            )
        for row in stops["serve"]:
            lines.append(
                f"  okr-bot serve, {row['commands']:,} commands: stopped in {row['stop_s']:.2f} s (exit "
                f"{row['exit_code']}); {row['acked']} acked, {row['lost']} of them lost, {row['fallbacks']} fallbacks, "
                f"{sum(row['refused'].values())} refused after the port closed"
            )
    if "sandbox" in results:
        lines += sandbox_page.lines(results["sandbox"])
    if "dashboard" in results:
        lines += dashboard_pages.lines(results["dashboard"])
    if "peak_mb" in results:
        lines += ["", "Peak resident memory (MB)"]
        lines += [f"  {process:<30} {mb:>6.0f}" for process, mb in results["peak_mb"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
