"""Run the benchmarks and write docs/benchmarks.md: ``python -m benchmarks --help``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import inprocess, loadtest, websocket
from benchmarks.frameworks import FRAMEWORKS, FRAMEWORKS_BY_KEY, ROOT, git_revision, probe
from benchmarks.report import Run, render
from benchmarks.scenarios import SCENARIOS, SCENARIOS_BY_NAME, WEBSOCKET_ECHO

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
Results = dict[str, dict[str, Any]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", choices=("inprocess", "loadtest", "websocket"), help="run one part only"
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
        default=",".join(scenario.name for scenario in SCENARIOS),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument("--rounds", type=int, help="in-process timed rounds (default 40)")
    parser.add_argument("--round-time", type=float, help="in-process seconds per round (0.05)")
    parser.add_argument("--duration", type=int, help="wrk seconds per scenario (default 5)")
    parser.add_argument("--connections", type=int, help="wrk connections (default 64)")
    parser.add_argument("--output", type=Path, help=f"markdown report (default {DEFAULT_OUTPUT})")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    parser.add_argument("--json", type=Path, help="also save the raw results as JSON here")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every part this many times, frameworks in turn, keeping each one's best: "
        "spreads the samples over time when other work shares the machine",
    )
    return parser.parse_args(argv)


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
        scenarios = [SCENARIOS_BY_NAME[name] for name in args.scenarios.split(",")]
    except KeyError as exc:
        sys.exit(f"unknown framework or scenario: {exc}")
    frameworks = [f for f in FRAMEWORKS if f in frameworks]  # always in the table's order
    scenarios = [s for s in SCENARIOS if s in scenarios]

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
    load = loadtest.LoadSettings(duration=1, warmup=0) if args.quick else loadtest.LoadSettings()
    load = loadtest.LoadSettings(
        duration=args.duration or load.duration,
        warmup=load.warmup,
        connections=args.connections or load.connections,
    )

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
            f"`wrk -t{load.threads} -c{load.connections} -d{load.duration}s` per scenario and "
            "framework (the frameworks taking turns scenario by scenario) after "
            f"{load.warmup}s of warm-up load; uvicorn `--loop uvloop --http httptools --workers 1 "
            "--no-access-log`."
        ),
        websocket_settings=(
            f"{websocket_settings.warmup:g}s of warm-up, then {websocket_settings.duration:g}s "
            "of echoes per connection count, each connection sending its next message when "
            "the echo of the last one is back; memory: the server's resident memory grown by "
            f"{websocket_settings.idle_connections} more open connections that each echoed "
            f"once, per connection. uvicorn `{' '.join(websocket.WS_SERVER_ARGS)}`."
        ),
        wrk=loadtest.wrk_version(),
        quick=args.quick,
        repeat=max(1, args.repeat),
    )
    for index in range(max(1, args.repeat)):
        # Every other pass runs the frameworks in reverse order, so that a machine getting
        # slower or faster during the run does not favour whoever goes first.
        order = list(frameworks) if index % 2 == 0 else list(reversed(frameworks))
        if args.only in (None, "inprocess"):
            measured = inprocess.run(order, scenarios, settings)
            run.inprocess = merge(run.inprocess, measured, "best_us", lambda _: min)
        if args.only in (None, "loadtest"):
            measured = loadtest.run(order, scenarios, load)
            run.loadtest = merge(run.loadtest, measured, "rps", lambda _: max)
        if args.only in (None, "websocket"):
            measured = inprocess.run(order, [WEBSOCKET_ECHO], settings)
            run.websocket_inprocess = merge(
                run.websocket_inprocess, measured, "best_us", lambda _: min
            )
            measured = websocket.run(order, websocket_settings)
            run.websocket = merge(run.websocket, measured, "value", websocket.better)

    report = render(run)
    print(report)
    output = args.output or (None if args.quick or args.no_write else DEFAULT_OUTPUT)
    if output is not None and not args.no_write:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report)
        print(f"written to {output}", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "inprocess": run.inprocess,
                    "loadtest": run.loadtest,
                    "websocket_inprocess": run.websocket_inprocess,
                    "websocket": run.websocket,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
