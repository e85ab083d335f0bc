"""Run the benchmarks and write docs/benchmarks.md: ``python -m benchmarks --help``."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import inprocess, instructions, loadtest, sse, websocket
from benchmarks.frameworks import FRAMEWORKS, FRAMEWORKS_BY_KEY, ROOT, git_revision, probe
from benchmarks.report import Run, render, splice
from benchmarks.scenarios import HTTP_SCENARIOS, SCENARIOS_BY_NAME, SSE, WEBSOCKET_ECHO

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
Results = dict[str, dict[str, Any]]
PARTS = ("inprocess", "loadtest", "sse", "websocket", "instructions")
"""What ``--only`` can name: in-process times, load runs (uvicorn and granian), server-sent
events, websocket echo, instruction counts. A full run does them all."""
ALL_SCENARIOS = (*HTTP_SCENARIOS, SSE, WEBSOCKET_ECHO)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        help=f"comma-separated parts to run, of: {', '.join(PARTS)} (default: all of them)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="very short runs to check the harness works; does not write the docs unless "
        "--output is given",
    )
    parser.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS_BY_KEY),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(scenario.name for scenario in ALL_SCENARIOS),
        help="comma-separated subset of: %(default)s (sse and websocket_echo matter to the "
        "instruction counts; the sse and websocket parts always measure their own)",
    )
    parser.add_argument("--rounds", type=int, help="in-process timed rounds (default 40)")
    parser.add_argument("--round-time", type=float, help="in-process seconds per round (0.05)")
    parser.add_argument("--duration", type=int, help="wrk seconds per scenario (default 5)")
    parser.add_argument("--connections", type=int, help="wrk connections (default 64)")
    parser.add_argument(
        "--servers",
        default=",".join(loadtest.SERVERS),
        help="servers for the load run, comma-separated subset of: %(default)s",
    )
    parser.add_argument(
        "--count-short",
        type=int,
        default=instructions.CountSettings.short,
        help="instruction counts: requests in the short run (default %(default)s)",
    )
    parser.add_argument(
        "--count-long",
        type=int,
        default=instructions.CountSettings.long,
        help="instruction counts: requests in the long run (default %(default)s)",
    )
    parser.add_argument(
        "--count-warmup",
        type=int,
        default=instructions.CountSettings.warmup,
        help="instruction counts: warm-up requests before either (default %(default)s)",
    )
    parser.add_argument("--output", type=Path, help=f"markdown report (default {DEFAULT_OUTPUT})")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    parser.add_argument("--json", type=Path, help="also save the raw results as JSON here")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every timed part this many times, frameworks in turn, keeping each one's "
        "best: spreads the samples over time when other work shares the machine "
        "(instruction counts run once: they do not vary)",
    )
    return parser.parse_args(argv)


def source_fingerprint() -> str:
    """A hash of this project's source, to notice when it changes during a run (someone
    editing src/ meanwhile would make this project's figures mix two versions)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def merge(
    kept: Results | None,
    new: Results,
    field: str,
    best: Callable[[str], Callable[[float, float], float]],
) -> Results:
    """Combine two passes, keeping the better number per cell; a failure in any pass stays.

    ``best(scenario)`` is ``min`` or ``max``: which number is the better one there."""
    if kept is None:
        return new
    for key, result in new.items():
        old = kept.setdefault(key, result)
        if old is result or "error" in old:
            continue
        if "error" in result:
            kept[key] = result
            continue
        for name, scenario in result.get("scenarios", {}).items():
            previous = old["scenarios"].get(name)
            if previous is None or not scenario["ok"]:
                old["scenarios"][name] = scenario
            elif previous["ok"]:
                previous[field] = best(name)(previous[field], scenario[field])
    return kept


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        frameworks = [FRAMEWORKS_BY_KEY[key] for key in args.frameworks.split(",")]
        selected = [SCENARIOS_BY_NAME[name] for name in args.scenarios.split(",")]
    except KeyError as exc:
        sys.exit(f"unknown framework or scenario: {exc}")
    only = args.only.split(",") if args.only else None
    servers = args.servers.split(",")
    if (only and not set(only) <= set(PARTS)) or not set(servers) <= set(loadtest.SERVERS):
        sys.exit(f"--only takes {', '.join(PARTS)}; --servers {', '.join(loadtest.SERVERS)}")
    frameworks = [f for f in FRAMEWORKS if f in frameworks]  # always in the table's order
    scenarios = [s for s in HTTP_SCENARIOS if s in selected]
    counted = [s for s in ALL_SCENARIOS if s in selected]

    def wanted(part: str) -> bool:
        return only is None or part in only

    quick = inprocess.Settings(rounds=2, round_time=0.05, warmup=0.02)
    settings = quick if args.quick else inprocess.Settings()
    settings = inprocess.Settings(
        rounds=args.rounds or settings.rounds,
        round_time=args.round_time or settings.round_time,
        warmup=settings.warmup,
    )
    websocket_settings = (
        websocket.WebsocketSettings(duration=0.5, warmup=0.1, idle_connections=50)
        if args.quick
        else websocket.WebsocketSettings()
    )
    sse_settings = (
        sse.SseSettings(events=5_000, streams=1, warmup_events=500)
        if args.quick
        else sse.SseSettings()
    )
    load = loadtest.LoadSettings(duration=1, warmup=0) if args.quick else loadtest.LoadSettings()
    load = loadtest.LoadSettings(
        duration=args.duration or load.duration,
        warmup=load.warmup,
        connections=args.connections or load.connections,
    )
    counts = instructions.CountSettings(args.count_short, args.count_long, args.count_warmup)
    if args.quick:
        # Only checks that the counting works: one scenario, a few requests.
        counts = instructions.CountSettings(short=20, long=60, warmup=10)
        counted = counted[:1]
    wrk_command = f"`wrk -t{load.threads} -c{load.connections} -d{load.duration}s`"

    run = Run(
        scenarios=scenarios,
        frameworks=frameworks,
        inprocess=None,
        loadtest=None,
        probes={framework.key: probe(framework) for framework in frameworks},
        revision=git_revision(),
        inprocess_settings=(
            f"Each scenario: {settings.warmup:g}s warm-up, then {settings.rounds} rounds of about "
            f"{settings.round_time:g}s per framework, the frameworks taking turns round by round "
            "(each in its own process, one running at a time); each framework's event loop gets "
            f"a turn every {inprocess.YIELD_EVERY} requests."
        ),
        loadtest_settings=(
            f"{wrk_command} per scenario and "
            "framework (the frameworks taking turns scenario by scenario) after "
            f"{load.warmup}s of warm-up load; uvicorn `{' '.join(loadtest.UVICORN_ARGS[:-2])}`."
        ),
        granian_settings=(
            f"{wrk_command} per scenario and framework, as under uvicorn, after {load.warmup}s "
            f"of warm-up load; granian `{' '.join(loadtest.GRANIAN_ARGS[:-2])}`."
        ),
        websocket_settings=(
            f"{websocket_settings.warmup:g}s of warm-up, then {websocket_settings.duration:g}s "
            "of echoes per connection count, each connection sending its next message when "
            "the echo of the last one is back; memory: the server's resident memory grown by "
            f"{websocket_settings.idle_connections} more open connections that each echoed "
            f"once, per connection. uvicorn `{' '.join(websocket.WS_SERVER_ARGS)}`."
        ),
        sse_settings=(
            f"one client reads streams of {sse_settings.events:,} events to their end, best of "
            f"{sse_settings.streams} after a {sse_settings.warmup_events:,}-event warm-up "
            "stream; uvicorn as in the HTTP load run."
        ),
        instructions_settings=counts.describe(),
        wrk=loadtest.wrk_version(),
        valgrind=instructions.valgrind_version(),
        quick=args.quick,
        repeat=max(1, args.repeat),
        only=only,
        instruction_scenarios=counted,
    )
    fingerprint = source_fingerprint()
    for index in range(max(1, args.repeat)):
        # Every other pass runs the frameworks in reverse order, so that a machine getting
        # slower or faster during the run does not favour whoever goes first.
        order = list(frameworks) if index % 2 == 0 else list(reversed(frameworks))
        if wanted("inprocess") and scenarios:
            measured = inprocess.run(order, scenarios, settings)
            run.inprocess = merge(run.inprocess, measured, "best_us", lambda _: min)
        if wanted("loadtest") and scenarios and "uvicorn" in servers:
            measured = loadtest.run(order, scenarios, load, "uvicorn")
            run.loadtest = merge(run.loadtest, measured, "rps", lambda _: max)
        if wanted("loadtest") and scenarios and "granian" in servers:
            measured = loadtest.run(order, scenarios, load, "granian")
            run.granian = merge(run.granian, measured, "rps", lambda _: max)
        if wanted("sse"):
            measured = inprocess.run(order, [SSE], settings)
            run.sse_inprocess = merge(run.sse_inprocess, measured, "best_us", lambda _: min)
            measured = sse.run(order, sse_settings)
            run.sse = merge(run.sse, measured, "value", lambda _: max)
        if wanted("websocket"):
            measured = inprocess.run(order, [WEBSOCKET_ECHO], settings)
            run.websocket_inprocess = merge(
                run.websocket_inprocess, measured, "best_us", lambda _: min
            )
            measured = websocket.run(order, websocket_settings)
            run.websocket = merge(run.websocket, measured, "value", websocket.better)
    if wanted("instructions") and counted:
        run.instructions = instructions.run(frameworks, counted, counts)

    run.source_changed = source_fingerprint() != fingerprint
    if run.source_changed:
        print("warning: src/ changed during the run", file=sys.stderr)
    report = render(run)
    output = args.output or (None if args.quick or args.no_write else DEFAULT_OUTPUT)
    if output is not None and not args.no_write:
        if output.exists():
            # A partial run keeps the sections it did not measure; any run keeps the
            # sections the harness does not write ("Why some targets are missed").
            report = splice(output.read_text(), report, run)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
    print(report)
    if output is not None and not args.no_write:
        print(f"written to {output}", file=sys.stderr)
    if args.json:
        parts = (
            *("inprocess", "loadtest", "granian", "sse_inprocess", "sse"),
            *("websocket_inprocess", "websocket", "instructions"),
        )
        args.json.write_text(json.dumps({part: getattr(run, part) for part in parts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
