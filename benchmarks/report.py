"""Markdown report: machine, tables side by side, ratios, and whether the targets are met."""

from __future__ import annotations

import os
import platform
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.frameworks import ROOT, Framework
from benchmarks.scenarios import Scenario

# Targets from the project's benchmark issue.
INPROCESS_VS_QUART = 5.0
"""In-process, the published Quart's per-request time over ours must be at least this."""
INPROCESS_VS_STARLETTE = 1.5
"""In-process, our per-request time over Starlette's must be at most this."""
LOADTEST_VS_QUART = 3.0
"""Under uvicorn, our requests per second over the published Quart's must be at least this."""
WEBSOCKET_VS_QUART = 2.0
"""Websocket echo: our round trips per second over the published Quart's, at least this."""
WEBSOCKET_VS_STARLETTE = 1.3
"""Websocket echo: Starlette's round trips per second over ours, at most this."""


def load_average() -> str:
    """Load when the run began: other work on the machine makes results noisier."""
    try:
        return ", ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


@dataclass
class Run:
    """Everything one invocation measured, and the settings it used, for the report."""

    scenarios: list[Scenario]
    frameworks: list[Framework]
    inprocess: dict[str, dict[str, Any]] | None
    loadtest: dict[str, dict[str, Any]] | None
    probes: dict[str, dict[str, Any]]
    revision: str
    inprocess_settings: str
    loadtest_settings: str
    wrk: str | None
    quick: bool
    repeat: int = 1
    websocket_inprocess: dict[str, dict[str, Any]] | None = None
    websocket: dict[str, dict[str, Any]] | None = None
    websocket_settings: str = ""
    load_average: str = field(default_factory=load_average)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
        return version


def value(results: dict[str, dict[str, Any]], key: str, scenario: str, field: str) -> float | None:
    """A measured number, or None when the framework or scenario failed or did not run."""
    result = results.get(key, {}).get("scenarios", {}).get(scenario)
    if not result or not result.get("ok"):
        return None
    number: float | None = result.get(field)
    return number


def cell(results: dict[str, dict[str, Any]], key: str, scenario: str, field: str, fmt: str) -> str:
    if key not in results:
        return "not run"
    if results[key].get("error") and scenario not in results[key].get("scenarios", {}):
        return "error"
    number = value(results, key, scenario, field)
    if number is not None:
        return fmt.format(number)
    return "FAILED" if results[key].get("scenarios", {}).get(scenario) else "n/a"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def show_ratio(number: float | None, meets: Callable[[float], bool] | None = None) -> str:
    if number is None:
        return "n/a"
    mark = "" if meets is None else (" ✓" if meets(number) else " ✗")
    return f"{number:.2f}x{mark}"


def verdict(
    label: str,
    ratios: dict[str, float | None],
    meets: Callable[[float], bool],
    unit: str = "scenario",
) -> str:
    """One line: met, not met (naming the scenarios), or not evaluated (naming the gaps)."""
    missing = [name for name, number in ratios.items() if number is None]
    failing = [name for name, number in ratios.items() if number is not None and not meets(number)]
    if missing:
        return f"- {label}: **not evaluated** (no result for: {', '.join(missing)})"
    if failing:
        return f"- {label}: **not met** (in: {', '.join(failing)})"
    return f"- {label}: **met** in every {unit}"


def header(frameworks: list[Framework], extra: list[str]) -> list[str]:
    titles = ["scenario", *(framework.title for framework in frameworks), *extra]
    return ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]


def inprocess_section(run: Run, results: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The per-request time table and its two target lines."""
    lines = [
        "## In-process (ASGI app called directly, no server)",
        "",
        "Per-request time in microseconds, best of the timed rounds; lower is better. "
        f"{run.inprocess_settings}",
        "",
        *header(run.frameworks, ["Quart ÷ ours", "ours ÷ Starlette"]),
    ]
    loops = sorted({r["environment"]["loop"] for r in results.values() if "environment" in r})
    lines[2] += f" Event loop: {', '.join(loops) or 'unknown'}."
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes, frameworks in turn."
    vs_quart: dict[str, float | None] = {}
    vs_starlette: dict[str, float | None] = {}
    for scenario in run.scenarios:
        ours = value(results, "ours", scenario.name, "best_us")
        vs_quart[scenario.name] = ratio(value(results, "quart", scenario.name, "best_us"), ours)
        starlette = value(results, "starlette", scenario.name, "best_us")
        vs_starlette[scenario.name] = ratio(ours, starlette)
        cells = [cell(results, f.key, scenario.name, "best_us", "{:.1f}") for f in run.frameworks]
        lines.append(
            f"| {scenario.title} | "
            + " | ".join(cells)
            + f" | {show_ratio(vs_quart[scenario.name], lambda r: r >= INPROCESS_VS_QUART)}"
            + f" | {show_ratio(vs_starlette[scenario.name], lambda r: r <= INPROCESS_VS_STARLETTE)}"
            + " |"
        )
    targets = [
        verdict(
            f"in-process, at least {INPROCESS_VS_QUART:g}x faster than the published Quart",
            vs_quart,
            lambda r: r >= INPROCESS_VS_QUART,
        ),
        verdict(
            f"in-process, within {INPROCESS_VS_STARLETTE:g}x of Starlette's per-request time",
            vs_starlette,
            lambda r: r <= INPROCESS_VS_STARLETTE,
        ),
    ]
    return lines, targets


def loadtest_section(run: Run, results: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The requests-per-second table and its target line."""
    lines = [
        "## Under uvicorn on loopback (httptools + uvloop, one worker; load from wrk)",
        "",
        f"Requests per second; higher is better. {run.loadtest_settings}",
        "",
        *header(run.frameworks, ["ours ÷ Quart", "ours ÷ Starlette"]),
    ]
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes, frameworks in turn."
    vs_quart: dict[str, float | None] = {}
    for scenario in run.scenarios:
        ours = value(results, "ours", scenario.name, "rps")
        vs_quart[scenario.name] = ratio(ours, value(results, "quart", scenario.name, "rps"))
        vs_starlette = ratio(ours, value(results, "starlette", scenario.name, "rps"))
        cells = [cell(results, f.key, scenario.name, "rps", "{:,.0f}") for f in run.frameworks]
        lines.append(
            f"| {scenario.title} | "
            + " | ".join(cells)
            + f" | {show_ratio(vs_quart[scenario.name], lambda r: r >= LOADTEST_VS_QUART)}"
            + f" | {show_ratio(vs_starlette)} |"
        )
    targets = [
        verdict(
            f"under uvicorn, at least {LOADTEST_VS_QUART:g}x the published Quart's requests/s",
            vs_quart,
            lambda r: r >= LOADTEST_VS_QUART,
        )
    ]
    return lines, targets


def websocket_section(run: Run) -> tuple[list[str], list[str]]:
    """One table for the websocket echo (in-process and under uvicorn) and its targets.

    Both targets compare round trips per second; in-process that is the inverse of the time
    per round trip, so the same ratios apply to both."""
    lines = [
        "## Websocket echo",
        "",
        "A client sends a text message to `/ws` and waits for it to come back, again and again. "
        "In-process: the app driven directly, as in the HTTP in-process table (microseconds per "
        f"round trip, lower is better). Under uvicorn: {run.websocket_settings} The ratios say "
        "how many times better one is than the other (faster, or less memory): above 1 is better.",
        "",
        *header(run.frameworks, ["ours better than Quart by", "Starlette better than ours by"]),
    ]
    lines[4] = lines[4].replace("| scenario |", "| measure |", 1)
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes."
    vs_quart: dict[str, float | None] = {}
    vs_starlette: dict[str, float | None] = {}

    def row(
        title: str, results: dict[str, dict[str, Any]], name: str, field: str, fmt: str, *,
        faster_is_lower: bool = False, judged: bool = True,
    ) -> None:  # fmt: skip
        ours = value(results, "ours", name, field)
        quart = value(results, "quart", name, field)
        starlette = value(results, "starlette", name, field)
        if faster_is_lower:
            gain, behind = ratio(quart, ours), ratio(ours, starlette)
        else:
            gain, behind = ratio(ours, quart), ratio(starlette, ours)
        cells = [cell(results, f.key, name, field, fmt) for f in run.frameworks]
        quart_mark = (lambda r: r >= WEBSOCKET_VS_QUART) if judged else None
        starlette_mark = (lambda r: r <= WEBSOCKET_VS_STARLETTE) if judged else None
        lines.append(
            f"| {title} | " + " | ".join(cells)
            + f" | {show_ratio(gain, quart_mark)} | {show_ratio(behind, starlette_mark)} |"
        )  # fmt: skip
        if judged:
            vs_quart[title] = gain
            vs_starlette[title] = behind

    if run.websocket_inprocess is not None:
        row(
            "in-process: µs per round trip",
            run.websocket_inprocess,
            "websocket_echo",
            "best_us",
            "{:.1f}",
            faster_is_lower=True,
        )
    if run.websocket is not None:
        row("uvicorn: round trips/s on 1 connection", run.websocket, "rt_1", "value", "{:,.0f}")
        row(
            "uvicorn: round trips/s on 100 connections", run.websocket, "rt_100", "value", "{:,.0f}"
        )
        row(
            "uvicorn: KiB of memory per idle connection",
            run.websocket,
            "idle_kib",
            "value",
            "{:.1f}",
            faster_is_lower=True,
            judged=False,
        )
    targets = [
        verdict(
            f"websocket echo, at least {WEBSOCKET_VS_QUART:g}x the published Quart's round trips",
            vs_quart,
            lambda r: r >= WEBSOCKET_VS_QUART,
            "measure",
        ),
        verdict(
            f"websocket echo, within {WEBSOCKET_VS_STARLETTE:g}x of Starlette's round trips",
            vs_starlette,
            lambda r: r <= WEBSOCKET_VS_STARLETTE,
            "measure",
        ),
    ]
    return lines, targets


def machine_section(run: Run) -> list[str]:
    lines = [
        "## Machine and versions",
        "",
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores; {platform.platform()}",
        f"- load average (1, 5, 15 min) when the run began: {run.load_average}",
    ]
    for framework in run.frameworks:
        info = run.probes.get(framework.key, {})
        versions = info.get("versions", {})
        if framework.key == "ours":
            name = f"quart {project_version()} from the work tree (src/, commit {run.revision})"
        elif framework.distribution:
            name = f"{framework.distribution} {versions.get(framework.distribution, '?')}"
        else:
            name = "hand-written app"
        shared = ", ".join(
            f"{lib} {versions[lib]}"
            for lib in ("werkzeug", "flask", "uvicorn", "uvloop", "httptools")
            if lib in versions
        )
        python = info.get("python", "?")
        lines.append(f"- {framework.title}: {name}; Python {python} ({framework.python}); {shared}")
    if run.wrk:
        lines.append(f"- load generator: {run.wrk}")
    return lines


def failures(run: Run) -> list[str]:
    """Every error verbatim, so a broken scenario is never silently missing from a table."""
    lines = []
    parts = (
        ("in-process", run.inprocess),
        ("uvicorn", run.loadtest),
        ("websocket in-process", run.websocket_inprocess),
        ("websocket under uvicorn", run.websocket),
    )
    for part, results in parts:
        for framework in run.frameworks:
            result = (results or {}).get(framework.key, {})
            if result.get("error"):
                lines.append(f"- {part}, {framework.title}: {result['error']}")
            for name, scenario in result.get("scenarios", {}).items():
                if not scenario.get("ok"):
                    lines.append(f"- {part}, {framework.title}, `{name}`: {scenario['error']}")
    return ["## Failures", "", *lines] if lines else []


def render(run: Run) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections: list[list[str]] = []
    targets: list[str] = []
    if run.inprocess is not None:
        table, lines = inprocess_section(run, run.inprocess)
        sections.append(table)
        targets += lines
    if run.loadtest is not None:
        table, lines = loadtest_section(run, run.loadtest)
        sections.append(table)
        targets += lines
    if run.websocket_inprocess is not None or run.websocket is not None:
        table, lines = websocket_section(run)
        sections.append(table)
        targets += lines
    intro = [
        "# Benchmarks",
        "",
        f"Measured {now} with `python -m benchmarks` (the harness is in `benchmarks/`; see "
        "`benchmarks/README.md`). This project and the published Quart run the same app file, "
        "`benchmarks/apps/quart_app.py`, each in its own virtual environment.",
    ]
    if run.quick:
        intro += ["", "**Quick run: too short to be representative; it only checks the harness.**"]
    intro += ["", "## Targets", "", *targets]
    blocks = [intro, *sections, failures(run), machine_section(run)]
    return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"
