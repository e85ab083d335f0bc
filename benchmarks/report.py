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
from benchmarks.scenarios import REALISTIC, SCENARIOS, SSE, Scenario

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
    granian: dict[str, dict[str, Any]] | None = None
    granian_settings: str = ""
    sse_inprocess: dict[str, dict[str, Any]] | None = None
    sse: dict[str, dict[str, Any]] | None = None
    sse_settings: str = ""
    instructions: dict[str, dict[str, Any]] | None = None
    instruction_scenarios: list[Scenario] = field(default_factory=list)
    instructions_settings: str = ""
    valgrind: str | None = None
    source_changed: bool = False
    """Whether src/ changed while the run went on (see run.source_fingerprint)."""
    only: list[str] | None = None
    """The parts this run measured when not all (``--only``): the report then keeps the
    other sections of the existing file (see ``splice``)."""
    load_average: str = field(default_factory=load_average)
    measured: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def stamp(self) -> str:
        """When and what was measured, for each section (sections may come from different
        runs, see ``splice``)."""
        stamp = f"Measured {self.measured}, commit {self.revision}."
        if self.source_changed:
            stamp += (
                " **`src/` changed during this run: this project's figures may mix two versions.**"
            )
        return stamp


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


def cell(
    results: dict[str, dict[str, Any]],
    key: str,
    scenario: str,
    field: str,
    fmt: str,
    scale: float = 1.0,
) -> str:
    if key not in results:
        return "not run"
    if results[key].get("error") and scenario not in results[key].get("scenarios", {}):
        return "error"
    number = value(results, key, scenario, field)
    if number is not None:
        return fmt.format(number * scale)
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


def micro(run: Run) -> list[Scenario]:
    return [scenario for scenario in run.scenarios if scenario in SCENARIOS]


def realistic(run: Run) -> list[Scenario]:
    return [scenario for scenario in run.scenarios if scenario in REALISTIC]


REALISTIC_NOTE = (
    "Served by each app module's `realistic_app` (with a secret key, templates, a static "
    "folder and error handlers; Starlette: SessionMiddleware, Jinja2Templates, StaticFiles, "
    "exception handlers). n/a: not implemented by the hand-written ASGI app. The targets are "
    "judged on the six micro scenarios above; these ratios are for comparison."
)


def realistic_table(
    run: Run,
    results: dict[str, dict[str, Any]],
    field: str,
    fmt: str,
    ratios: list[tuple[str, str, str]],
    heading: str,
) -> list[str]:
    """The realistic scenarios' table: ``ratios`` are (title, numerator, denominator)."""
    scenarios = realistic(run)
    if not scenarios:
        return []
    lines = [
        "",
        f"### {heading}",
        "",
        REALISTIC_NOTE,
        "",
        *header(run.frameworks, [title for title, _, _ in ratios]),
    ]
    for scenario in scenarios:
        cells = [cell(results, f.key, scenario.name, field, fmt) for f in run.frameworks]
        shown = [
            show_ratio(
                ratio(
                    value(results, numerator, scenario.name, field),
                    value(results, denominator, scenario.name, field),
                )
            )
            for _, numerator, denominator in ratios
        ]
        lines.append(f"| {scenario.title} | " + " | ".join(cells + shown) + " |")
    return lines


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
    lines[2] += f" {run.stamp()}"
    vs_quart: dict[str, float | None] = {}
    vs_starlette: dict[str, float | None] = {}
    for scenario in micro(run):
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
    if not micro(run):  # only realistic scenarios were run: no micro table, no verdicts
        del lines[3:]
        targets = []
    lines += realistic_table(
        run,
        results,
        "best_us",
        "{:.1f}",
        [("Quart ÷ ours", "quart", "ours"), ("ours ÷ Starlette", "ours", "starlette")],
        "Realistic scenarios, in-process",
    )
    return lines, targets


UVICORN_HEADING = "## Under uvicorn on loopback (httptools + uvloop, one worker; load from wrk)"
GRANIAN_HEADING = "## Under granian on loopback (ASGI interface, uvloop, one worker; load from wrk)"


def loadtest_section(
    run: Run, results: dict[str, dict[str, Any]], server: str = "uvicorn"
) -> tuple[list[str], list[str]]:
    """The requests-per-second table and its target line (the issue's target names uvicorn;
    under granian the ratios are shown without a verdict)."""
    judged = server == "uvicorn"
    settings = run.loadtest_settings if judged else run.granian_settings
    lines = [
        UVICORN_HEADING if judged else GRANIAN_HEADING,
        "",
        f"Requests per second; higher is better. {settings}",
        "",
        *header(run.frameworks, ["ours ÷ Quart", "ours ÷ Starlette"]),
    ]
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes, frameworks in turn."
    lines[2] += f" {run.stamp()}"
    vs_quart: dict[str, float | None] = {}
    for scenario in micro(run):
        ours = value(results, "ours", scenario.name, "rps")
        vs_quart[scenario.name] = ratio(ours, value(results, "quart", scenario.name, "rps"))
        vs_starlette = ratio(ours, value(results, "starlette", scenario.name, "rps"))
        cells = [cell(results, f.key, scenario.name, "rps", "{:,.0f}") for f in run.frameworks]
        quart_mark = (lambda r: r >= LOADTEST_VS_QUART) if judged else None
        lines.append(
            f"| {scenario.title} | "
            + " | ".join(cells)
            + f" | {show_ratio(vs_quart[scenario.name], quart_mark)}"
            + f" | {show_ratio(vs_starlette)} |"
        )
    targets = [
        verdict(
            f"under uvicorn, at least {LOADTEST_VS_QUART:g}x the published Quart's requests/s",
            vs_quart,
            lambda r: r >= LOADTEST_VS_QUART,
        )
    ]
    if not micro(run):  # only realistic scenarios were run: no micro table, no verdicts
        del lines[3:]
        targets = []
    lines += realistic_table(
        run,
        results,
        "rps",
        "{:,.0f}",
        [("ours ÷ Quart", "ours", "quart"), ("ours ÷ Starlette", "ours", "starlette")],
        f"Realistic scenarios under {server}",
    )
    return lines, targets if judged else []


def comparison_row(
    run: Run,
    title: str,
    results: dict[str, dict[str, Any]],
    name: str,
    field: str,
    fmt: str,
    *,
    faster_is_lower: bool = False,
    marks: tuple[Callable[[float], bool], Callable[[float], bool]] | None = None,
) -> tuple[str, float | None, float | None]:
    """One row of a measure table: the cells, how many times ours is better than Quart and
    Starlette better than ours (above 1 is better), and those two ratios."""
    ours = value(results, "ours", name, field)
    quart = value(results, "quart", name, field)
    starlette = value(results, "starlette", name, field)
    if faster_is_lower:
        gain, behind = ratio(quart, ours), ratio(ours, starlette)
    else:
        gain, behind = ratio(ours, quart), ratio(starlette, ours)
    cells = [cell(results, f.key, name, field, fmt) for f in run.frameworks]
    quart_mark, starlette_mark = marks if marks else (None, None)
    line = (
        f"| {title} | " + " | ".join(cells)
        + f" | {show_ratio(gain, quart_mark)} | {show_ratio(behind, starlette_mark)} |"
    )  # fmt: skip
    return line, gain, behind


def per_event(results: dict[str, dict[str, Any]], events: int) -> dict[str, dict[str, Any]]:
    """In-process results of the event stream, per event instead of per stream."""
    converted: dict[str, dict[str, Any]] = {}
    for key, result in results.items():
        scenarios = {
            name: {**scenario, "best_us": scenario["best_us"] / events}
            if scenario.get("ok")
            else scenario
            for name, scenario in result.get("scenarios", {}).items()
        }
        converted[key] = {**result, "scenarios": scenarios}
    return converted


SSE_HEADING = "## Server-sent events"


def sse_section(run: Run, events: int) -> list[str]:
    """Events to one client: in-process time per event, and events per second under uvicorn."""
    lines = [
        SSE_HEADING,
        "",
        "The app streams small events (`data: <n>`) to one client: an async generator returned "
        "with `text/event-stream` (Starlette: StreamingResponse). In-process: microseconds per "
        f"event in a stream of {events:,} events, the request's own cost spread over them "
        f"(timed as the HTTP in-process table; lower is better). Under uvicorn: {run.sse_settings}"
        " The ratios say how many times better one is than the other: above 1 is better. "
        f"{run.stamp()}",
        "",
        *header(run.frameworks, ["ours better than Quart by", "Starlette better than ours by"]),
    ]
    lines[4] = lines[4].replace("| scenario |", "| measure |", 1)
    if run.sse_inprocess is not None:
        line, _, _ = comparison_row(
            run,
            "in-process: µs per event",
            per_event(run.sse_inprocess, events),
            "sse",
            "best_us",
            "{:.2f}",
            faster_is_lower=True,
        )
        lines.append(line)
    if run.sse is not None:
        line, _, _ = comparison_row(
            run, "uvicorn: events/s to one client", run.sse, "events_per_s", "value", "{:,.0f}"
        )
        lines.append(line)
    return lines


INSTRUCTIONS_HEADING = "## Instructions per request (cachegrind)"


def instructions_section(run: Run, results: dict[str, dict[str, Any]]) -> list[str]:
    """Thousands of instructions per request, and ours over Starlette and over Quart."""
    lines = [
        INSTRUCTIONS_HEADING,
        "",
        "CPU instructions executed per request, in thousands; lower is better. Each "
        "contender's in-process worker (the very code the in-process tables time) runs twice "
        f"per scenario under {run.instructions_settings}; the difference in instructions over "
        "the difference in requests is the cost of one request, since interpreter startup, "
        "imports, lifespan startup, the correctness checks and the warm-up cancel out. "
        "`PYTHONHASHSEED=0`, the garbage collector on, one valgrind run at a time; unlike "
        "wall-clock times on a shared machine these counts repeat within about 1% from run to "
        f"run, so they are the figure to judge a change by. {run.stamp()}",
        "",
        *header(run.frameworks, ["ours ÷ Starlette", "ours ÷ Quart"]),
    ]
    for scenario in run.instruction_scenarios:
        title = scenario.title
        if scenario.kind == "sse":
            title = "server-sent events, per event `GET /sse`"
        elif scenario.kind == "websocket":
            title = "websocket echo `/ws`, per round trip"
        cells = [
            cell(results, f.key, scenario.name, "instructions", "{:,.1f}", scale=1e-3)
            for f in run.frameworks
        ]
        ours = value(results, "ours", scenario.name, "instructions")
        starlette = value(results, "starlette", scenario.name, "instructions")
        quart = value(results, "quart", scenario.name, "instructions")
        lines.append(
            f"| {title} | " + " | ".join(cells)
            + f" | {show_ratio(ratio(ours, starlette))} | {show_ratio(ratio(ours, quart))} |"
        )  # fmt: skip
    return lines


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
    lines[2] += f" {run.stamp()}"
    vs_quart: dict[str, float | None] = {}
    vs_starlette: dict[str, float | None] = {}

    def row(
        title: str, results: dict[str, dict[str, Any]], name: str, field: str, fmt: str, *,
        faster_is_lower: bool = False, judged: bool = True,
    ) -> None:  # fmt: skip
        marks = (
            (lambda r: r >= WEBSOCKET_VS_QUART, lambda r: r <= WEBSOCKET_VS_STARLETTE)
            if judged
            else None
        )
        line, gain, behind = comparison_row(
            run, title, results, name, field, fmt, faster_is_lower=faster_is_lower, marks=marks
        )
        lines.append(line)
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
            for lib in ("werkzeug", "flask", "uvicorn", "granian", "uvloop", "httptools")
            if lib in versions
        )
        python = info.get("python", "?")
        lines.append(f"- {framework.title}: {name}; Python {python} ({framework.python}); {shared}")
    if run.wrk:
        lines.append(f"- load generator: {run.wrk}")
    if run.valgrind and run.instructions is not None:
        lines.append(f"- instruction counts: {run.valgrind}")
    return lines


def parts(run: Run) -> tuple[tuple[str, dict[str, dict[str, Any]] | None], ...]:
    """Each part's name (as the failures list names it) and its results, None if not run."""
    return (
        ("in-process", run.inprocess),
        ("uvicorn", run.loadtest),
        ("granian", run.granian),
        ("server-sent events in-process", run.sse_inprocess),
        ("server-sent events under uvicorn", run.sse),
        ("websocket in-process", run.websocket_inprocess),
        ("websocket under uvicorn", run.websocket),
        ("instructions", run.instructions),
    )


def failures(run: Run) -> list[str]:
    """Every error verbatim, so a broken scenario is never silently missing from a table."""
    lines = []
    for part, results in parts(run):
        if results is None:
            continue
        for framework in run.frameworks:
            result = (results or {}).get(framework.key, {})
            if result.get("error"):
                lines.append(f"- {part}, {framework.title}: {result['error']}")
            for name, scenario in result.get("scenarios", {}).items():
                if not scenario.get("ok"):
                    lines.append(f"- {part}, {framework.title}, `{name}`: {scenario['error']}")
    return ["## Failures", "", *lines] if lines else []


def render(run: Run) -> str:
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
    if run.granian is not None:
        table, lines = loadtest_section(run, run.granian, "granian")
        sections.append(table)
    if run.sse_inprocess is not None or run.sse is not None:
        sections.append(sse_section(run, SSE.events))
    if run.websocket_inprocess is not None or run.websocket is not None:
        table, lines = websocket_section(run)
        sections.append(table)
        targets += lines
    if run.instructions is not None:
        sections.append(instructions_section(run, run.instructions))
    intro = [
        "# Benchmarks",
        "",
        f"Measured {run.measured} with `python -m benchmarks` (the harness is in `benchmarks/`; "
        "see `benchmarks/README.md`). This project and the published Quart run the same app "
        "file, `benchmarks/apps/quart_app.py`, each in its own virtual environment.",
    ]
    if run.only:
        intro[2] = intro[2].replace(
            "`python -m benchmarks`", f"`python -m benchmarks --only {','.join(run.only)}`"
        )
        intro[2] += (
            " The sections this run did not measure are kept from an earlier run; each "
            "section says when it was measured."
        )
    if run.quick:
        intro += ["", "**Quick run: too short to be representative; it only checks the harness.**"]
    if targets:
        intro += ["", "## Targets", "", *targets]
    blocks = [intro, *sections, failures(run), machine_section(run)]
    return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"


SECTION_ORDER = (
    "## Targets",
    "## In-process",
    UVICORN_HEADING,
    GRANIAN_HEADING,
    SSE_HEADING,
    "## Websocket echo",
    INSTRUCTIONS_HEADING,
    "## Failures",
    "## Machine and versions",
)


def sections_of(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first ``## `` heading, and each section's lines by heading."""
    intro: list[str] = []
    sections: dict[str, list[str]] = {}
    current = intro
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("## "):
            current = sections.setdefault(line, [])
        else:
            current.append(line)
    return intro, sections


def bullet_key(line: str, separator: str) -> str | None:
    return line[2:].split(separator, 1)[0] if line.startswith("- ") else None


def splice(old: str, new: str, run: Run) -> str:
    """The report of a partial run (``--only``) merged into the existing one: sections this
    run measured replace their old versions, the others stay (each says when it was
    measured); target lines are replaced by label and failures by part, the machine is new."""
    _, old_sections = sections_of(old)
    intro, new_sections = sections_of(new)
    merged = dict(old_sections)
    merged.update(new_sections)
    old_targets = old_sections.get("## Targets", [])
    new_targets = new_sections.get("## Targets", [])
    labels = {bullet_key(line, ": **") for line in new_targets} - {None}
    merged["## Targets"] = new_targets + [
        line for line in old_targets if bullet_key(line, ": **") not in labels | {None}
    ]
    if not any(merged["## Targets"]):
        del merged["## Targets"]
    measured = {name for name, results in parts(run) if results is not None}
    kept_failures = [
        line
        for line in old_sections.get("## Failures", [])
        if bullet_key(line, ",") not in measured | {None}
    ]
    failures_now = [line for line in new_sections.get("## Failures", []) if line.startswith("- ")]
    merged.pop("## Failures", None)
    if failures_now or kept_failures:
        merged["## Failures"] = ["", *failures_now, *kept_failures]
    machine_now = new_sections.get("## Machine and versions", [])
    keys = {bullet_key(line, ":") for line in machine_now} - {None}
    merged["## Machine and versions"] = machine_now + [
        line
        for line in old_sections.get("## Machine and versions", [])
        if bullet_key(line, ":") not in keys | {None}
    ]

    def rank(heading: str) -> int:
        for index, prefix in enumerate(SECTION_ORDER):
            if heading.startswith(prefix):
                return index
        return SECTION_ORDER.index("## Failures")  # unknown sections before the failures

    blocks = ["\n".join(intro).rstrip("\n")]
    for heading in sorted(merged, key=rank):
        body = list(merged[heading])
        while body and not body[-1]:
            body.pop()
        if heading == "## Targets":
            body = ["", *[line for line in body if line]]
        blocks.append("\n".join([heading, *body]))
    return "\n\n".join(blocks) + "\n"
