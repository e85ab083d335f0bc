"""Run the extension matrix (tests/extensions) on the published Quart, for comparison.

``make extension-matrix`` (opt-in, not part of ``make test``) builds ``.venv-published-quart``
with Quart 0.22.0 from the package index and the same test requirements as ``make test``
(the ``test`` extra of pyproject.toml, every extension at the version pinned there), runs
``tests/extensions`` there without this project on the path, and prints one row per
module: what passed, failed, was skipped or xfailed, on the published Quart. The same run
on this project is ``make test``; docs/extensions.md puts the two side by side.

A test marked ``xfail(strict=True)`` for a bug of ours that the published Quart does not
have shows up there as a failure ("XPASS(strict)"): the report names such tests apart.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = "quart==0.22.0"
VENV = ROOT / ".venv-published-quart"
EXTENSION_TESTS = ROOT / "tests" / "extensions"


def test_requirements() -> list[str]:
    """The ``test`` extra of pyproject.toml: what ``make test`` installs besides us."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"]["test"])


def build(venv: Path) -> Path:
    """A virtual environment with the published Quart and the test requirements; pip is
    held to the published Quart by a constraint, so no extension's requirement replaces it."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write(PUBLISHED + "\n")
    try:
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, PUBLISHED, *test_requirements(), "-c", constraints.name], check=True)
    finally:
        os.unlink(constraints.name)
    return python


def run(python: Path, modules: list[str]) -> dict[str, Counter[str]]:
    """Run each test module under ``python``, in a pytest of its own (a module that cannot
    even be collected there, for a name the published Quart lacks, spoils no other); per
    module, how many tests had each outcome."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    results: dict[str, Counter[str]] = {}
    for module in modules:
        with tempfile.TemporaryDirectory() as directory:
            report = Path(directory) / "report.xml"
            command = [
                str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                f"--junitxml={report}", module,
            ]  # fmt: skip
            subprocess.run(command, cwd=ROOT, env=environment, check=False)
            found = outcomes(report)
        results[Path(module).stem] = sum(found.values(), Counter())
    return results


def outcomes(report: Path) -> dict[str, Counter[str]]:
    results: dict[str, Counter[str]] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        counts = results.setdefault(case.get("classname", ""), Counter())
        failure = case.find("failure")
        if failure is not None and "XPASS(strict)" in (failure.get("message") or ""):
            counts["xpassed (our bug, absent there)"] += 1
        elif case.find("error") is not None and not case.get("name"):
            counts["not collected"] += 1
        elif failure is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif (skipped := case.find("skipped")) is not None:
            kind = "xfailed" if (skipped.get("type") or "").endswith("xfail") else "skipped"
            counts[kind] += 1
        else:
            counts["passed"] += 1
    return results


def render(results: dict[str, Counter[str]]) -> str:
    lines = ["| module | on the published Quart 0.22.0 |", "| --- | --- |"]
    for module, counts in sorted(results.items()):
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        lines.append(f"| {module} | {summary} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules",
        nargs="*",
        default=sorted(str(path.relative_to(ROOT)) for path in EXTENSION_TESTS.glob("test_*.py")),
    )
    parser.add_argument("--venv", type=Path, default=VENV)
    args = parser.parse_args(argv)
    python = build(args.venv)
    print(render(run(python, args.modules)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
