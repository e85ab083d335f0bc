"""Instructions per request: each contender's in-process driver under valgrind's cachegrind.

Wall-clock ratios on a small shared machine move by tens of percent from one run to the next;
the number of instructions a request executes barely moves, so it is the figure to judge a
change by. For every scenario and contender the in-process worker code (the same ``batch``
of requests inprocess.py times) runs twice under
``valgrind --tool=cachegrind --cache-sim=no``: once for a short and once for a long run of
requests, each after the same lifespan startup, correctness check and warm-up. The
difference in instructions divided by the difference in requests is the cost of one request;
interpreter startup, imports, warm-up and shutdown cancel out. For server-sent events the
requests are streams of 1,000 events, as timed in-process, and the figure is per event.

Runs are sequential (one valgrind process at a time), with ``PYTHONHASHSEED=0`` and the
garbage collector on, as in the timed runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import ROOT, Framework
from benchmarks.inprocess import (
    Settings,
    Worker,
    check_identity,
    environment,
    loop_factory,
)
from benchmarks.scenarios import SCENARIOS_BY_NAME, SSE, Scenario

VALGRIND_INSTALL_HINT = (
    "valgrind is not installed; on Debian: apt-get update && apt-get install -y valgrind"
)


@dataclass(frozen=True)
class CountSettings:
    """How many requests the two runs make: the same for every contender."""

    short: int = 2_000
    long: int = 12_000
    warmup: int = 500
    """Requests before the counted ones, in both runs."""
    loop: str = "auto"
    timeout: float = 3_600
    """Seconds one valgrind run may take before it counts as failed."""

    def describe(self) -> str:
        lighter = ", ".join(f"{name} ÷{divisor}" for name, divisor in LIGHTER.items())
        return (
            f"`valgrind --tool=cachegrind --cache-sim=no`, once for {self.short:,} and once for "
            f"{self.long:,} requests, each after the same {self.warmup:,} warm-up requests "
            f"(heavier scenarios make fewer: {lighter}; server-sent events: streams of "
            f"{SSE.events:,} events, a thousandth as many, the figure per event)"
        )

    def counts(self, scenario: Scenario) -> tuple[int, int, int]:
        """Short, long and warm-up counts for this scenario: heavy ones make fewer requests
        (see ``LIGHTER``), so that no valgrind run takes more than a minute or two."""
        divisor = scenario.events if scenario.kind == "sse" else LIGHTER.get(scenario.name, 1)
        return (
            max(1, self.short // divisor),
            max(2, self.long // divisor),
            max(1, self.warmup // divisor),
        )


LIGHTER: dict[str, int] = {
    "session": 2,
    "template": 10,
    "multipart": 5,
    "static_5k": 5,
    "static_1m": 50,
}
"""Scenarios whose requests cost many times a micro one's: their counts are divided by this."""


def valgrind_path() -> str | None:
    return shutil.which("valgrind")


def valgrind_version() -> str | None:
    path = valgrind_path()
    if path is None:
        return None
    process = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    return process.stdout.strip() or None


async def count_worker(module: str, scenario: Scenario, count: int, warmup: int) -> str | None:
    """The counted side: start up, check, warm up, then ``count`` requests exactly as the
    timed runs make them (``Worker.timed``), check again and shut down. Returns why the
    answer was wrong, or None.

    Both runs of a pair do all of this identically but for ``count``, so everything but the
    requests cancels in the difference."""
    worker = Worker(module, Settings())
    await worker.load("app")
    try:
        error = await worker.setup(scenario)
        if error is not None:
            return error
        await worker.timed(scenario, warmup)
        await worker.timed(scenario, count)
        return await worker.check(scenario)
    finally:
        await worker.shutdown()


def worker_main(args: argparse.Namespace) -> None:
    """Subprocess side, run under valgrind: writes the outcome and environment as JSON."""
    factory, loop_name = loop_factory(args.loop)
    scenario = SCENARIOS_BY_NAME[args.scenario]
    with asyncio.Runner(loop_factory=factory) as runner:
        error = runner.run(count_worker(args.module, scenario, args.count, args.warmup))
    outcome = {"error": error, "environment": environment(loop_name)}
    Path(args.result).write_text(json.dumps(outcome))


SUMMARY = re.compile(r"^summary:\s+(\d+)", re.MULTILINE)


def count_instructions(
    framework: Framework,
    scenario: Scenario,
    count: int,
    warmup: int,
    settings: CountSettings,
    directory: Path,
) -> int:
    """Instructions executed by one whole worker run (startup to exit) of ``count`` requests."""
    stem = directory / f"{framework.key}-{scenario.name}-{count}"
    out, result, log = (stem.with_suffix(suffix) for suffix in (".cg", ".json", ".log"))
    command = [
        valgrind_path() or "valgrind", "--tool=cachegrind", "--cache-sim=no",
        f"--cachegrind-out-file={out}", str(framework.python), "-m", "benchmarks.instructions",
        "--worker", f"--module=benchmarks.apps.{framework.module}", f"--scenario={scenario.name}",
        f"--count={count}", f"--warmup={warmup}", f"--loop={settings.loop}",
        f"--result={result}",
    ]  # fmt: skip
    env = framework.env()
    env["PYTHONHASHSEED"] = "0"
    with log.open("w") as stderr:
        process = subprocess.run(
            command, cwd=ROOT, env=env, stdout=stderr, stderr=subprocess.STDOUT,
            timeout=settings.timeout, check=False,
        )  # fmt: skip
    if process.returncode != 0 or not result.exists():
        lines = log.read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"exit {process.returncode}: " + " | ".join(lines[-3:]))
    outcome: dict[str, Any] = json.loads(result.read_text())
    if outcome["error"] is not None:
        raise ValueError(outcome["error"])
    identity_error = check_identity(framework, outcome["environment"])
    if identity_error is not None:
        raise RuntimeError(identity_error)
    match = SUMMARY.search(out.read_text())
    if match is None:
        raise RuntimeError(f"no summary line in {out.name}")
    return int(match.group(1))


def measure(
    framework: Framework, scenario: Scenario, settings: CountSettings, directory: Path
) -> dict[str, Any]:
    """Instructions per request (or per event) of one scenario for one contender."""
    started = time.monotonic()
    short_count, long_count, warmup = settings.counts(scenario)
    try:
        short = count_instructions(framework, scenario, short_count, warmup, settings, directory)
        long = count_instructions(framework, scenario, long_count, warmup, settings, directory)
    except ValueError as exc:
        return {"ok": False, "error": f"wrong answer: {exc}"}
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return {"ok": False, "error": f"valgrind run failed: {exc}"}
    per_request = (long - short) / (long_count - short_count)
    if scenario.kind == "sse":
        per_request /= scenario.events  # a request is a stream: the figure is per event
    if per_request <= 0:
        return {"ok": False, "error": f"the long run counted no more than the short: {long}"}
    return {
        "ok": True,
        "error": None,
        "instructions": per_request,
        "counts": [short_count, long_count, warmup],
        "short": short,
        "long": long,
        "seconds": time.monotonic() - started,
    }


def run(
    frameworks: list[Framework], scenarios: list[Scenario], settings: CountSettings
) -> dict[str, dict[str, Any]]:
    """Count every scenario for every contender, one valgrind run at a time."""
    if valgrind_path() is None:
        print(f"instruction counts skipped: {VALGRIND_INSTALL_HINT}", file=sys.stderr)
        return {framework.key: {"error": VALGRIND_INSTALL_HINT} for framework in frameworks}
    results: dict[str, dict[str, Any]] = {}
    for framework in frameworks:
        missing = framework.missing()
        results[framework.key] = {"error": missing} if missing else {"scenarios": {}}
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        for scenario in scenarios:
            print(f"instructions: {scenario.name} ...", file=sys.stderr, flush=True)
            for framework in frameworks:
                if "scenarios" not in results[framework.key] or not framework.runs(scenario.name):
                    continue
                result = measure(framework, scenario, settings, Path(tmp))
                results[framework.key]["scenarios"][scenario.name] = result
                shown = (
                    f"{result['instructions']:,.0f} instructions ({result['seconds']:.0f}s)"
                    if result["ok"]
                    else result["error"]
                )
                print(f"  {framework.key}: {shown}", file=sys.stderr, flush=True)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", action="store_true", help="internal: one counted run")
    parser.add_argument("--module", help="internal: the module holding the ASGI apps")
    parser.add_argument("--scenario", help="internal: the scenario's name")
    parser.add_argument("--count", type=int, help="internal: requests to count")
    parser.add_argument("--warmup", type=int, default=CountSettings.warmup)
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    parser.add_argument("--result", help="internal: where the worker writes its JSON")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.worker:
        sys.exit("use `python -m benchmarks --only instructions`; this entry is the worker")
    worker_main(arguments)
