"""Helpers used in views: abort, redirect, url_for, make_response, flash, files..."""

from __future__ import annotations

import mimetypes
import os
import unicodedata
from collections.abc import AsyncGenerator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import wraps
from hashlib import sha1
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote
from zlib import adler32

from werkzeug.exceptions import NotFound
from werkzeug.exceptions import abort as werkzeug_abort
from werkzeug.security import safe_join

from .globals import _cv_request, _cv_websocket, current_app, request_ctx
from .signals import message_flashed
from .utils import file_path_to_path, run_sync
from .wrappers.response import FileBody, IOBody, ResponseBody

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response as SansIOResponse

    from .typing import FilePath
    from .wrappers import Response

__all__ = [
    "abort",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
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


def redirect(location: str, code: int = 302) -> SansIOResponse:
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


def stream_with_context(func: Callable[..., Any]) -> Callable[..., AsyncGenerator[Any, None]]:
    """Wrap a generator function so that it runs with the current request context,
    however late the body is sent."""
    ctx = _cv_request.get(None) or _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError("stream_with_context can only be used while a request is handled.")
    copied = ctx.copy()

    @wraps(func)
    async def generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        async with copied:
            result = current_app.ensure_async(func)(*args, **kwargs)
            iterable: Any = await result if hasattr(result, "__await__") else result
            if hasattr(iterable, "__aiter__"):
                async for item in iterable:
                    yield item
            else:
                for item in iterable:
                    yield item

    return generator


async def flash(message: str, category: str = "message") -> None:
    """Remember a message for the next page (``get_flashed_messages`` shows it)."""
    from .globals import session

    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if message_flashed.receivers:
        await message_flashed.send_async(app, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """The flashed messages (taken out of the session once per request)."""
    from .globals import session

    ctx: Any = _cv_request.get(None) or _cv_websocket.get(None)
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


async def send_from_directory(directory: FilePath, file_name: str, **kwargs: Any) -> Response:
    """Send ``file_name`` from inside ``directory``; 404 for anything outside it."""
    directory_path = os.fspath(file_path_to_path(directory))
    joined = safe_join(directory_path, os.fspath(file_name))
    if joined is None or not await run_sync(os.path.isfile)(joined):
        raise NotFound()
    return await send_file(joined, **kwargs)


async def send_file(
    filename_or_io: FilePath | BytesIO | IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
) -> Response:
    """A response with a file's content, read in chunks off the event loop.

    ``filename_or_io`` is a path or a binary file object. The mimetype is guessed from
    the (download) name; ``as_attachment`` asks the browser to save it as
    ``download_name``. ``etag`` and ``last_modified`` describe the file for caches;
    ``max_age`` (seconds, or a function of the name) sets Cache-Control.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    file_path: str | None = None
    if isinstance(filename_or_io, (str, bytes, os.PathLike)):
        file_path = os.fspath(file_path_to_path(filename_or_io))
        if not os.path.isabs(file_path):
            file_path = os.path.join(app.root_path, file_path)
        name = download_name or os.path.basename(file_path)
    else:
        name = download_name or os.path.basename(str(getattr(filename_or_io, "name", "")))

    if mimetype is None:
        if not name:
            raise ValueError(
                "Unable to detect the MIME type because a file name was not available."
                " Either set 'download_name', pass a path instead of a file, or set"
                " 'mimetype'."
            )
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"

    if file_path is not None:
        stat = await run_sync(os.stat)(file_path)
        body: ResponseBody = FileBody(file_path)
        size: int | None = stat.st_size
        if last_modified is None:
            last_modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        etag_value = f"{stat.st_mtime}-{stat.st_size}-{adler32(file_path.encode())}"
    else:
        io_body = IOBody(filename_or_io)  # type: ignore[arg-type]
        body, size, etag_value = io_body, io_body.size, None

    response: Response = app.response_class(body, mimetype=mimetype)
    if size is not None:
        response.content_length = size
    if as_attachment or download_name is not None:
        disposition = "attachment" if as_attachment else "inline"
        try:
            name.encode("ascii")
            response.headers.set("Content-Disposition", disposition, filename=name)
        except UnicodeEncodeError:
            simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
            response.headers.set(
                "Content-Disposition",
                disposition,
                filename=simple,
                **{"filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")},
            )
    if last_modified is not None:
        response.last_modified = last_modified
    seconds = max_age(file_path) if callable(max_age) else max_age
    if seconds is None and file_path is not None:
        seconds = app.get_send_file_max_age(file_path)
    if seconds is not None:
        if seconds > 0:
            response.cache_control.no_cache = None
            response.cache_control.public = True
        response.cache_control.max_age = seconds
        response.expires = datetime.now(UTC) + timedelta(seconds=seconds)
    else:
        response.cache_control.no_cache = True
    if isinstance(etag, str):
        response.set_etag(etag)
    elif etag and etag_value is not None:
        response.set_etag(sha1(etag_value.encode()).hexdigest())
    if conditional:
        await response.make_conditional(request_ctx.request if _cv_request.get(None) else None)
    return response
