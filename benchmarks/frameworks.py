"""The frameworks under comparison and which interpreter runs each.

This project and the published Quart share the import name ``quart``, so every framework runs
in its own subprocess, started with the interpreter of the virtual environment that holds it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PROJECT_PYTHON = Path(os.environ.get("PROJECT_PYTHON", ROOT / ".venv" / "bin" / "python"))
QUART_PYTHON = Path(os.environ.get("QUART_PYTHON", BENCH_DIR / ".venv-quart" / "bin" / "python"))


@dataclass(frozen=True)
class Framework:
    """One contender: its app module, the interpreter to run it, and what to put on sys.path."""

    key: str
    title: str
    module: str
    python: Path
    pythonpath: tuple[Path, ...] = ()
    distribution: str | None = None
    """Distribution whose version the report shows."""
    skips: frozenset[str] = frozenset()
    """Scenarios this contender does not implement (shown as "n/a"): a hand-written ASGI app
    has no session, template or multipart machinery to measure."""

    def app_ref(self, attribute: str = "app") -> str:
        """The ``module:attribute`` reference the servers and the in-process worker load."""
        return f"benchmarks.apps.{self.module}:{attribute}"

    def runs(self, scenario: str) -> bool:
        """Whether this contender implements the scenario."""
        return scenario not in self.skips

    def env(self) -> dict[str, str]:
        """Environment for this framework's subprocess.

        PYTHONPATH is replaced, never inherited: a stray ``src`` on it would make the published
        Quart's run import this project instead.
        """
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(str(path) for path in self.pythonpath)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def missing(self) -> str | None:
        """Why this framework cannot run here, or None when its interpreter is present."""
        if not self.python.exists():
            hint = "run benchmarks/setup.sh" if self.key == "quart" else "run `make install`"
            return f"interpreter {self.python} not found ({hint})"
        return None


FRAMEWORKS: tuple[Framework, ...] = (
    Framework(
        "raw",
        "raw ASGI",
        "raw_asgi",
        PROJECT_PYTHON,
        skips=frozenset({"session", "template", "multipart"}),
    ),
    # src/ goes first on the path, so "this project" is always the work tree being measured,
    # whether or not it is installed editable in the venv yet.
    Framework("ours", "this project", "quart_app", PROJECT_PYTHON, (ROOT / "src",), "quart"),
    Framework("starlette", "Starlette", "starlette_app", PROJECT_PYTHON, (), "starlette"),
    Framework("quart", "published Quart", "quart_app", QUART_PYTHON, (), "quart"),
)
FRAMEWORKS_BY_KEY: dict[str, Framework] = {framework.key: framework for framework in FRAMEWORKS}


def git_revision() -> str:
    """Short commit of the work tree being measured, with ``+dirty`` for uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


PROBE = """
import importlib.metadata, importlib.util, json, platform
versions = {}
for name in ("quart", "starlette", "uvicorn", "granian", "uvloop", "httptools", "werkzeug",
             "flask"):
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
spec = importlib.util.find_spec("quart")
print(json.dumps({"python": platform.python_version(), "versions": versions,
                  "quart_origin": spec.origin if spec else None}))
"""


def probe(framework: Framework) -> dict[str, Any]:
    """Interpreter and library versions as this framework's subprocesses will see them."""
    if framework.missing() is not None:
        return {}
    try:
        process = subprocess.run(
            [str(framework.python), "-c", PROBE],
            cwd=ROOT,
            env=framework.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    info: dict[str, Any] = json.loads(process.stdout)
    return info
