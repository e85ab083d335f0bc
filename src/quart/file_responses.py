"""The response ``send_file`` and ``send_from_directory`` make (``quart.helpers`` holds
their public signatures).

A path costs one call in a worker thread (``quart.file_threads``) before the response
exists: the file is stat-ed there and, when it is a regular file of at most
``file_body_class.small_file_size`` bytes (64 KiB), also opened, read whole and closed,
so that it goes out as bytes in one message. A larger file is streamed by a
``FileBody``, one call per chunk. The headers are written as strings made once per
distinct value (a date, a max-age, a name), with what werkzeug's response properties
would write; a request with no validators or Range skips ``make_conditional``, which
would only add ``Accept-Ranges``.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from io import TextIOBase
from stat import S_ISDIR, S_ISREG
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote
from zlib import adler32

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.exceptions import NotFound
from werkzeug.http import dump_options_header, http_date

from . import globals as _globals
from .file_threads import call_in_thread
from .globals import current_app, request_ctx

if TYPE_CHECKING:
    from .wrappers import Request, Response
    from .wrappers.response import FileBody, ResponseBody

# Assigned, not imported: see the note in quart/globals.py.
_cv_request = _globals._cv_request

#: The mimetype of a file whose name says nothing of its type.
DEFAULT_MIMETYPE = "application/octet-stream"

#: The request headers (as ASGI names them) that ``make_conditional`` answers.
_CONDITIONAL_HEADERS = frozenset(
    (b"range", b"if-range", b"if-match", b"if-none-match", b"if-modified-since")
)

#: ``FileBody.small_file_size``, for a file body class that is not ours.
_SMALL_FILE_SIZE = 64 * 1024

#: How ``_stat_and_read`` opens a small file: read-only, binary where that matters.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


async def file_response(
    file_path: str | None,
    file: IO[bytes] | None,
    *,
    mimetype: str | None,
    as_attachment: bool,
    download_name: str | None,
    conditional: bool,
    etag: bool | str,
    last_modified: datetime | int | float | None,
    max_age: int | Callable[[str | None], int | None] | None,
    regular_file_or_404: bool,
) -> Response:
    """The response for the absolute ``file_path``, or for the binary ``file``; with
    ``regular_file_or_404``, a path that is not a regular file one can stat is a 404.
    The other arguments are ``send_file``'s."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response_class = app.response_class
    if file_path is not None:
        if download_name is None:
            download_name = os.path.basename(file_path)
    else:
        if isinstance(file, TextIOBase):
            raise ValueError("Files must be opened in binary mode or use BytesIO.")
        own_name = getattr(file, "name", None)
        if download_name is None and isinstance(own_name, str) and own_name:
            download_name = os.path.basename(own_name)

    encoding = None
    if mimetype is None:
        if download_name is None:
            raise ValueError(
                "Unable to detect the MIME type because a file name is not available."
                " Either set 'download_name', pass a path instead of a file, or set"
                " 'mimetype'."
            )
        mimetype, encoding = mimetypes.guess_type(download_name)
        mimetype = mimetype or DEFAULT_MIMETYPE
    if as_attachment and download_name is None:
        raise ValueError(
            "No name for the attachment. Either set 'download_name' or pass a path"
            " instead of a file."
        )

    body: ResponseBody
    size: int | None
    mtime: float | None = None
    if file_path is not None:
        found: Any
        if app._own_sync_to_async:  # the app runs sync code its own way (quart-trio's)
            found = await app.sync_to_async(_stat_and_read)(
                file_path, response_class.file_body_class, regular_file_or_404
            )
        else:
            found = await call_in_thread(
                _stat_and_read, file_path, response_class.file_body_class, regular_file_or_404
            )
        if found is None:
            raise NotFound()
        mtime, content = found
        if isinstance(content, bytes):
            body, size = response_class.data_body_class(content), len(content)
        else:
            body, size = content, content.size
    else:
        io_body = response_class.io_body_class(file)
        body, size = io_body, io_body.size

    response: Response = response_class(body, mimetype=mimetype)
    headers = response.headers
    if size is not None:
        headers.add("Content-Length", str(size))
    if encoding is not None and not as_attachment:
        headers.add("Content-Encoding", encoding)
    if download_name is not None:
        headers.add("Content-Disposition", _content_disposition(download_name, as_attachment))
    if last_modified is not None:
        response.last_modified = last_modified  # type: ignore[assignment]
    elif mtime is not None:
        headers.add("Last-Modified", _http_date(mtime))

    seconds = app.get_send_file_max_age if max_age is None else max_age
    if callable(seconds):
        seconds = seconds(file_path)
    headers.add("Cache-Control", _cache_control(seconds))
    if seconds is not None:
        headers.add("Expires", _http_date(int(time.time() + seconds)))

    if isinstance(etag, str):
        response.set_etag(etag)
    elif etag and file_path is not None:
        check = adler32(os.fsencode(file_path)) & 0xFFFFFFFF
        headers.add("ETag", f'"{mtime}-{size}-{check}"')
    if conditional:
        request = request_ctx.request if _cv_request.get(None) is not None else None
        if request is None or _asks_nothing_conditional(request):
            if request is not None and request.method in ("GET", "HEAD"):
                headers.add("Accept-Ranges", "bytes")
        else:
            await response.make_conditional(request, accept_ranges=True, complete_length=size)
    return response


def _stat_and_read(
    file_path: str, file_body_class: type[FileBody], regular_file_or_404: bool
) -> tuple[float, bytes | FileBody] | None:
    """In a worker thread, all the file work done before the response exists: the file's
    modification time and either its whole content (a regular file of at most
    ``file_body_class.small_file_size`` bytes, opened, read and closed here) or the
    ``file_body_class`` that will stream it. None, when ``regular_file_or_404``, for a
    path that is not a regular file one can stat."""
    try:
        stat = os.stat(file_path)
    except (OSError, ValueError):  # ValueError: a NUL byte, a name the system cannot take
        if regular_file_or_404:
            return None
        raise
    if not S_ISREG(stat.st_mode):
        if regular_file_or_404:
            return None
        if S_ISDIR(stat.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), file_path)
        return stat.st_mtime, file_body_class(file_path)  # a device or a pipe: as it comes
    size = stat.st_size
    # A file body class written for Quart (quart-trio's) has no small_file_size: ours.
    small = getattr(file_body_class, "small_file_size", _SMALL_FILE_SIZE)
    if size > small:
        return stat.st_mtime, file_body_class(file_path)
    descriptor = os.open(file_path, _READ_FLAGS)
    try:
        content = os.read(descriptor, size)
        while len(content) < size:  # a short read: only if the file shrank meanwhile
            more = os.read(descriptor, size - len(content))
            if not more:
                break
            content += more
    finally:
        os.close(descriptor)
    return stat.st_mtime, content


def _asks_nothing_conditional(request: Request) -> bool:
    """True when the request has none of the headers ``make_conditional`` answers, so
    that all it would do is add ``Accept-Ranges``. Read from the scope unless the
    headers were built (or given) already."""
    if "headers" in request.__dict__:
        return not any(
            name.lower().encode("latin1") in _CONDITIONAL_HEADERS for name, _ in request.headers
        )
    return not any(name in _CONDITIONAL_HEADERS for name, _ in request.scope.get("headers", ()))


@lru_cache(maxsize=256)
def _http_date(timestamp: float) -> str:
    """``http_date``, kept for the modification times and the seconds in use."""
    return http_date(timestamp)


@lru_cache(maxsize=64)
def _cache_control(seconds: Any) -> str:
    """The Cache-Control for a max-age in seconds (None: no-cache only), as werkzeug's
    ``cache_control`` property writes it."""
    control = ResponseCacheControl()
    control.no_cache = True
    if seconds is not None:
        if seconds > 0:
            control.no_cache = None
            control.public = True
        control.max_age = seconds
    return control.to_header()


@lru_cache(maxsize=256)
def _content_disposition(name: str, as_attachment: bool) -> str:
    """Name the file for the browser; a non-ASCII name also goes as RFC 5987
    ``filename*``, with an ASCII approximation for clients that only read ``filename``."""
    disposition = "attachment" if as_attachment else "inline"
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        quoted = quote(name, safe="!#$&+-.^_`|~")  # RFC 5987 attr-chars stay as they are
        return dump_options_header(
            disposition, {"filename": simple, "filename*": f"UTF-8''{quoted}"}
        )
    return dump_options_header(disposition, {"filename": name})
