"""Flask extensions on ``quart.flask_patch`` for one test at a time.

``import quart.flask_patch`` replaces ``flask`` in ``sys.modules`` for the whole process,
and a Flask extension binds the ``flask`` names it imports once, at import. So a test
imports the patch and then the extension (afresh, against the patched ``flask``), and
afterwards everything is put back exactly as it was: other tests use the real Flask.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import quart
from quart import Quart


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@contextmanager
def flask_extensions(*names: str) -> Iterator[list[ModuleType]]:
    """``import quart.flask_patch``, then each extension module of ``names``; undone on
    exit (the extensions' modules and every ``flask`` module go back to what they were)."""
    prefixes = ("flask", "quart.flask_patch", *names)
    saved = {name: module for name, module in sys.modules.items() if _under(name, prefixes)}
    had_attribute = "flask_patch" in vars(quart)
    read_body_first = vars(Quart)["_read_body_first"]
    for name in [name for name in sys.modules if _under(name, names)]:
        del sys.modules[name]  # imported before the patch: import it again on top of it
    try:
        importlib.import_module("quart.flask_patch")
        yield [importlib.import_module(name) for name in names]
    finally:
        for name in [name for name in sys.modules if _under(name, prefixes)]:
            del sys.modules[name]
        sys.modules.update(saved)
        Quart._read_body_first = read_body_first
        if not had_attribute and "flask_patch" in vars(quart):
            delattr(quart, "flask_patch")
