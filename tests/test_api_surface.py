"""Hold our module-level surface to the committed snapshot of the published Quart 0.22.0.

The snapshot (``tests/data/quart-0.22.0-surface.json``) is written by ``tools/api_surface.py``
run in a virtual environment holding the published Quart; here the same code describes our
installed package and every difference gets a stable key (``quart.typing.HTTPScope``,
``quart.wrappers.request.Body.__init__``). A difference must be listed, with its reason, in
the "API surface" table of ``docs/differences.md``; a listed key that no longer differs fails
too, so the table stays true. ``python tests/test_api_surface.py`` prints every difference.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_PATH = ROOT / "tests" / "data" / "quart-0.22.0-surface.json"
DIFFERENCES_PATH = ROOT / "docs" / "differences.md"
SECTION = "## API surface"


def _load_tool() -> ModuleType:
    path = ROOT / "tools" / "api_surface.py"
    spec = importlib.util.spec_from_file_location("_quart_api_surface", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
SNAPSHOT: dict[str, Any] = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
MODULES: dict[str, dict[str, Any]] = SNAPSHOT["modules"]


def render_signature(params: list[dict[str, str]] | None) -> str:
    """Render a recorded signature as Python-like text: ``(self, data, *, timeout=None)``."""
    if params is None:
        return "(<unreadable>)"
    parts: list[str] = []
    star_done = False
    positional_only = False
    for param in params:
        kind = param["kind"]
        if kind == "POSITIONAL_ONLY":
            positional_only = True
        elif positional_only:
            parts.append("/")
            positional_only = False
        if kind == "KEYWORD_ONLY" and not star_done:
            parts.append("*")
            star_done = True
        prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(kind, "")
        if kind == "VAR_POSITIONAL":
            star_done = True
        text = prefix + param["name"]
        if "default" in param:
            text += "=" + param["default"]
        parts.append(text)
    if positional_only:
        parts.append("/")
    return "(" + ", ".join(parts) + ")"


def _compare_callable(
    key: str, expected: dict[str, Any], actual: dict[str, Any], diffs: dict[str, str]
) -> None:
    if expected["kind"] != actual["kind"]:
        diffs[key] = f"kind: ours is {actual['kind']}, Quart's is {expected['kind']}"
        return
    wanted = expected.get("signature")
    got = actual.get("signature")
    if wanted is not None and wanted != got:
        diffs[key] = (
            f"signature: ours is {render_signature(got)}, Quart's is {render_signature(wanted)}"
        )


def _compare(key: str, expected: dict[str, Any], obj: Any, diffs: dict[str, str]) -> None:
    actual = tool.describe(obj)
    _compare_callable(key, expected, actual, diffs)
    if key in diffs or expected["kind"] != "class":
        return
    for member, wanted in expected["members"].items():
        got = actual["members"].get(member)
        if got is None:
            diffs[f"{key}.{member}"] = f"missing ({wanted['kind']})"
        else:
            _compare_callable(f"{key}.{member}", wanted, got, diffs)


def _ours(key: str) -> Any:
    """Return our object at a snapshot key (``module.name``), or None when there is none."""
    module_name, _, name = key.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


def _is_our_reexport(key: str, expected: dict[str, Any], obj: Any) -> bool:
    """Tell whether a re-export (``quart.Quart``) is checked at its home (``quart.app.Quart``).

    Quart's object is defined under another snapshot key, and ours is the very object found
    at that key: its differences are reported there, once.
    """
    home = expected.get("defined_in")
    if home is None or home == key:
        return False
    module_name, _, name = home.rpartition(".")
    if name not in MODULES.get(module_name, {}):
        return False
    return _ours(home) is obj


def module_differences(module_name: str) -> dict[str, str]:
    """Return every difference of one module from the snapshot, by key."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return {module_name: f"module missing ({exc})"}
    diffs: dict[str, str] = {}
    for name, expected in MODULES[module_name].items():
        key = f"{module_name}.{name}"
        if not hasattr(module, name):
            diffs[key] = f"missing ({expected['kind']})"
            continue
        obj = getattr(module, name)
        if not _is_our_reexport(key, expected, obj):  # else checked at its home, once
            _compare(key, expected, obj, diffs)
    return diffs


def all_differences() -> dict[str, str]:
    diffs: dict[str, str] = {}
    for module_name in MODULES:
        diffs.update(module_differences(module_name))
    return dict(sorted(diffs.items()))


def documented_keys(text: str | None = None) -> list[str]:
    """Return the keys listed in the API-surface table of docs/differences.md, in order."""
    if text is None:
        text = DIFFERENCES_PATH.read_text(encoding="utf-8")
    keys: list[str] = []
    in_section = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_section = line.strip() == SECTION
            continue
        if in_section and line.startswith("|"):
            first = line.strip().strip("|").split("|")[0]
            match = re.fullmatch(r"\s*`([^`]+)`\s*", first)
            if match:
                keys.append(match.group(1))
    return keys


def owner_module(key: str) -> str | None:
    """Return the snapshot module a difference key belongs to (the longest matching prefix)."""
    owners = [name for name in MODULES if key == name or key.startswith(name + ".")]
    return max(owners, key=len) if owners else None


def _report(unexpected: dict[str, str], stale: list[str]) -> str:
    lines: list[str] = []
    if unexpected:
        lines.append(
            f"{len(unexpected)} difference(s) from Quart 0.22 not listed in "
            f"docs/differences.md ({SECTION[3:]}): make the name match, or list the key "
            "with the reason:"
        )
        lines.extend(f"  {key}: {detail}" for key, detail in unexpected.items())
    if stale:
        lines.append(
            f"{len(stale)} key(s) listed in docs/differences.md that no longer differ: "
            "remove the row(s):"
        )
        lines.extend(f"  {key}" for key in stale)
    return "\n".join(lines)


# quart.templating.Environment inherits overlay() from Jinja2, whose enable_async default
# became a sentinel in Jinja2 3.1.5 (the snapshot's); older Jinja2 renders it as False.
_INHERITED_FROM_NEWER_LIBRARIES = {
    "quart.templating": pytest.mark.skipif(
        Version(importlib.metadata.version("jinja2")) < Version("3.1.5"),
        reason="Jinja2 < 3.1.5: Environment.overlay(enable_async=False), not a sentinel",
    ),
}


@pytest.mark.parametrize(
    "module_name",
    [
        pytest.param(name, marks=_INHERITED_FROM_NEWER_LIBRARIES.get(name, ()))
        for name in sorted(MODULES)
    ],
)
def test_module_surface_matches_quart(module_name: str) -> None:
    diffs = module_differences(module_name)
    listed = {key for key in documented_keys() if owner_module(key) == module_name}
    unexpected = {key: detail for key, detail in sorted(diffs.items()) if key not in listed}
    stale = sorted(listed - diffs.keys())
    if unexpected or stale:
        pytest.fail(_report(unexpected, stale), pytrace=False)


def test_documented_keys_are_known_and_unique() -> None:
    keys = documented_keys()
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    orphans = [key for key in keys if owner_module(key) is None]
    assert not duplicates, f"keys listed twice in docs/differences.md: {duplicates}"
    assert not orphans, f"keys in docs/differences.md that name no Quart module: {orphans}"


def test_keys_are_unambiguous() -> None:
    # A module's own key must never also be the key of a name in its parent module.
    name_keys = {f"{module}.{name}" for module, names in MODULES.items() for name in names}
    assert not name_keys & set(MODULES)


def test_snapshot_is_of_quart_0_22() -> None:
    assert SNAPSHOT["package"] == "quart"
    assert SNAPSHOT["version"] == "0.22.0"
    # A sample that the rules in tools/api_surface.py must have caught.
    assert MODULES["quart.globals"]["_cv_request"]["kind"] == "value"
    assert MODULES["quart"]["Quart"]["kind"] == "class"
    assert MODULES["quart.json.provider"]["DefaultJSONProvider"]["kind"] == "class"
    assert MODULES["quart"]["request"]["kind"] == "proxy"
    assert "TYPE_CHECKING" not in MODULES["quart.typing"]


def test_source_rule_keeps_definitions_and_reexports_only() -> None:
    import ast

    source = (
        "from typing import TYPE_CHECKING\n"
        "import os\n"
        "from a import b\n"
        "from a import c as c\n"
        "from a import d as e\n"
        "if TYPE_CHECKING:\n"
        "    from x import Hidden as Hidden\n"
        "    Alias = int\n"
        "else:\n"
        "    Shown = int\n"
        "try:\n"
        "    X, (Y, *Z) = 1, (2, 3)\n"
        "except ImportError:\n"
        "    W = 0\n"
        "def f(): ...\n"
        "async def g(): ...\n"
        "class K: ...\n"
        "n: int\n"
        "m: int = 1\n"
    )
    names = set(tool._bound_names(ast.parse(source).body))
    assert names == {"c", "Shown", "X", "Y", "Z", "W", "f", "g", "K", "m"}


def test_defaults_are_rendered_without_addresses() -> None:
    import enum
    import functools

    class Colour(enum.Enum):
        RED = 1

    def helper() -> None: ...

    class _Missing:
        def __repr__(self) -> str:
            return "no value"

    class Opaque:
        pass

    assert tool.normalise_default(object()) == "<sentinel>"
    assert tool.normalise_default(_Missing()) == "<sentinel>"
    assert tool.normalise_default(Opaque()) == "<sentinel>"
    assert tool.normalise_default(...) == "Ellipsis"
    assert tool.normalise_default(Colour.RED) == "Colour.RED"
    assert tool.normalise_default(helper).startswith("<function ")
    assert "0x" not in tool.normalise_default(helper)
    assert tool.normalise_default(functools.partial(helper)).startswith("<partial of <function ")
    assert tool.normalise_default((1,)) == "(1,)"
    assert tool.normalise_default({"b": 1, "a": (None, b"x")}) == "{'a': (None, b'x'), 'b': 1}"
    assert tool.normalise_default(frozenset({"b", "a"})) == "frozenset({'a', 'b'})"


def test_member_kinds() -> None:
    import functools

    class Example:
        attribute = 1

        def __init__(self, a: int, /, b: int = 2, *args: int, c: int, **kw: int) -> None: ...

        async def fetch(self) -> None: ...

        @classmethod
        def build(cls) -> None: ...

        @staticmethod
        def helper(x: int = 3) -> None: ...

        @property
        def prop(self) -> int:
            return 1

        @functools.cached_property
        def cached(self) -> int:
            return 1

        def _private(self) -> None: ...

    assert tool.member_names(Example)[0] == "__init__"
    assert "_private" not in tool.member_names(Example)
    members = tool.describe(Example)["members"]
    assert members["fetch"]["kind"] == "coroutine method"
    assert members["build"]["kind"] == "classmethod"
    assert members["helper"] == {
        "kind": "staticmethod",
        "signature": [{"name": "x", "kind": "POSITIONAL_OR_KEYWORD", "default": "3"}],
    }
    assert members["prop"] == {"kind": "property"}
    assert members["cached"] == {"kind": "property"}
    assert members["attribute"] == {"kind": "attribute"}
    assert render_signature(members["__init__"]["signature"]) == "(self, a, /, b=2, *args, c, **kw)"


def source_file(key: str) -> str:
    """Return the source file of ours that a difference key points at."""
    module = owner_module(key) or key
    path = "src/" + module.replace(".", "/")
    return path + "/__init__.py" if (ROOT / path).is_dir() else path + ".py"


def main() -> None:
    """Print every difference, one a line, and whether docs/differences.md lists it."""
    listed = set(documented_keys()) if DIFFERENCES_PATH.exists() else set()
    diffs = all_differences()
    for key, detail in diffs.items():
        mark = "listed" if key in listed else "NEW"
        print(f"[{mark}] {key} ({source_file(key)}): {detail}")
    for key in sorted(listed - diffs.keys()):
        print(f"[STALE] {key}: listed in docs/differences.md but no longer differs")


if __name__ == "__main__":
    main()
