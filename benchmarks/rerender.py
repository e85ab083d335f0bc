"""Render docs/benchmarks.md again from a run's stored raw results, without measuring.

``python -m benchmarks.rerender RESULTS.json [MORE.json ...]``, where each file is what
``python -m benchmarks --json`` saved. For when the report's code changes (the targets, the
marks, the verdicts) but the figures should not: the tables and the targets are rendered again
from the stored results. The results hold no settings, dates or machine, so each section keeps
its description (settings, when and at which commit it was measured) from the document, and
the machine section stays as it is. Every figure of every re-rendered table must equal the
document's, cell for cell: otherwise the results are not the run the document shows, and
nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.frameworks import FRAMEWORKS, ROOT
from benchmarks.report import Run, render, sections_of, splice, without_stale_notes
from benchmarks.scenarios import HTTP_SCENARIOS, SSE, WEBSOCKET_ECHO

Results = dict[str, dict[str, Any]]
STORED_PARTS = (
    *("inprocess", "loadtest", "granian", "sse_inprocess", "sse"),
    *("websocket_inprocess", "websocket", "instructions"),
)
"""The keys of a ``--json`` file: the ``Run`` attributes that hold results."""
RERENDERED = " Re-rendered "
RERENDERED_NOTE = (
    RERENDERED + "{when} from the runs' saved results (`python -m benchmarks.rerender`): each "
    "section's figures as measured, judged against the targets as set then."
)
"""Added to the intro's "Measured ..." paragraph (replacing an earlier one), so that a reader
knows the verdicts are newer than the measurements."""
MACHINE = "## Machine and versions"
NOT_TABLES = ("## Targets", "## Failures", MACHINE)


class NotThisRun(Exception):
    """The stored results do not hold the figures the document shows."""


def load(paths: list[Path]) -> dict[str, Results]:
    """The parts the files hold, each from exactly one file."""
    stored: dict[str, Results] = {}
    for path in paths:
        data = json.loads(path.read_text())
        for part in STORED_PARTS:
            if data.get(part) is None:
                continue
            if part in stored:
                raise NotThisRun(f"{part} is in more than one results file")
            stored[part] = data[part]
    if not stored:
        raise NotThisRun("the results files hold no results")
    return stored


def stored_run(stored: dict[str, Results]) -> Run:
    """A ``Run`` holding the stored results: frameworks and scenarios are the ones they hold;
    the texts a run describes itself with are left empty (the document's are kept)."""
    keys = {key for results in stored.values() for key in results}

    def names(*parts: str) -> set[str]:
        return {
            name
            for part in parts
            for result in stored.get(part, {}).values()
            for name in result.get("scenarios", {})
        }

    http = names("inprocess", "loadtest", "granian")
    counted = names("instructions")
    return Run(
        scenarios=[scenario for scenario in HTTP_SCENARIOS if scenario.name in http],
        frameworks=[framework for framework in FRAMEWORKS if framework.key in keys],
        inprocess=stored.get("inprocess"),
        loadtest=stored.get("loadtest"),
        probes={},
        revision="",
        inprocess_settings="",
        loadtest_settings="",
        wrk=None,
        quick=False,
        granian=stored.get("granian"),
        sse_inprocess=stored.get("sse_inprocess"),
        sse=stored.get("sse"),
        websocket_inprocess=stored.get("websocket_inprocess"),
        websocket=stored.get("websocket"),
        instructions=stored.get("instructions"),
        instruction_scenarios=[
            scenario
            for scenario in (*HTTP_SCENARIOS, SSE, WEBSOCKET_ECHO)
            if scenario.name in counted
        ],
    )


def figures(body: list[str], columns: int) -> list[list[str]]:
    """Each table row's first ``columns`` cells (the row's title and the frameworks' figures),
    in order; the ratio columns after them are what a re-render may change."""
    rows = []
    for line in body:
        if line.startswith("| "):
            cells = [text.strip() for text in line.strip().strip("|").split("|")]
            rows.append(cells[:columns])
    return rows


def check_figures(heading: str, old: list[str], new: list[str], columns: int) -> None:
    shown, given = figures(old, columns), figures(new, columns)
    for shown_row, given_row in zip(shown, given, strict=False):
        if shown_row != given_row:
            raise NotThisRun(f"{heading}: the document shows {shown_row}, the results {given_row}")
    if len(shown) != len(given):
        raise NotThisRun(
            f"{heading}: the document has {len(shown)} table rows, the results {len(given)}"
        )


def rerender(document: str, stored: dict[str, Results]) -> str:
    """``document`` with the sections of the stored parts rendered again from ``stored``."""
    run = stored_run(stored)
    intro, old_sections = sections_of(document)
    _, new_sections = sections_of(render(run))
    new_sections[MACHINE] = old_sections.get(MACHINE, [])
    for heading, body in new_sections.items():
        if heading in NOT_TABLES:
            continue
        old = old_sections.get(heading)
        if old is None or len(old) < 2 or old[0] or body[0]:
            raise NotThisRun(f"the document has no section {heading!r} to keep the text of")
        body[1] = without_stale_notes(old[1])
        check_figures(heading, old, body, 1 + len(run.frameworks))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = [
        line.split(RERENDERED)[0] + RERENDERED_NOTE.format(when=when)
        if line.startswith("Measured ")
        else line
        for line in intro
    ]
    text = "\n".join([*intro, *(line for h, body in new_sections.items() for line in (h, *body))])
    return splice(document, text, run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rerender", description=__doc__)
    parser.add_argument("results", nargs="+", type=Path, help="files saved by --json")
    default = ROOT / "docs" / "benchmarks.md"
    parser.add_argument("--output", type=Path, default=default, help="default: %(default)s")
    parser.add_argument("--no-write", action="store_true", help="print the report only")
    args = parser.parse_args(argv)
    try:
        report = rerender(args.output.read_text(), load(args.results))
    except NotThisRun as exc:
        sys.exit(f"not re-rendered: {exc}")
    if args.no_write:
        print(report, end="")
    else:
        args.output.write_text(report)
        print(f"re-rendered {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
