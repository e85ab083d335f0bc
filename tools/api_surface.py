"""Write a JSON snapshot of the public module-level surface of the installed ``quart`` package.

The snapshot committed as ``tests/data/quart-0.22.0-surface.json`` is taken from the published
Quart 0.22.0, installed alone in a throwaway virtual environment (it has our import name)::

    python3 -m venv /tmp/qref && /tmp/qref/bin/pip install quart==0.22.0
    /tmp/qref/bin/python tools/api_surface.py > tests/data/quart-0.22.0-surface.json

``tests/test_api_surface.py`` imports this file by path and describes *our* package with the
same functions, so both sides are normalised alike; every difference must be listed in
``docs/differences.md`` (section "API surface").

What is recorded, per public module (``pkgutil.walk_packages`` over the package, skipping
modules whose last part starts with ``_``):

* the module's public names: its ``__all__`` if it has one, otherwise the top-level names its
  own source binds (``def``, ``class``, assignment, and the explicit re-export form
  ``from x import y as y``), never plain imports, names starting with ``_`` or names bound only
  under ``if TYPE_CHECKING``; plus the short list in :data:`EXTRA_NAMES` (names that
  extensions import although the rule above does not catch them);
* for each name its kind, for callables the signature (parameter name, kind and a stable
  rendering of the default; annotations are ignored), and for classes their public members,
  defined or inherited, with kind and signature.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import json
import pkgutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "quart"

#: Names recorded although the source rule does not catch them: private context variables and
#: names ``quart.typing`` imports from hypercorn, all of which extensions import from here.
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "quart.globals": ("_cv_app", "_cv_request", "_cv_websocket"),
    "quart.typing": (
        "ASGIReceiveCallable",
        "ASGISendCallable",
        "HTTPScope",
        "LifespanScope",
        "WebsocketScope",
    ),
}

#: Private members of classes that are part of how the class is used.
DUNDER_MEMBERS = frozenset(
    {"__init__", "__call__", "__aenter__", "__aexit__", "__aiter__", "__await__"}
)

#: Modules whose types mark typing constructs (aliases, unions, TypeVars), which are callable
#: objects at runtime but are values as far as the API is concerned.
_TYPING_MODULES = frozenset({"typing", "types", "typing_extensions", "collections.abc"})

_PROPERTY_TYPES: tuple[type, ...] = (property, functools.cached_property)
_BUILTIN_METHOD_TYPES: tuple[type, ...] = (
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.BuiltinFunctionType,
)


def public_modules(package: str = PACKAGE) -> list[str]:
    """Return the sorted names of the package and its public submodules."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return sorted(names)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _bound_names(statements: list[ast.stmt]) -> Iterator[str]:
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _target_names(target)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            if not isinstance(node, ast.AnnAssign) or node.value is not None:
                yield from _target_names(node.target)
        elif isinstance(node, ast.ImportFrom):
            # ``from x import y as y`` is the explicit re-export form (PEP 484).
            for alias in node.names:
                if alias.asname is not None and alias.asname == alias.name:
                    yield alias.name
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _bound_names(node.body)
            yield from _bound_names(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _bound_names(node.body)
            for handler in node.handlers:
                yield from _bound_names(handler.body)
            yield from _bound_names(node.orelse)
            yield from _bound_names(node.finalbody)
        elif isinstance(node, ast.With):
            yield from _bound_names(node.body)


def public_names(module: types.ModuleType) -> list[str]:
    """Return the sorted public names of a module, as described in the module docstring."""
    exported = getattr(module, "__all__", None)
    if exported is not None:
        names = set(exported)
    else:
        source = Path(inspect.getfile(module)).read_text(encoding="utf-8")
        names = {
            name
            for name in _bound_names(ast.parse(source).body)
            if not name.startswith("_") and hasattr(module, name)
        }
    names.update(EXTRA_NAMES.get(module.__name__, ()))
    return sorted(names)


def normalise_default(value: Any) -> str:
    """Render a parameter default as a string that is stable across runs and implementations.

    Literals and containers of them render as their repr; classes and functions by their
    qualified name (not their module, which may differ between implementations); enum
    members as ``Class.NAME``. Any other object whose repr shows an address, or whose type
    is a bare ``object`` or is named like a sentinel or "missing" marker, renders as
    ``<sentinel>``: a private "argument not given" marker, whatever its spelling.
    """
    if value is None or value is Ellipsis:
        return repr(value)
    if isinstance(value, bool | int | float | complex | str | bytes):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        inner = ", ".join(normalise_default(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(normalise_default(item) for item in value) + "]"
    if isinstance(value, frozenset | set):
        items = sorted(normalise_default(item) for item in value)
        return f"{type(value).__name__}({{{', '.join(items)}}})"
    if isinstance(value, dict):
        items = sorted(f"{normalise_default(k)}: {normalise_default(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if inspect.isclass(value):
        return f"<class {value.__qualname__}>"
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"<function {value.__qualname__}>"
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, functools.partial):
        return f"<partial of {normalise_default(value.func)}>"
    text = repr(value)
    marker = type(value) is object or any(
        word in type(value).__name__.lower() for word in ("sentinel", "missing")
    )
    if marker or "0x" in text:
        return "<sentinel>"  # a private "not given" marker, or a repr with an address
    return text


def signature(obj: Any) -> list[dict[str, str]] | None:
    """Describe a callable's parameters, or return None when it has no readable signature."""
    try:
        sig = inspect.signature(obj)
    except Exception:  # a builtin without one, or an object that fails when touched
        return None
    params: list[dict[str, str]] = []
    for param in sig.parameters.values():
        entry = {"name": param.name, "kind": param.kind.name}
        if param.default is not inspect.Parameter.empty:
            entry["default"] = normalise_default(param.default)
        params.append(entry)
    return params


def _call_style(func: Any) -> str:
    if inspect.iscoroutinefunction(func):
        return "coroutine "
    if inspect.isasyncgenfunction(func):
        return "async generator "
    return ""


def _is_typing_construct(obj: Any) -> bool:
    return type(obj).__module__ in _TYPING_MODULES and not inspect.isclass(obj)


def _is_proxy(obj: Any) -> bool:
    try:
        from werkzeug.local import LocalProxy
    except ImportError:  # pragma: no cover - werkzeug is a dependency of both sides
        return False
    return issubclass(type(obj), LocalProxy)


def object_kind(obj: Any) -> str:
    """Classify a module-level object."""
    if _is_proxy(obj):
        return "proxy"  # a context-local proxy: touching its attributes needs a context
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if inspect.iscoroutinefunction(obj):
        return "coroutine function"
    if inspect.isasyncgenfunction(obj):
        return "async generator function"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    if _is_typing_construct(obj):
        return "value"
    try:
        is_callable = callable(obj)
    except Exception:
        is_callable = False
    return "other callable" if is_callable else "value"


def member_names(cls: type) -> list[str]:
    """Return the sorted public member names of a class, inherited ones included."""
    return sorted(name for name in dir(cls) if not name.startswith("_") or name in DUNDER_MEMBERS)


def describe_member(cls: type, name: str) -> dict[str, Any]:
    """Describe one class member: its kind and, for callables, its signature."""
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, _PROPERTY_TYPES):
        return {"kind": "property"}
    if isinstance(raw, staticmethod):
        return {
            "kind": _call_style(raw.__func__) + "staticmethod",
            "signature": signature(raw.__func__),
        }
    if isinstance(raw, classmethod):
        return {
            "kind": _call_style(raw.__func__) + "classmethod",
            "signature": signature(raw.__func__),
        }
    if isinstance(raw, types.ClassMethodDescriptorType):
        return {"kind": "classmethod", "signature": signature(getattr(cls, name))}
    if inspect.isfunction(raw):
        return {"kind": _call_style(raw) + "method", "signature": signature(raw)}
    if isinstance(raw, _BUILTIN_METHOD_TYPES):
        return {"kind": "method", "signature": signature(raw)}
    if isinstance(raw, types.MemberDescriptorType):
        return {"kind": "attribute"}
    if not inspect.isclass(raw) and hasattr(type(raw), "__get__"):
        return {"kind": "property"}  # a custom descriptor (werkzeug's header properties ...)
    return {"kind": "attribute"}


def describe(obj: Any) -> dict[str, Any]:
    """Describe a module-level object: kind, signature for callables, members for classes."""
    kind = object_kind(obj)
    entry: dict[str, Any] = {"kind": kind}
    if kind in {"function", "coroutine function", "async generator function", "other callable"}:
        entry["signature"] = signature(obj)
    elif kind == "class":
        entry["members"] = {name: describe_member(obj, name) for name in member_names(obj)}
    if kind != "value" and kind != "proxy" and kind != "module":
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str):
            entry["defined_in"] = f"{module}.{qualname}"  # lets a re-export be told apart
    return entry


def describe_module(module_name: str) -> dict[str, Any]:
    """Describe every public name of one module."""
    module = importlib.import_module(module_name)
    return {name: describe(getattr(module, name)) for name in public_names(module)}


def snapshot(package: str = PACKAGE) -> dict[str, Any]:
    """Describe the whole public surface of the installed package."""
    from importlib.metadata import version

    return {
        "package": package,
        "version": version(package),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "modules": {name: describe_module(name) for name in public_modules(package)},
    }


def main() -> None:
    json.dump(snapshot(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
