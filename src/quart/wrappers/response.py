"""The HTTP response: werkzeug's sans-IO response with an async body.

A body is one of a few kinds, each an async context manager giving an async iterable of
bytes: ``DataBody`` (bytes in memory), ``IterableBody`` (a sync or async iterable or
generator, streamed as it is produced), ``FileBody`` and ``IOBody`` (read in chunks, off
the event loop). The ASGI layer sends a ``DataBody`` in a single message.

``DataBody``, ``FileBody`` and ``IOBody`` can serve a byte range: ``await
body.make_conditional(begin, end)`` selects it (416 when it cannot be satisfied) and
gives the complete length, as in Quart.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from functools import lru_cache
from hashlib import sha1
from io import BytesIO
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from werkzeug.datastructures import ContentRange, Headers, Range
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import HTTP_STATUS_CODES, parse_etags, parse_range_header
from werkzeug.sansio.http import is_resource_modified
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.utils import get_content_type

from .. import globals as _globals
from .. import json
from ..concurrency import run_sync, run_sync_iterable
from ..file_threads import call_in_thread
from ..shortcuts import trusted_headers

if TYPE_CHECKING:
    from ..typing import HeadersValue
    from .request import Request

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app

_USE_CONFIG: Any = Ellipsis  # sentinel: take RESPONSE_TIMEOUT from the app's config
_STATUS_LINES = {code: f"{code} {phrase.upper()}" for code, phrase in HTTP_STATUS_CODES.items()}


@lru_cache(maxsize=64)
def _content_type(mimetype: str) -> str:
    """The Content-Type for a mimetype (``; charset=utf-8`` added to text types)."""
    return get_content_type(mimetype, "utf-8")


class ResponseBody:
    """The base of body kinds: ``async with body as chunks: async for chunk in chunks``."""

    async def __aenter__(self) -> AsyncIterable[bytes]:
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def _raise_if_invalid_range(begin: int, end: int, size: int) -> None:
    """Raise 416 (with ``Content-Range: bytes */size``) for a range that is empty or
    starts beyond a body of ``size`` bytes. Quart's helper, at Quart's path: body classes
    of extensions (quart-trio's file body) call it."""
    if begin >= end or abs(begin) > size:
        raise RequestedRangeNotSatisfiable(length=size)


def _check_range(begin: int, end: int | None, size: int) -> tuple[int, int]:
    """``begin`` and ``end`` (None: the end of the body) clipped to ``size``; a range
    that is empty or starts beyond the body is a 416. A negative ``begin`` counts from
    the end."""
    end = size if end is None else min(end, size)
    _raise_if_invalid_range(begin, end, size)
    return (size + begin if begin < 0 else begin), end


class DataBody(ResponseBody):
    """Bytes already in memory. After ``make_conditional``, ``data`` holds the selected
    range, which ``begin`` and ``end`` place in the whole body."""

    #: Where ``data`` starts in the whole body.
    begin = 0

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def end(self) -> int:
        """Where ``data`` ends in the whole body."""
        return self.begin + len(self.data)

    async def make_conditional(self, begin: int, end: int | None) -> int:
        """Keep only the bytes from ``begin`` to ``end``; the complete length."""
        size = self.end
        begin, end = _check_range(begin, end, size)
        start = self.begin
        self.data = self.data[begin - start : end - start]
        self.begin = begin
        return size

    async def __aenter__(self) -> AsyncIterable[bytes]:
        return self

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self.data:
            yield self.data


class IterableBody(ResponseBody):
    """A sync or async iterable of bytes or str, streamed as it produces chunks.

    Sync iterables (sync generators) are stepped in the thread pool, so a generator that
    blocks does not stall the loop. Leaving the block closes an async generator, so its
    ``finally`` runs even when the client went away mid-stream.
    """

    #: The async iterator to stream, where a subclass's ``__init__`` sets it as Quart's
    #: does (quart-trio's wraps sync generators for trio's threads): used as it is.
    #: Ours is made when the body is entered, from ``iterable``.
    iter: AsyncIterator[Any] | None = None
    _iterator: AsyncIterator[Any] | None = None

    def __init__(self, iterable: Iterable[Any] | AsyncIterable[Any]) -> None:
        self.iterable = iterable

    async def __aenter__(self) -> AsyncIterable[bytes]:
        if self.iter is not None:
            self._iterator = self.iter
        elif isinstance(self.iterable, AsyncIterable):
            self._iterator = aiter(self.iterable)
        else:
            self._iterator = run_sync_iterable(self.iterable)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        close = getattr(self._iterator, "aclose", None)
        if close is not None:
            await close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._encoded()

    async def _encoded(self) -> AsyncIterator[bytes]:
        assert self._iterator is not None, "iterate the body inside `async with`"
        async for chunk in self._iterator:
            yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


class FileBody(ResponseBody):
    """A file on disk, streamed in chunks of ``buffer_size`` (never whole into memory).

    Each chunk costs one call in a worker thread (``quart.file_threads``): the first call
    also opens the file (at ``begin``), the one that reads the last chunk also closes it.
    Nothing is open before the body is iterated, so a response that is never sent (HEAD,
    304, replaced by a hook) holds no file. ``begin`` and ``end`` select a byte range (for
    206 responses).
    """

    buffer_size = 64 * 1024
    #: ``send_file`` reads a regular file of at most this many bytes whole, in the same
    #: worker-thread call as its ``stat``, and sends it as bytes in one message (a
    #: ``DataBody``) instead of making one of these. 0 streams every file with this class.
    small_file_size = 64 * 1024

    def __init__(self, file_path: str | PathLike[str], *, buffer_size: int | None = None) -> None:
        self.file_path = Path(file_path)
        self.size = os.path.getsize(file_path)
        self.begin = 0
        self.end = self.size
        if buffer_size is not None:
            self.buffer_size = buffer_size
        self._file: IO[bytes] | None = None
        # The last chunk's call; while it runs, only it uses the file.
        self._reading: asyncio.Future[bytes] | None = None

    async def __aenter__(self) -> AsyncIterable[bytes]:
        return self  # the first chunk's call opens the file

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Read to the end, the last call closed the file. Left early (the client went
        # away, a timeout), it is still open: closed now, or, if the wait for a call was
        # cancelled, by that call's cleanup once it is done.
        reading = self._reading
        if reading is None or not reading.cancelled():
            self._close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        remaining = self.end - self.begin
        while remaining > 0:
            size = min(self.buffer_size, remaining)
            self._reading = call_in_thread(self._read, size, size == remaining, cleanup=self._close)
            chunk = await self._reading
            if chunk:
                yield chunk
            if len(chunk) < size:
                return  # the file ended early (it shrank): its last call closed it
            remaining -= size

    def _read(self, size: int, last: bool) -> bytes:
        """In a worker thread: the next ``size`` bytes, the file opened first if it is
        not yet, and closed after the ``last`` chunk (or at its end)."""
        file = self._file
        if file is None:
            file = open(self.file_path, "rb", buffering=0)  # noqa: SIM115 - closed below or by _close
            try:
                file.seek(self.begin)
            except BaseException:
                file.close()
                raise
            self._file = file
        chunk = file.read(size)
        while len(chunk) < size:  # one read may give less (on some file systems)
            more = file.read(size - len(chunk))
            if not more:
                break  # the end of the file
            chunk += more
        if last or len(chunk) < size:
            self._file = None
            file.close()
        return chunk

    def _close(self) -> None:
        # Closing a file opened only for reading writes nothing: quick enough for the loop.
        file = self._file
        if file is not None:
            self._file = None
            file.close()

    async def make_conditional(self, begin: int, end: int | None) -> int:
        """Serve only the bytes from ``begin`` to ``end``; the complete length."""
        self.begin, self.end = _check_range(begin, end, self.size)
        return self.size


class IOBody(ResponseBody):
    """A binary file-like object (``BytesIO`` or an open file), read in chunks."""

    buffer_size = 64 * 1024

    def __init__(self, io_stream: IO[bytes], *, buffer_size: int | None = None) -> None:
        self.io_stream = io_stream
        self.begin = self._origin = io_stream.tell() if io_stream.seekable() else 0
        self.size: int | None = None
        if io_stream.seekable():
            self.size = io_stream.seek(0, os.SEEK_END) - self.begin
            io_stream.seek(self.begin)
        self.end = None if self.size is None else self.begin + self.size
        if buffer_size is not None:
            self.buffer_size = buffer_size

    async def __aenter__(self) -> AsyncIterable[bytes]:
        if self.io_stream.seekable():
            self.io_stream.seek(self.begin)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.io_stream.close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        # In-memory streams are read directly; real files in the thread pool.
        in_memory = isinstance(self.io_stream, BytesIO)
        read_in_thread = run_sync(self.io_stream.read)
        remaining = None if self.end is None else self.end - self.begin
        while remaining is None or remaining > 0:
            size = self.buffer_size if remaining is None else min(self.buffer_size, remaining)
            chunk: bytes = self.io_stream.read(size) if in_memory else await read_in_thread(size)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    async def make_conditional(self, begin: int, end: int | None) -> int:
        """Serve only the bytes from ``begin`` to ``end`` (counted from where the stream
        stood when given); the complete length. A stream that cannot seek has none."""
        if self.size is None:
            raise RequestedRangeNotSatisfiable()
        begin, end = _check_range(begin, end, self.size)
        self.begin, self.end = self._origin + begin, self._origin + end
        return self.size


class Response(SansIOResponse):
    """A response with a body that may be bytes, text or a (sync or async) stream.

    ``await response.get_data()`` collects the body (in tests); ``response.timeout``
    bounds the time spent sending it (``None`` disables, the default takes the app's
    ``RESPONSE_TIMEOUT``).
    """

    automatically_set_content_length = True
    default_mimetype = "text/html"
    data_body_class = DataBody
    file_body_class = FileBody
    #: Whether ``get_data`` keeps a streamed body in memory once collected (with
    #: ``make_sequence``), so that it can be read again and still be sent.
    implicit_sequence_conversion = True
    io_body_class = IOBody
    iterable_body_class = IterableBody
    json_module: Any = json
    timeout: float | None = _USE_CONFIG  # the app's RESPONSE_TIMEOUT

    def __init__(
        self,
        response: ResponseBody
        | str
        | bytes
        | bytearray
        | Iterable[Any]
        | AsyncIterable[Any]
        | None = None,
        status: int | str | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        self.response: ResponseBody
        if headers is None and content_type is None and (status is None or type(status) is int):
            # The common case, built without werkzeug's per-header validation (the values
            # are ours and known to be valid), and as a plain list until someone reads
            # ``headers``.
            self._header_list = items = [
                ("Content-Type", _content_type(mimetype or self.default_mimetype))
            ]
            code = self.default_status if status is None else status
            line = _STATUS_LINES.get(code)
            if line is None:
                self.status = code
            else:  # quart.shortcuts.set_known_status, without the call
                self._status, self._status_code = line, code
            if type(response) is str or type(response) is bytes:
                data = response.encode("utf-8") if type(response) is str else response
                self.response = self.data_body_class(data)  # type: ignore[arg-type]
                if self.automatically_set_content_length:
                    items.append(("Content-Length", str(len(data))))
                return
        else:
            super().__init__(status, headers, mimetype, content_type)  # type: ignore[arg-type]
        if response is None:
            self.response = self.data_body_class(b"")
        elif isinstance(response, ResponseBody):
            self.response = response
        elif isinstance(response, (str, bytes, bytearray)):
            self.set_data(response)
        else:
            self.response = self.iterable_body_class(response)

    _headers: Headers | None = None
    _header_list: list[tuple[str, str]] | None = None

    @property
    def headers(self) -> Headers:
        """The headers. A response built the common way keeps them in a plain list until
        they are first read here, so that sending it needs no ``Headers`` object (the
        ASGI layer sends ``_header_pairs``)."""
        headers = self._headers
        if headers is None:
            pairs, self._header_list = self._header_list, None
            headers = self._headers = Headers() if pairs is None else trusted_headers(pairs)
        return headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value
        self._header_list = None

    @property
    def _header_pairs(self) -> Iterable[tuple[str, str]]:
        """The headers as (name, value) pairs, without making a ``Headers`` object
        for a response that has none yet."""
        header_list = self._header_list
        return self.headers if header_list is None else header_list

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The app's ``MAX_COOKIE_SIZE`` (werkzeug's default outside an app)."""
        ctx = _cv_app.get(None)
        if ctx is None:
            return super().max_cookie_size
        return ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]

    @overload
    async def get_data(self, as_text: Literal[True]) -> str: ...

    @overload
    async def get_data(self, as_text: Literal[False] = False) -> bytes: ...

    @overload
    async def get_data(self, as_text: bool = False) -> str | bytes: ...

    async def get_data(self, as_text: bool = False) -> str | bytes:
        """The whole body, as bytes or as text. A streamed body is collected, and kept
        (``make_sequence``) unless ``implicit_sequence_conversion`` is off, in which case
        it is consumed."""
        body = self.response
        if isinstance(body, DataBody):
            data = body.data
        else:
            data = await self._collect()
            if self.implicit_sequence_conversion:
                self.response = self.data_body_class(data)
        return data.decode("utf-8") if as_text else data

    async def make_sequence(self) -> None:
        """Collect the body into memory (a ``DataBody``), so that it can be read more
        than once. The headers are left as they are."""
        self.response = self.data_body_class(await self._collect())

    async def _collect(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_encode()])

    def set_data(self, data: str | bytes | bytearray) -> None:
        """Replace the body with ``data`` (text is UTF-8 encoded) and set Content-Length."""
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.response = self.data_body_class(data)
        if self.automatically_set_content_length:
            self.headers["Content-Length"] = str(len(data))

    @property
    async def data(self) -> bytes:
        """The whole body as bytes."""
        return await self.get_data()

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    async def json(self) -> Any:
        """The body parsed as JSON."""
        return await self.get_json()

    async def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """Parse the body as JSON; None if the mimetype is not JSON (unless ``force``)."""
        if not (force or self.is_json):
            return None
        data = await self.get_data(as_text=True)
        try:
            return self.json_module.loads(data)
        except ValueError:
            if silent:
                return None
            raise

    async def iter_encode(self) -> AsyncIterator[bytes]:
        """The body's chunks as bytes, in order."""
        async with self.response as chunks:
            async for chunk in chunks:
                yield chunk

    async def freeze(self) -> None:
        """Collect a streamed body into memory, so that it can be read more than once."""
        self.set_data(await self.get_data())

    async def make_conditional(
        self,
        request: Request | None,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Answer a conditional or range GET/HEAD: 304 when the client's copy is current
        (412 when an If-Match fails) and, with ``accept_ranges`` (True for bytes, or the
        unit), 206 with Content-Range for one satisfiable byte range, 416 when it is
        not satisfiable. Other requests are left alone.

        ``complete_length`` defaults to the body's length when known (bytes, a file, a
        seekable stream); given for a streamed body, the body is collected first."""
        if request is None or request.method not in ("GET", "HEAD"):
            return self
        if complete_length is None:
            complete_length = self._body_length()
        is_partial = await self._process_range_request(request, complete_length, accept_ranges)
        if not is_partial and not is_resource_modified(
            http_range=request.headers.get("Range"),
            http_if_range=request.headers.get("If-Range"),
            http_if_modified_since=request.headers.get("If-Modified-Since"),
            http_if_none_match=request.headers.get("If-None-Match"),
            http_if_match=request.headers.get("If-Match"),
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
        ):
            if parse_etags(request.headers.get("If-Match")):
                self.status_code = 412
            else:
                self.status_code = 304
                await self._discard_body()
                self.set_data(b"")
                for name in ("Content-Length", "Content-Type", "Content-Disposition"):
                    self.headers.pop(name, None)
        return self

    async def _discard_body(self) -> None:
        """Close a file-like body that will not be sent: nothing else would close it."""
        body = self.response
        if isinstance(body, IOBody):
            if isinstance(body.io_stream, BytesIO):
                body.io_stream.close()
            else:
                await run_sync(body.io_stream.close)()

    def _body_length(self) -> int | None:
        body = self.response
        if isinstance(body, DataBody):
            return len(body.data)
        if isinstance(body, (FileBody, IOBody)):
            return body.size
        return None

    async def _process_range_request(
        self, request: Request, complete_length: int | None, accept_ranges: bool | str
    ) -> bool:
        if not accept_ranges:
            return False
        units = "bytes" if accept_ranges is True else str(accept_ranges)
        self.headers.setdefault("Accept-Ranges", units)
        http_range = request.headers.get("Range")
        if not complete_length or http_range is None:
            return False  # nothing to take a range of: the whole (possibly empty) body
        if_range = request.headers.get("If-Range")
        if if_range is not None and (
            # A weak validator never matches (RFC 9110 13.1.5): send the whole body.
            if_range.startswith("W/")
            or is_resource_modified(
                http_range=http_range,
                http_if_range=if_range,
                etag=self.headers.get("ETag"),
                last_modified=self.headers.get("Last-Modified"),
                ignore_if_range=False,
            )
        ):
            return False
        parsed = parse_range_header(http_range)
        if parsed is None or parsed.units != units or len(parsed.ranges) != 1:
            return False  # unparseable or multiple ranges: send the whole body
        first, last = parsed.ranges[0]
        if first < 0 and -first > complete_length:
            # A suffix longer than the body asks for all of it (RFC 9110 14.1.3).
            parsed = Range(units, [(-complete_length, last)])
        selected = parsed.range_for_length(complete_length)
        if selected is None:
            await self._discard_body()
            raise RequestedRangeNotSatisfiable(length=complete_length)
        begin, end = selected
        select = getattr(self.response, "make_conditional", None)
        if select is None:  # a streamed body, whose length the caller gave: collect it
            await self.make_sequence()
            select = self.response.make_conditional  # type: ignore[attr-defined]
        await select(begin, end)
        self.headers["Content-Length"] = str(end - begin)
        self.content_range = ContentRange(units, begin, end, complete_length)
        self.status_code = 206
        return True

    async def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ETag from a hash of the body (collecting a streamed body first)."""
        if overwrite or "etag" not in self.headers:
            data = await self.get_data()
            self.set_etag(sha1(data).hexdigest(), weak)


__all__ = ["DataBody", "FileBody", "IOBody", "IterableBody", "Response", "ResponseBody"]
