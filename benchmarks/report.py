"""Markdown report: machine, tables side by side, ratios, and whether the targets are met
(the targets themselves are in targets.py)."""

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
from benchmarks.targets import (
    GRANIAN_QUART,
    GRANIAN_STARLETTE,
    INPROCESS_QUART,
    INPROCESS_TIME,
    INSTRUCTIONS_MICRO,
    REALISTIC_INSTRUCTIONS,
    REALISTIC_TIME,
    REALISTIC_VS_STARLETTE,
    SSE_TIME,
    STATIC_FILES,
    STATIC_VS_STARLETTE,
    TARGETS_BY_LABEL,
    UVICORN_QUART,
    UVICORN_STARLETTE,
    WEBSOCKET_MEMORY,
    WEBSOCKET_ROUND_TRIPS,
    Target,
    in_order,
    label_of,
)


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


def show_ratio(number: float | None, target: Target | None = None) -> str:
    """A ratio as the tables show it, marked ✓ or ✗ when a target judges it (with a third
    decimal when two would show the threshold itself, whichever side of it the ratio is)."""
    if number is None:
        return "n/a"
    if target is None:
        return f"{number:.2f}x"
    close = f"{number:.2f}" == f"{target.threshold:.2f}"
    mark = "✓" if target.meets(number) else "✗"
    return f"{number:.3f}x {mark}" if close else f"{number:.2f}x {mark}"


def header(frameworks: list[Framework], extra: list[str]) -> list[str]:
    titles = ["scenario", *(framework.title for framework in frameworks), *extra]
    return ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]


def micro(run: Run) -> list[Scenario]:
    return [scenario for scenario in run.scenarios if scenario in SCENARIOS]


def realistic(run: Run) -> list[Scenario]:
    return [scenario for scenario in run.scenarios if scenario in REALISTIC]


def is_static(scenario: Scenario) -> bool:
    return scenario.name.startswith("static_")


@dataclass(frozen=True)
class Column:
    """A ratio column of a scenario table, and the target that judges it, if any."""

    title: str
    numerator: str
    denominator: str
    target: Target | None = None
    judges: Callable[[Scenario], bool] = lambda _: True
    """Which scenarios' ratios the target judges (the others are shown for comparison)."""


Judged = dict[Target, dict[str, float | None]]
"""Per target, the ratio of each scenario (or measure) it judges, for its verdict line."""


def ratio_rows(
    run: Run,
    results: dict[str, dict[str, Any]],
    scenarios: list[Scenario],
    field: str,
    fmt: str,
    columns: list[Column],
    title: Callable[[Scenario], str] = lambda scenario: scenario.title,
    scale: float = 1.0,
) -> tuple[list[str], Judged]:
    """One row per scenario: each framework's figure (times ``scale``), then the ratio
    columns, marked where a target judges them; and those judged ratios."""
    rows = []
    judged: Judged = {}
    for scenario in scenarios:
        cells = [cell(results, f.key, scenario.name, field, fmt, scale) for f in run.frameworks]
        for column in columns:
            number = ratio(
                value(results, column.numerator, scenario.name, field),
                value(results, column.denominator, scenario.name, field),
            )
            target = column.target if column.judges(scenario) else None
            if target is not None:
                judged.setdefault(target, {})[scenario.name] = number
            cells.append(show_ratio(number, target))
        rows.append(f"| {title(scenario)} | " + " | ".join(cells) + " |")
    return rows, judged


def verdicts(judged: Judged) -> list[str]:
    return [target.verdict(ratios) for target, ratios in judged.items()]


REALISTIC_NOTE = (
    "Served by each app module's `realistic_app` (with a secret key, templates, a static "
    "folder and error handlers; Starlette: SessionMiddleware, Jinja2Templates, StaticFiles, "
    "exception handlers). n/a: not implemented by the hand-written ASGI app."
)


def realistic_table(
    run: Run,
    results: dict[str, dict[str, Any]],
    field: str,
    fmt: str,
    columns: list[Column],
    heading: str,
    targets_note: str,
) -> tuple[list[str], list[str]]:
    """The realistic scenarios' table, and its target lines."""
    scenarios = realistic(run)
    if not scenarios:
        return [], []
    rows, judged = ratio_rows(run, results, scenarios, field, fmt, columns)
    lines = [
        "",
        f"### {heading}",
        "",
        f"{REALISTIC_NOTE} {targets_note}",
        "",
        *header(run.frameworks, [column.title for column in columns]),
        *rows,
    ]
    return lines, verdicts(judged)


def inprocess_section(run: Run, results: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The per-request time tables and their target lines."""
    columns = [
        Column("Quart ÷ ours", "quart", "ours", INPROCESS_QUART),
        Column("ours ÷ Starlette", "ours", "starlette", INPROCESS_TIME),
    ]
    lines = [
        "## In-process (ASGI app called directly, no server)",
        "",
        "Per-request time in microseconds, best of the timed rounds; lower is better. "
        f"{run.inprocess_settings}",
        "",
        *header(run.frameworks, [column.title for column in columns]),
    ]
    loops = sorted({r["environment"]["loop"] for r in results.values() if "environment" in r})
    lines[2] += f" Event loop: {', '.join(loops) or 'unknown'}."
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes, frameworks in turn."
    lines[2] += f" {run.stamp()}"
    rows, judged = ratio_rows(run, results, micro(run), "best_us", "{:.1f}", columns)
    lines += rows
    targets = verdicts(judged)
    if not micro(run):  # only realistic scenarios were run: no micro table, no verdicts
        del lines[3:]
    table, realistic_targets = realistic_table(
        run,
        results,
        "best_us",
        "{:.1f}",
        [
            Column("Quart ÷ ours", "quart", "ours"),
            Column("ours ÷ Starlette", "ours", "starlette", REALISTIC_TIME),
        ],
        "Realistic scenarios, in-process",
        "Target: ours ÷ Starlette at most "
        f"{REALISTIC_VS_STARLETTE:.2f}x in each (✓/✗); Quart ÷ ours is for comparison.",
    )
    return lines + table, targets + realistic_targets


UVICORN_HEADING = "## Under uvicorn on loopback (httptools + uvloop, one worker; load from wrk)"
GRANIAN_HEADING = "## Under granian on loopback (ASGI interface, uvloop, one worker; load from wrk)"
NO_GRANIAN_TARGETS = " No targets are set for granian; the ratios are for comparison."
"""A sentence the harness's granian settings carried before granian had targets: the report
leaves it out, whether it comes from a run or from an earlier report (``rerender``)."""


def without_stale_notes(text: str) -> str:
    return text.replace(NO_GRANIAN_TARGETS, "")


def loadtest_section(
    run: Run, results: dict[str, dict[str, Any]], server: str = "uvicorn"
) -> tuple[list[str], list[str]]:
    """The requests-per-second tables and their target lines (the micro scenarios are judged
    under either server; the static files under uvicorn)."""
    under_uvicorn = server == "uvicorn"
    settings = run.loadtest_settings if under_uvicorn else run.granian_settings
    vs_starlette, vs_quart = (
        (UVICORN_STARLETTE, UVICORN_QUART) if under_uvicorn else (GRANIAN_STARLETTE, GRANIAN_QUART)
    )
    columns = [
        Column("ours ÷ Quart", "ours", "quart", vs_quart),
        Column("ours ÷ Starlette", "ours", "starlette", vs_starlette),
    ]
    lines = [
        UVICORN_HEADING if under_uvicorn else GRANIAN_HEADING,
        "",
        f"Requests per second; higher is better. {without_stale_notes(settings)}",
        "",
        *header(run.frameworks, [column.title for column in columns]),
    ]
    if run.repeat > 1:
        lines[2] += f" Best of {run.repeat} passes, frameworks in turn."
    lines[2] += f" {run.stamp()}"
    rows, judged = ratio_rows(run, results, micro(run), "rps", "{:,.0f}", columns)
    lines += rows
    targets = verdicts(judged)
    if not micro(run):  # only realistic scenarios were run: no micro table, no verdicts
        del lines[3:]
    if under_uvicorn:
        static = Column("ours ÷ Starlette", "ours", "starlette", STATIC_FILES, is_static)
        note = (
            f"Target: the static files at least {STATIC_VS_STARLETTE:g}x Starlette's requests/s "
            "(✓/✗); the other ratios are for comparison (the realistic scenarios' cost is "
            "judged in-process and in instructions)."
        )
    else:
        static = Column("ours ÷ Starlette", "ours", "starlette")
        note = "No realistic target under granian; the ratios are for comparison."
    table, realistic_targets = realistic_table(
        run,
        results,
        "rps",
        "{:,.0f}",
        [Column("ours ÷ Quart", "ours", "quart"), static],
        f"Realistic scenarios under {server}",
        note,
    )
    return lines + table, targets + realistic_targets


def comparison_row(
    run: Run,
    title: str,
    results: dict[str, dict[str, Any]],
    name: str,
    field: str,
    fmt: str,
    *,
    faster_is_lower: bool = False,
    target: Target | None = None,
) -> tuple[str, float | None, float | None]:
    """One row of a measure table: the cells, how many times ours is better than Quart and
    Starlette better than ours (above 1 is better), and those two ratios. ``target`` judges
    the second."""
    ours = value(results, "ours", name, field)
    quart = value(results, "quart", name, field)
    starlette = value(results, "starlette", name, field)
    if faster_is_lower:
        gain, behind = ratio(quart, ours), ratio(ours, starlette)
    else:
        gain, behind = ratio(ours, quart), ratio(starlette, ours)
    cells = [cell(results, f.key, name, field, fmt) for f in run.frameworks]
    line = (
        f"| {title} | " + " | ".join(cells)
        + f" | {show_ratio(gain)} | {show_ratio(behind, target)} |"
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


def sse_section(run: Run, events: int) -> tuple[list[str], list[str]]:
    """Events to one client: in-process time per event (judged), and events per second under
    uvicorn (for comparison)."""
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
    targets = []
    if run.sse_inprocess is not None:
        title = "in-process: µs per event"
        line, _, behind = comparison_row(
            run,
            title,
            per_event(run.sse_inprocess, events),
            "sse",
            "best_us",
            "{:.2f}",
            faster_is_lower=True,
            target=SSE_TIME,
        )
        lines.append(line)
        targets.append(SSE_TIME.verdict({title: behind}, "measure"))
    if run.sse is not None:
        line, _, _ = comparison_row(
            run, "uvicorn: events/s to one client", run.sse, "events_per_s", "value", "{:,.0f}"
        )
        lines.append(line)
    return lines, targets


INSTRUCTIONS_HEADING = "## Instructions per request (cachegrind)"


def instruction_title(scenario: Scenario) -> str:
    if scenario.kind == "sse":
        return "server-sent events, per event `GET /sse`"
    if scenario.kind == "websocket":
        return "websocket echo `/ws`, per round trip"
    return scenario.title


def instructions_section(
    run: Run, results: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Thousands of instructions per request, ours over Starlette (judged on the micro
    scenarios, and on the realistic ones with the event stream) and over Quart."""
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
    judged: Judged = {}
    groups = (
        (INSTRUCTIONS_MICRO, lambda s: s in SCENARIOS),
        (REALISTIC_INSTRUCTIONS, lambda s: s in REALISTIC or s.kind == "sse"),
        (None, lambda s: s.kind == "websocket"),
    )
    for target, belongs in groups:
        scenarios = [scenario for scenario in run.instruction_scenarios if belongs(scenario)]
        columns = [
            Column("ours ÷ Starlette", "ours", "starlette", target),
            Column("ours ÷ Quart", "ours", "quart"),
        ]
        rows, group_judged = ratio_rows(
            run, results, scenarios, "instructions", "{:,.1f}", columns, instruction_title, 1e-3
        )
        lines += rows
        judged.update(group_judged)
    return lines, verdicts(judged)


def websocket_section(run: Run) -> tuple[list[str], list[str]]:
    """One table for the websocket echo (in-process and under uvicorn) and its targets.

    The round-trip target compares round trips per second; in-process that is the inverse
    of the time per round trip, so the same ratio applies to both."""
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
    judged: Judged = {}

    def row(
        title: str, results: dict[str, dict[str, Any]], name: str, field: str, fmt: str,
        target: Target, *, faster_is_lower: bool = False,
    ) -> None:  # fmt: skip
        line, _, behind = comparison_row(
            run, title, results, name, field, fmt, faster_is_lower=faster_is_lower, target=target
        )
        lines.append(line)
        judged.setdefault(target, {})[title] = behind

    if run.websocket_inprocess is not None:
        row(
            "in-process: µs per round trip",
            run.websocket_inprocess,
            "websocket_echo",
            "best_us",
            "{:.1f}",
            WEBSOCKET_ROUND_TRIPS,
            faster_is_lower=True,
        )
    if run.websocket is not None:
        row(
            "uvicorn: round trips/s on 1 connection",
            run.websocket,
            "rt_1",
            "value",
            "{:,.0f}",
            WEBSOCKET_ROUND_TRIPS,
        )
        row(
            "uvicorn: round trips/s on 100 connections",
            run.websocket,
            "rt_100",
            "value",
            "{:,.0f}",
            WEBSOCKET_ROUND_TRIPS,
        )
        row(
            "uvicorn: KiB of memory per idle connection",
            run.websocket,
            "idle_kib",
            "value",
            "{:.1f}",
            WEBSOCKET_MEMORY,
            faster_is_lower=True,
        )
    return lines, [target.verdict(ratios, "measure") for target, ratios in judged.items()]


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

    def add(section: tuple[list[str], list[str]]) -> None:
        table, lines = section
        sections.append(table)
        targets.extend(lines)

    if run.inprocess is not None:
        add(inprocess_section(run, run.inprocess))
    if run.loadtest is not None:
        add(loadtest_section(run, run.loadtest))
    if run.granian is not None:
        add(loadtest_section(run, run.granian, "granian"))
    if run.sse_inprocess is not None or run.sse is not None:
        add(sse_section(run, SSE.events))
    if run.websocket_inprocess is not None or run.websocket is not None:
        add(websocket_section(run))
    if run.instructions is not None:
        add(instructions_section(run, run.instructions))
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
        intro += ["", "## Targets", "", *in_order(targets)]
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
    measured); failures are replaced by part, the machine is new. An old target line stays
    only while its target is still set and none of the parts that judge it was measured now
    (a measured part's section is replaced whole, so its verdicts are too)."""
    _, old_sections = sections_of(old)
    intro, new_sections = sections_of(new)
    merged = dict(old_sections)
    merged.update(new_sections)
    measured = {name for name, results in parts(run) if results is not None}
    new_targets = [line for line in new_sections.get("## Targets", []) if line]
    labels = {label_of(line) for line in new_targets}
    kept_targets = [
        line
        for line in old_sections.get("## Targets", [])
        if (target := TARGETS_BY_LABEL.get(label_of(line) or "")) is not None
        and target.label not in labels
        and not measured & set(target.parts)
    ]
    merged["## Targets"] = in_order(new_targets + kept_targets)
    if not merged["## Targets"]:
        del merged["## Targets"]
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
