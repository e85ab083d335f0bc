"""Pin named dependencies to the lowest versions that ``pyproject.toml`` allows.

``make test-oldest`` runs the suite a second time on the oldest Werkzeug, Flask and Jinja2
we claim to support: our fast paths read some of their private attributes, so a lower bound
that is no longer true must fail a test rather than a user's deployment. The bounds are read
from the file each time, so the job follows it when a bound is raised.

Two modes::

    python3 tools/oldest_pins.py werkzeug flask jinja2 > constraints.txt
    python tools/oldest_pins.py --check werkzeug flask jinja2

The first prints pip constraints (``name==lower-bound``), one a line. The second, run by the
interpreter under test, prints the installed versions of the project's dependencies and exits
non-zero when a named one is not at its lower bound.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# "name[extra,...] specifier, specifier ; marker": only the name and specifiers matter here.
REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<specifiers>[^;]*)"
)
# The operators that give a lower bound: >=X, ~=X (at least X) and ==X (exactly X).
LOWER_BOUND = re.compile(r"^(?:>=|~=|==)\s*(?P<version>[0-9][^\s,]*)$")


def normalise(name: str) -> str:
    """The comparable form of a distribution name (PEP 503): case and separators ignored."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_dependencies(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """Map each normalised name in ``[project] dependencies`` to its specifier text."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    declared: dict[str, str] = {}
    for requirement in data["project"]["dependencies"]:
        match = REQUIREMENT.match(requirement)
        if match is None:
            raise SystemExit(f"{pyproject.name}: cannot read the requirement {requirement!r}")
        declared[normalise(match["name"])] = match["specifiers"].strip()
    return declared


def lower_bound(name: str, specifiers: str) -> str:
    """The version a ``>=``, ``~=`` or ``==`` specifier names; an error when there is none."""
    bounds = [
        match["version"]
        for part in specifiers.split(",")
        if (match := LOWER_BOUND.match(part.strip())) is not None
    ]
    if len(bounds) != 1:
        raise SystemExit(
            f"{PYPROJECT.name}: {name} needs exactly one lower bound (>=, ~= or ==) to pin, "
            f"it has {specifiers!r}"
        )
    return bounds[0]


def oldest_pins(names: list[str], declared: dict[str, str]) -> dict[str, str]:
    """The lowest allowed version of each named dependency, in the order given."""
    pins: dict[str, str] = {}
    for name in map(normalise, names):
        if name not in declared:
            raise SystemExit(f"{PYPROJECT.name}: {name} is not in [project] dependencies")
        pins[name] = lower_bound(name, declared[name])
    return pins


def check_installed(pins: dict[str, str], declared: dict[str, str]) -> int:
    """Print what this interpreter runs; 1 when a pinned package is not at its bound."""
    print(f"Python {sys.version.split()[0]}; dependencies as installed:")
    failures = 0
    for name in declared:
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        wanted = pins.get(name)
        note = ""
        if wanted is not None:
            note = "  (the lower bound)" if installed == wanted else f"  (WANTED {wanted})"
            failures += installed != wanted
        print(f"  {name:<14} {installed}{note}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="dependencies to pin to their lower bounds")
    parser.add_argument(
        "--check",
        action="store_true",
        help="print the installed versions and fail unless the named ones are at their bounds",
    )
    arguments = parser.parse_args(argv)
    declared = declared_dependencies()
    pins = oldest_pins(arguments.names, declared)
    if arguments.check:
        return check_installed(pins, declared)
    for name, version in pins.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
