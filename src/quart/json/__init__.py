"""JSON helpers that use the current app's provider when there is one."""

from __future__ import annotations

import json as _json
from typing import IO, TYPE_CHECKING, Any

from .. import globals as _globals
from ..globals import _no_app_msg, current_app
from .provider import DefaultJSONProvider

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app

_default = DefaultJSONProvider.default

if TYPE_CHECKING:
    from ..wrappers import Response

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]


def dumps(object_: Any, **kwargs: Any) -> str:
    """Serialise ``object_`` with ``current_app.json``, or Python's json with Flask's
    defaults."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(object_, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(object_, **kwargs)


def dump(object_: Any, fp: IO[str], **kwargs: Any) -> None:
    """Serialise ``object_`` into the text file ``fp``."""
    if current_app:
        current_app.json.dump(object_, fp, **kwargs)
    else:
        kwargs.setdefault("default", _default)
        _json.dump(object_, fp, **kwargs)


def loads(object_: str | bytes, **kwargs: Any) -> Any:
    """Parse the JSON text ``object_`` with ``current_app.json`` when there is an app."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.loads(object_, **kwargs)
    return _json.loads(object_, **kwargs)


def load(fp: IO[Any], **kwargs: Any) -> Any:
    """Parse JSON from a file."""
    if current_app:
        return current_app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: Any, **kwargs: Any) -> Response:
    """A JSON response of the arguments: one value, several (a list) or keywords (a dict)."""
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app.json.response(*args, **kwargs)  # type: ignore[return-value]
