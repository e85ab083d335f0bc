"""Flask's synchronous API over ours: the request whose body reads without awaiting,
``flash``, ``copy_current_request_context``, and sync forms of the helpers that are
coroutines here (``render_template``, ``make_response``, ``send_file``...)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

from werkzeug.datastructures import CombinedMultiDict, FileStorage, MultiDict
from werkzeug.local import LocalProxy

from .. import globals as _globals
from ..concurrency import _cv_loop, finish_without_waiting, run_async, wait_for_coroutine
from ..globals import _no_req_msg
from ..helpers import _store_flash
from ..signals import message_flashed
from ..wrappers import Request
from ..wrappers.request import _NO_JSON

# Assigned, not imported: see the note in quart/globals.py.
_cv_request = _globals._cv_request

P = ParamSpec("P")
T = TypeVar("T")


def _now(coroutine: Coroutine[Any, Any, T], instead: str) -> T:
    """Finish work on the request's body from sync code. The framework read the body
    before the view (see ``Quart._read_body_first``), so on the event loop's thread
    this completes at once; in a worker thread it runs on the loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return wait_for_coroutine(coroutine, instead)
    return finish_without_waiting(coroutine, instead)


def _form(request: Request) -> MultiDict[str, str]:
    if request._form is None:
        _now(request._load_form_data(), "await request.form")
    assert request._form is not None
    return request._form


#: Each request's uploads as Flask code sees them, made on first use.
_flask_files: WeakKeyDictionary[Request, MultiDict[str, FileStorage]] = WeakKeyDictionary()


def _files(request: Request) -> MultiDict[str, FileStorage]:
    """The uploads as werkzeug's ``FileStorage`` objects, whose ``save()`` is sync as
    Flask code expects (ours is a coroutine); they share the streams of ours."""
    files = _flask_files.get(request)
    if files is None:
        if request._files is None:
            _now(request._load_form_data(), "await request.files")
        assert request._files is not None
        files = request.parameter_storage_class(
            (name, _sync_storage(storage)) for name, storage in request._files.items(multi=True)
        )
        _flask_files[request] = files
    return files


def _sync_storage(storage: FileStorage) -> FileStorage:
    return FileStorage(
        storage.stream,
        storage.filename,
        storage.name,
        storage.content_type,
        storage.content_length,
        storage.headers,
    )


def _values(request: Request) -> CombinedMultiDict[str, str]:
    sources: list[MultiDict[str, str]] = [request.args]
    if request.method != "GET":  # as Flask: a GET's body is not form data
        sources.append(_form(request))
    return CombinedMultiDict(sources)


def _body(request: Request) -> bytes:
    body = request._body
    if body is None:
        if not request._has_body():
            return b""  # not read ahead, and nothing to read
        body = request.body
    data = body._data
    if data is None:
        data = _now(body.read(), "await request.get_data()")
    return data


def _get_data(request: Request) -> Callable[..., bytes | str]:
    def get_data(
        cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """The body as bytes (text with ``as_text``); with ``parse_form_data`` a form
        is parsed first and the body then reads as empty, as in Flask."""
        if parse_form_data:
            _form(request)
        data = _body(request)
        return data.decode("utf-8", "replace") if as_text else data

    return get_data


def _get_json(request: Request) -> Callable[..., Any]:
    def get_json(force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body parsed as JSON, as Flask's ``get_json``: a body whose content type
        is not JSON is a 415 (None with ``silent``) unless ``force``; invalid JSON is a
        400 (None with ``silent``)."""
        if cache and request._json is not _NO_JSON:
            return request._json
        if not (force or request.is_json):
            return None if silent else request.on_json_loading_failed(None)
        return request._json_from(_body(request), silent, cache)

    return get_json


#: The request attributes that differ in Flask: they read the body without awaiting.
_READERS: dict[str, Callable[[Request], Any]] = {
    "form": _form,
    "files": _files,
    "values": _values,
    "data": lambda request: _get_data(request)(parse_form_data=True),
    "get_data": _get_data,
    "json": lambda request: _get_json(request)(),
    "get_json": _get_json,
    "stream": lambda request: io.BytesIO(_body(request)),
}


class FlaskRequest(LocalProxy):  # type: ignore[type-arg]
    """``flask.request``: the request being handled (the object ``quart.request``
    stands for), with Flask's synchronous body: ``form``, ``files``, ``values``,
    ``data``, ``json``, ``stream``, ``get_data()`` and ``get_json()`` give their values
    rather than coroutines, so Flask code and Quart code can share one app."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(_cv_request, "request", unbound_message=_no_req_msg)

    def __getattr__(self, name: str) -> Any:
        ctx = _cv_request.get(None)
        if ctx is None:
            raise RuntimeError(_no_req_msg)
        reader = _READERS.get(name)
        if reader is not None:
            return reader(ctx.request)
        return getattr(ctx.request, name)


request: Request = FlaskRequest()  # type: ignore[assignment]


def flash(message: str, category: str = "message") -> None:
    """Flask's ``flash``: remember a message for the next page, without awaiting."""
    app = _store_flash(message, category)
    if message_flashed.receivers:
        signal = message_flashed.send_async(app, message=message, category=category)
        _now(signal, "await quart.flash(...)")


def copy_current_request_context(func: Callable[P, Any]) -> Callable[P, Any]:
    """Flask's ``copy_current_request_context``: a sync function that runs ``func``
    with the current request's globals, from another thread or later (an async
    ``func`` is run on the event loop, see ``Quart.ensure_sync``)."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used while a request is handled,"
            " such as in a view function."
        )
    context = contextvars.copy_context()
    with contextlib.suppress(RuntimeError):  # in a worker thread the context has the loop
        context.run(_cv_loop.set, asyncio.get_running_loop())
    call = ctx.app.ensure_sync(func)

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        return context.copy().run(call, *args, **kwargs)

    return wrapper


def sync_form(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The sync form of one of our coroutine helpers, for Flask code in sync views
    (which run in worker threads): it runs on the event loop and is waited for."""
    return run_async(func)
