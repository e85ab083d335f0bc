"""Flask extensions on this framework: ``import quart.flask_patch`` first, then import
the extension.

Importing this package makes ``import flask`` (and the ``flask.*`` modules extensions
import) give this framework's objects, for the rest of the process: ``flask.Flask`` is
``quart.Quart``, ``flask.Blueprint``, ``flask.current_app``, ``flask.g`` and
``flask.session`` are ours. Where Flask's API is synchronous and ours is not, the
``flask`` names keep Flask's form:

- ``flask.request`` is the request being handled, whose body reads without awaiting
  (``request.form``, ``request.get_json()``...): every request's body is read (a form
  parsed) before its hooks and view run, within the body limits and timeout;
  ``quart.request`` stays async, so both kinds of code share one app;
- ``flask.flash`` and ``flask.copy_current_request_context`` are sync;
- ``flask.render_template``, ``flask.make_response``, ``flask.send_file`` and the other
  helpers that are coroutines here are sync wrappers for sync views (which run in
  worker threads): they run the coroutine on the event loop and wait. From async code,
  await the ``quart`` function instead (the wrapper says so with a RuntimeError);
- ``app.ensure_sync`` turns an async view into a sync callable, as Flask's does;
- ``flask.testing.FlaskClient`` is our test client, with a sync ``session_transaction``.

The real ``flask`` package stays underneath: ``flask.sansio`` (on which this framework is
built) and modules that are not replaced keep resolving to Flask's own.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import flask as _real_flask
import flask.helpers as _real_helpers
import flask.typing as _real_typing

import quart

from .. import (
    app,
    blueprints,
    cli,
    config,
    ctx,
    helpers,
    sessions,
    signals,
    templating,
    testing,
    views,
    wrappers,
)
from .. import globals as quart_globals
from .. import json as quart_json
from .. import logging as quart_logging
from .. import typing as quart_typing
from ..app import Quart
from ..json import provider, tag
from ._sync import copy_current_request_context, flash, request, sync_form
from ._testing import FlaskClient


def _module(name: str, *sources: ModuleType, **names: Any) -> ModuleType:
    """A module ``flask.<name>`` holding the names of ``sources`` (the later winning),
    then ``names``. Each ``Quart...`` name also goes by Flask's ``Flask...`` name
    (``Flask``, ``FlaskGroup``...). Modules the sources import are left out."""
    module = ModuleType(name, sources[-1].__doc__)
    namespace: dict[str, Any] = {}
    for source in sources:
        for key, value in vars(source).items():
            if key.startswith("__") or isinstance(value, ModuleType):
                continue
            namespace[key] = value
            if key.startswith("Quart"):
                namespace["Flask" + key.removeprefix("Quart")] = value
    namespace.update(names)
    vars(module).update(namespace)
    return module


# Sync forms of the helpers that are coroutines here.
_sync_helpers: dict[str, Any] = {
    name: sync_form(getattr(helpers, name))
    for name in ("make_response", "send_file", "send_from_directory", "get_template_attribute")
}
_sync_helpers.update(flash=flash)
_sync_templating: dict[str, Any] = {
    name: sync_form(getattr(templating, name))
    for name in (
        "render_template",
        "render_template_string",
        "stream_template",
        "stream_template_string",
    )
}

_json_provider = _module("flask.json.provider", provider)
_json_tag = _module("flask.json.tag", tag)
_modules: dict[str, ModuleType] = {
    "flask.app": _module("flask.app", app),
    "flask.blueprints": _module("flask.blueprints", blueprints),
    "flask.cli": _module("flask.cli", cli),
    "flask.config": _module("flask.config", config),
    "flask.ctx": _module(
        "flask.ctx",
        ctx,
        _AppCtxGlobals=Quart.app_ctx_globals_class,
        copy_current_request_context=copy_current_request_context,
    ),
    "flask.globals": _module("flask.globals", quart_globals, request=request),
    "flask.helpers": _module(
        "flask.helpers",
        helpers,
        get_root_path=_real_helpers.get_root_path,
        **_sync_helpers,
    ),
    "flask.json": _module("flask.json", quart_json, provider=_json_provider, tag=_json_tag),
    "flask.json.provider": _json_provider,
    "flask.json.tag": _json_tag,
    "flask.logging": _module("flask.logging", quart_logging),
    "flask.sessions": _module("flask.sessions", sessions),
    "flask.signals": _module("flask.signals", signals),
    "flask.templating": _module("flask.templating", templating, **_sync_templating),
    "flask.testing": _module("flask.testing", testing, FlaskClient=FlaskClient),
    "flask.typing": _module("flask.typing", _real_typing, quart_typing),
    "flask.views": _module("flask.views", views),
    "flask.wrappers": _module("flask.wrappers", wrappers),
}

_flask = _module(
    "flask",
    quart,
    json=_modules["flask.json"],
    request=request,
    copy_current_request_context=copy_current_request_context,
    **_sync_helpers,
    **_sync_templating,
)
# Still a package over Flask's own files, so that ``flask.sansio`` and any module not
# replaced above (``flask.debughelpers``) import as Flask's, against the modules above.
_flask.__path__ = list(_real_flask.__path__)
_flask.sansio = sys.modules["flask.sansio"]  # type: ignore[attr-defined]
for _name, _replacement in _modules.items():
    if _name.count(".") == 1:
        setattr(_flask, _name.removeprefix("flask."), _replacement)

sys.modules.update(_modules)
sys.modules["flask"] = _flask
Quart._read_body_first = True
