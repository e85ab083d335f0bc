"""Helpers used in views: abort, redirect, url_for, make_response, flash, files..."""

from __future__ import annotations

import inspect
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
)
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache, wraps
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar, overload

from flask.helpers import get_root_path as get_root_path  # Quart's module has it
from flask.sansio.scaffold import find_package as _find_package
from werkzeug.exceptions import NotFound, default_exceptions
from werkzeug.exceptions import abort as werkzeug_abort
from werkzeug.security import safe_join

from . import globals as _globals
from .concurrency import run_sync_iterable
from .file_responses import DEFAULT_MIMETYPE as DEFAULT_MIMETYPE  # Quart's module has it
from .file_responses import file_response
from .globals import current_app, current_connection_context, request_ctx
from .signals import message_flashed
from .utils import file_path_to_path

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response as SansIOResponse

    from .app import Quart
    from .typing import FilePath
    from .wrappers import Response

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket

P = ParamSpec("P")
T = TypeVar("T")

#: Quart keeps this name of Flask's past; a property (compute on each access) is what
#: it is there too.
locked_cached_property = property

__all__ = [
    "abort",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_template_attribute",
    "make_push_promise",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]


def get_debug_flag() -> bool:
    """Whether ``QUART_DEBUG`` asks for debug mode."""
    value = os.environ.get("QUART_DEBUG", "")
    return bool(value) and value.lower() not in {"0", "false", "no"}


def find_package(name: str) -> tuple[Path | None, Path]:
    """The prefix a package is installed under (None if it is not installed, but found
    on ``sys.path`` or in the working folder) and the folder it is imported from."""
    prefix, package_path = _find_package(name)
    return (None if prefix is None else Path(prefix)), Path(package_path)


def get_load_dotenv(default: bool = True) -> bool:
    """Whether ``quart`` commands should load ``.env`` files (``QUART_SKIP_DOTENV``)."""
    value = os.environ.get("QUART_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in {"0", "false", "no"}


def abort(code: int | SansIOResponse, *args: Any, **kwargs: Any) -> NoReturn:
    """Stop handling the request with an HTTP error (``abort(404)``) or a response."""
    if current_app:
        current_app.aborter(code, *args, **kwargs)
    werkzeug_abort(code, *args, **kwargs)


#: The HTTP error class of each status code (``abort.mapping[404].description``), as
#: werkzeug's ``abort`` has it.
abort.mapping = default_exceptions  # type: ignore[attr-defined]


def redirect(location: str, code: int = 302) -> Response:
    """A redirect response to ``location`` (302 unless ``code`` says otherwise)."""
    if current_app:
        return current_app.redirect(location, code=code)
    from .wrappers import Response

    response = Response("", code)
    response.headers["Location"] = location
    return response


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _external: bool | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    **values: Any,
) -> str:
    """The URL of an endpoint: ``url_for("user", id=3)``, ``url_for(".index")`` within a
    blueprint; ``_external`` for a full URL (the default outside a request)."""
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _external=_external,
        _method=_method,
        _scheme=_scheme,
        **values,
    )


async def make_response(*args: Any) -> Response:
    """A response from the arguments a view could return: ``await make_response(body,
    status, headers)``; with no arguments, an empty response."""
    if not args:
        return current_app.response_class()
    if len(args) == 1:
        args = args[0]
    return await current_app.make_response(args)


async def make_push_promise(path: str) -> None:
    """Ask the server to push ``path`` to the client (HTTP/2 servers that support it)."""
    await request_ctx.request.send_push_promise(path)


@overload
def stream_with_context(
    func: Iterable[Any] | AsyncIterable[Any],
) -> AsyncGenerator[Any, None]: ...


@overload
def stream_with_context(
    func: Callable[P, Any],
) -> Callable[P, AsyncGenerator[Any, None]]: ...


def stream_with_context(
    func: Iterable[Any] | AsyncIterable[Any] | Callable[P, Any],
) -> AsyncGenerator[Any, None] | Callable[P, AsyncGenerator[Any, None]]:
    """Keep the current request (or websocket) context around a streamed body, however
    late or wherever it runs: as a decorator on a generator function, or around a
    generator already made (``stream_with_context(generate())``, as in Flask).

    The request's own contexts are made current around each step of the generator
    rather than copied and pushed anew, so its teardown runs once, when the request
    ends, and ``g`` is the same object.
    """
    if _cv_request.get(None) is None and _cv_websocket.get(None) is None:
        raise RuntimeError("stream_with_context can only be used while a request is handled.")
    captured = _current_contexts()
    if isinstance(func, (Iterable, AsyncIterable)):
        return _in_contexts(captured, _iterate(func))
    function = func

    @wraps(function)
    def generator(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, None]:
        return _in_contexts(captured, _call_and_iterate(function, args, kwargs))

    return generator


def _current_contexts() -> list[tuple[ContextVar[Any], Any]]:
    """The app, request and websocket contexts current now, to make current again."""
    captured: list[tuple[ContextVar[Any], Any]] = []
    for var in (_cv_app, _cv_request, _cv_websocket):
        value = var.get(None)
        if value is not None:
            captured.append((var, value))
    return captured


def _in_contexts(
    captured: list[tuple[ContextVar[Any], Any]], items: AsyncIterator[T]
) -> AsyncGenerator[T, None]:
    """``items`` stepped (and closed) with the ``captured`` contexts current. They are set
    around each step only, so they never leak into whoever reads the stream, and not at
    all while the reader is in those contexts already (a view's response being sent)."""

    async def generate() -> AsyncGenerator[T, None]:
        try:
            while True:
                with _made_current(captured):
                    try:
                        item = await anext(items)
                    except StopAsyncIteration:
                        return
                yield item
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                with _made_current(captured):
                    await close()  # the generator's own cleanup sees the request too

    return generate()


@contextmanager
def _made_current(captured: list[tuple[ContextVar[Any], Any]]) -> Iterator[None]:
    """The ``captured`` contexts current for a block (only those that are not already)."""
    tokens = [var.set(value) for var, value in captured if var.get(None) is not value]
    try:
        yield
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


async def _iterate(iterable: Iterable[T] | AsyncIterable[T]) -> AsyncGenerator[T, None]:
    """An async generator over ``iterable``; a sync one is stepped in the thread pool."""
    items = iterable if isinstance(iterable, AsyncIterable) else run_sync_iterable(iterable)
    try:
        async for item in items:
            yield item
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()


async def _call_and_iterate(
    func: Callable[..., Any], args: Any, kwargs: Any
) -> AsyncGenerator[Any, None]:
    """Call ``func`` (on the first step, so in the contexts) and iterate what it gives."""
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        iterable = func(*args, **kwargs)  # made at once: the body runs when stepped
    else:  # a function that returns an iterable: run as views are run
        iterable = await current_app.ensure_async(func)(*args, **kwargs)
    items = _iterate(iterable)
    try:
        async for item in items:
            yield item
    finally:
        await items.aclose()


async def flash(message: str, category: str = "message") -> None:
    """Remember a message for the next page (``get_flashed_messages`` shows it)."""
    app = _store_flash(message, category)
    if message_flashed.receivers:
        await message_flashed.send_async(app, message=message, category=category)


def _store_flash(message: str, category: str) -> Quart:
    """What ``flash`` does besides sending ``message_flashed`` (the part that sync code,
    Flask's ``flash``, does the same way): the message goes into the session. Returns
    the current app, the signal's sender."""
    from .globals import session

    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def get_flashed_messages(
    with_categories: bool = False, category_filter: Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """The flashed messages (taken out of the session once per request)."""
    from .globals import session

    ctx = current_connection_context()
    flashes = None if ctx is None else ctx.flashes
    if flashes is None:
        flashes = session.pop("_flashes") if "_flashes" in session else []
        if ctx is not None:
            ctx.flashes = flashes
    if category_filter:
        flashes = [flash for flash in flashes if flash[0] in category_filter]
    if not with_categories:
        return [message for _, message in flashes]
    return [(category, message) for category, message in flashes]


async def get_template_attribute(template_name: str, attribute: str) -> Any:
    """A macro or variable that the template ``template_name`` defines, for use from
    Python: ``greet = await get_template_attribute("macros.html", "greet")``.

    Async because templates render in async mode: building the template's module runs
    its top-level code, and a macro it returns gives an awaitable (``await greet(name)``).
    """
    template = current_app.jinja_env.get_template(template_name)
    module = await template.make_module_async()
    return getattr(module, attribute)


async def send_from_directory(
    directory: FilePath,
    file_name: str,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    attachment_filename: str | None = None,
    add_etags: bool = True,
    cache_timeout: int | None = None,
    conditional: bool = True,
    last_modified: datetime | None = None,
    download_name: str | None = None,
    etag: bool | str | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
) -> Response:
    """Send ``file_name`` from inside ``directory`` (relative to the app's root path).

    The name usually comes from the URL, so anything that could reach outside the
    directory (``..``, an absolute path, a NUL byte) or that is not a regular file is a 404,
    never an error page and never the file. Otherwise as ``send_file``.
    """
    directory_path = _directory_path(directory, current_app.root_path)
    # safe_join's result is as normalised as the directory: made of it and a normpath.
    joined = safe_join(directory_path, os.fspath(file_name))
    if joined is None:
        raise NotFound()
    return await file_response(
        joined,
        None,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=_one_of(
            "download_name", download_name, "attachment_filename", attachment_filename
        ),
        conditional=conditional,
        etag=add_etags if etag is None else etag,
        last_modified=last_modified,
        max_age=_one_of("max_age", max_age, "cache_timeout", cache_timeout),
        regular_file_or_404=True,
    )


def _directory_path(directory: FilePath, root_path: str) -> str:
    """``directory`` normalised, taken from ``root_path`` when relative."""
    if type(directory) is str:
        return _str_directory_path(directory, root_path)
    path = os.fspath(file_path_to_path(directory))
    return path if os.path.isabs(path) else os.path.join(root_path, path)


@lru_cache(maxsize=64)
def _str_directory_path(directory: str, root_path: str) -> str:
    """As ``_directory_path``, kept: the static folder is the same on every request."""
    path = os.fspath(file_path_to_path(directory))
    return path if os.path.isabs(path) else os.path.join(root_path, path)


async def send_file(
    filename_or_io: FilePath | BytesIO | IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    attachment_filename: str | None = None,
    add_etags: bool = True,
    cache_timeout: int | None = None,
    conditional: bool = True,
    last_modified: datetime | int | float | None = None,
    *,
    download_name: str | None = None,
    etag: bool | str | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
) -> Response:
    """A response with a file's content, read off the event loop.

    ``filename_or_io`` is a path (relative paths are taken from the app's root path) or a
    binary file object, sent from its current position and closed once sent. The
    mimetype is guessed from the name (``download_name``, else the file's own name); a
    compression it implies (``.gz``) becomes ``Content-Encoding`` unless the file is an
    attachment. ``as_attachment`` asks the browser to save it as that name. ``etag`` (True
    for one derived from the file, or a string) and ``last_modified`` let caches validate
    it; ``max_age`` (seconds, or a function of the path) sets Cache-Control, by default
    ``get_send_file_max_age``. With ``conditional``, If-None-Match, If-Modified-Since and
    single byte ranges are answered (304, 206, 416).

    A file of up to 64 KiB (``file_body_class.small_file_size`` of the response class) is
    stat-ed, opened, read and closed in one call in a worker thread and sent in one
    message; a larger one is stat-ed in that call, then streamed, a call per chunk.

    Quart's names and Flask's are both accepted, with the same meaning:
    ``attachment_filename`` is ``download_name``, ``add_etags`` is ``etag`` and
    ``cache_timeout`` is ``max_age``. (Unlike Quart's, ``conditional`` is on by default,
    as in Flask: see docs/differences.md.)
    """
    file_path = None
    file = None
    if isinstance(filename_or_io, (str, bytes, os.PathLike)):
        file_path = os.fspath(file_path_to_path(filename_or_io))
        if not os.path.isabs(file_path):
            file_path = os.path.join(current_app.root_path, file_path)
    else:
        file = filename_or_io
    return await file_response(
        file_path,
        file,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=_one_of(
            "download_name", download_name, "attachment_filename", attachment_filename
        ),
        conditional=conditional,
        etag=add_etags if etag is None else etag,
        last_modified=last_modified,
        max_age=_one_of("max_age", max_age, "cache_timeout", cache_timeout),
        regular_file_or_404=False,
    )


def _one_of(name: str, value: Any, quart_name: str, quart_value: Any) -> Any:
    """The value given under Flask's ``name`` or Quart's ``quart_name`` (not both)."""
    if quart_value is None:
        return value
    if value is not None and value != quart_value:
        raise TypeError(f"Give either '{name}' or '{quart_name}' (they are the same), not both.")
    return quart_value
