"""Every method call on a context variable compiles as a method call.

Python 3.11 compiles ``name.method()`` as an attribute read and a call, not as a method
call, when ``name`` was bound by an import (it takes the name for a module): for a
``ContextVar``, that makes a bound-method object on every ``.get()``. The request path
gets and sets several per request, so our modules bind the context variables by
assignment (see ``quart.globals``); this holds every module, and every code object in
it, to that.
"""

from __future__ import annotations

import dis
import importlib
import itertools
import json
import pkgutil
import subprocess
import sys
import types
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import quart


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _calls_through_attribute_reads(module: types.ModuleType) -> list[str]:
    """The ``name.method(...)`` calls in ``module``'s source compiled as an attribute read
    of a global that holds a context variable."""
    assert module.__file__ is not None
    with open(module.__file__, encoding="utf-8") as source:
        code = compile(source.read(), module.__file__, "exec")
    found = []
    for each in _code_objects(code):
        for load, attribute in itertools.pairwise(dis.get_instructions(each)):
            if (
                load.opname == "LOAD_GLOBAL"
                and load.argrepr.startswith("NULL + ")
                and attribute.opname == "LOAD_ATTR"
                and isinstance(getattr(module, load.argval, None), ContextVar)
            ):
                where = f"{module.__name__}:{load.positions.lineno if load.positions else '?'}"
                found.append(f"{where} {load.argval}.{attribute.argval}")
    return found


def _modules() -> Iterator[types.ModuleType]:
    yield quart
    for info in pkgutil.walk_packages(quart.__path__, "quart."):
        if info.name == "quart.__main__":
            continue  # running it is the CLI
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue


def scan() -> dict[str, list[str]]:
    """Import every module of the package: the modules, and the calls found. Importing
    ``quart.flask_patch`` patches the process, so the test runs this in a child."""
    modules = list(_modules())
    return {
        "modules": [module.__name__ for module in modules],
        "calls": [call for module in modules for call in _calls_through_attribute_reads(module)],
    }


def test_no_context_variable_is_called_through_an_imported_name() -> None:
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import test_context_variable_calls as check\n"
        "print(json.dumps(check.scan()))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(child.stdout)
    assert {"quart.ctx", "quart.app", "quart.asgi_http", "quart.flask_patch._sync"} <= set(
        found["modules"]
    )
    assert found["calls"] == []


def test_the_check_finds_a_call_through_an_imported_name(tmp_path: Path) -> None:
    """The check above can fail: a module that imports a context variable and calls a
    method on it is reported; one that assigns it is not."""
    imported = tmp_path / "imported.py"
    imported.write_text(
        "from quart.globals import _cv_app\n\ndef current():\n    return _cv_app.get(None)\n"
    )
    assigned = tmp_path / "assigned.py"
    assigned.write_text(
        "from quart import globals\n_cv_app = globals._cv_app\n\n"
        "def current():\n    return _cv_app.get(None)\n"
    )
    found = {}
    for path in (imported, assigned):
        module = types.ModuleType(path.stem)
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        assert module.current() is None  # the same behaviour either way
        found[path.stem] = _calls_through_attribute_reads(module)
    assert found == {"imported": ["imported:4 _cv_app.get"], "assigned": []}
