"""The benchmark report judges the project's targets, merges partial runs and re-renders.

Figures here are made up for the report code only; nothing is measured."""

from __future__ import annotations

import re
from typing import Any

import pytest
from benchmarks.frameworks import FRAMEWORKS_BY_KEY
from benchmarks.report import Run, render, sections_of, splice
from benchmarks.rerender import NotThisRun, rerender
from benchmarks.scenarios import SCENARIOS_BY_NAME
from benchmarks.targets import (
    GRANIAN_QUART,
    GRANIAN_STARLETTE,
    INPROCESS_QUART,
    INPROCESS_TIME,
    INSTRUCTIONS_MICRO,
    REALISTIC_INSTRUCTIONS,
    REALISTIC_TIME,
    WEBSOCKET_MEMORY,
)

Results = dict[str, dict[str, Any]]


def results(field: str, figures: dict[str, dict[str, float]]) -> Results:
    """``{framework: {scenario: figure}}`` as a part of a run stores it."""
    return {
        key: {"scenarios": {name: {"ok": True, field: number} for name, number in per.items()}}
        for key, per in figures.items()
    }


def make_run(scenarios: list[str], counted: tuple[str, ...] = (), **parts: Any) -> Run:
    keys = {key for part in parts.values() for key in part}
    return Run(
        scenarios=[SCENARIOS_BY_NAME[name] for name in scenarios],
        frameworks=[f for key, f in FRAMEWORKS_BY_KEY.items() if key in keys],
        inprocess=parts.pop("inprocess", None),
        loadtest=parts.pop("loadtest", None),
        probes={},
        revision="abc1234",
        inprocess_settings="In-process settings.",
        loadtest_settings="Load settings.",
        wrk=None,
        quick=False,
        instruction_scenarios=[SCENARIOS_BY_NAME[name] for name in counted],
        **parts,
    )


def targets_of(report: str) -> list[str]:
    return [line for line in sections_of(report)[1].get("## Targets", []) if line]


def row(report: str, title_start: str) -> str:
    return next(line for line in report.splitlines() if line.startswith(f"| {title_start}"))


def test_inprocess_marks_and_verdicts_follow_the_targets() -> None:
    inprocess = results(
        "best_us",
        {
            "ours": {"plaintext": 10.0, "json": 11.0},
            "starlette": {"plaintext": 10.0, "json": 10.0},
            "quart": {"plaintext": 60.0, "json": 50.0},
        },
    )
    report = render(make_run(["plaintext", "json"], inprocess=inprocess))
    assert row(report, "plaintext").endswith("| 6.000x ✓ | 1.000x ✓ |")
    assert row(report, "JSON").endswith("| 4.55x ✗ | 1.10x ✗ |")
    assert targets_of(report) == [
        f"- {INPROCESS_TIME.label}: **not met** (in: json)",
        f"- {INPROCESS_QUART.label}: **not met** (in: json)",
    ]


def test_a_missing_figure_leaves_the_target_not_evaluated() -> None:
    inprocess = results(
        "best_us", {"ours": {"plaintext": 5.0}, "starlette": {"plaintext": 10.0}, "quart": {}}
    )
    report = render(make_run(["plaintext"], inprocess=inprocess))
    assert f"- {INPROCESS_TIME.label}: **met** in every scenario" in targets_of(report)
    assert f"- {INPROCESS_QUART.label}: **not evaluated** (no result for: plaintext)" in (
        targets_of(report)
    )


def test_granian_is_judged_like_uvicorn() -> None:
    granian = results(
        "rps",
        {
            "ours": {"plaintext": 40_000.0},
            "starlette": {"plaintext": 39_000.0},
            "quart": {"plaintext": 12_000.0},
        },
    )
    report = render(make_run(["plaintext"], granian=granian))
    assert targets_of(report) == [
        f"- {GRANIAN_STARLETTE.label}: **met** in every scenario",
        f"- {GRANIAN_QUART.label}: **not met** (in: plaintext)",
    ]
    assert row(report, "plaintext").endswith("| 3.33x ✗ | 1.03x ✓ |")


def test_instruction_counts_are_judged_on_micro_and_realistic_scenarios_apart() -> None:
    instructions = results(
        "instructions",
        {
            "ours": {"plaintext": 90_000.0, "session": 400_000.0, "websocket_echo": 50_000.0},
            "starlette": {"plaintext": 1e5, "session": 350_000.0, "websocket_echo": 40_000.0},
        },
    )
    run = make_run([], ("plaintext", "session", "websocket_echo"), instructions=instructions)
    report = render(run)
    assert targets_of(report) == [
        f"- {INSTRUCTIONS_MICRO.label}: **met** in every scenario",
        f"- {REALISTIC_INSTRUCTIONS.label}: **not met** (in: session)",
    ]
    assert row(report, "plaintext").endswith("| 90.0 | 100.0 | 0.90x ✓ | n/a |")
    assert row(report, "websocket echo").endswith("| 1.25x | n/a |")  # shown, not judged


def test_a_ratio_that_rounds_to_its_threshold_shows_which_side_it_is() -> None:
    websocket = results("value", {"ours": {"idle_kib": 25.016}, "starlette": {"idle_kib": 24.904}})
    report = render(make_run([], websocket=websocket))
    assert row(report, "uvicorn: KiB").endswith("| 1.004x ✗ |")
    assert f"- {WEBSOCKET_MEMORY.label}: **not met**" in report


def test_a_partial_run_replaces_its_own_targets_and_keeps_the_others() -> None:
    full = make_run(
        ["plaintext", "session"],
        ("plaintext",),
        inprocess=results(
            "best_us",
            {"ours": {"plaintext": 20.0, "session": 5.0}, "starlette": {"plaintext": 10.0}},
        ),
        instructions=results(
            "instructions", {"ours": {"plaintext": 9.0}, "starlette": {"plaintext": 10.0}}
        ),
    )
    old = render(full).replace(
        "## Targets\n\n", "## Targets\n\n- in-process, within 1.5x of Starlette's: **met**\n"
    )
    partial = make_run(
        ["plaintext"],
        inprocess=results(
            "best_us", {"ours": {"plaintext": 5.0}, "starlette": {"plaintext": 10.0}}
        ),
    )
    partial.only = ["inprocess"]
    merged = splice(old, render(partial), partial)
    # The in-process verdicts are new; the instructions' one is kept (not measured now); the
    # realistic time's is gone with its table (its part was measured, without it), and so is
    # the line of a target no longer set.
    assert targets_of(merged) == [
        f"- {INPROCESS_TIME.label}: **met** in every scenario",
        f"- {INSTRUCTIONS_MICRO.label}: **met** in every scenario",
        f"- {INPROCESS_QUART.label}: **not evaluated** (no result for: plaintext)",
    ]
    assert f"- {REALISTIC_TIME.label}" in old
    assert REALISTIC_TIME.label not in merged
    assert "Realistic scenarios, in-process" not in merged


def without_note(report: str) -> str:
    """The report without the note a re-render adds to its intro."""
    return re.sub(r" Re-rendered [^\n]*", "", report)


def test_rerender_keeps_the_texts_and_checks_every_figure() -> None:
    stored = {
        "inprocess": results(
            "best_us",
            {"ours": {"plaintext": 10.0}, "starlette": {"plaintext": 9.0}, "quart": {}},
        ),
        "instructions": results(
            "instructions", {"ours": {"plaintext": 9e4}, "starlette": {"plaintext": 1e5}}
        ),
    }
    document = render(make_run(["plaintext"], ("plaintext",), **stored))
    again = rerender(document, stored)
    assert again.count(" Re-rendered ") == 1
    assert without_note(again) == document

    stale = document.replace("1.11x ✗", "1.11x ✓").replace(
        f"- {INPROCESS_TIME.label}: **not met** (in: plaintext)", "- an old target: **met**"
    )
    assert without_note(rerender(stale, stored)) == document
    assert rerender(again, stored).count(" Re-rendered ") == 1  # replaced, not added

    stored["inprocess"]["ours"]["scenarios"]["plaintext"]["best_us"] = 10.4
    with pytest.raises(NotThisRun, match=r"10\.0"):
        rerender(document, stored)
