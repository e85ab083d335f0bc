"""The HTTP request: werkzeug's sans-IO request plus an awaitable, streamable body."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Literal, NoReturn, overload

from werkzeug.datastructures import CombinedMultiDict, Headers, MultiDict
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from werkzeug.utils import cached_property

from .. import globals as _globals
from ..exceptions import ConnectionClosed
from ..formparser import FormDataParser
from ..shortcuts import Resumed, first_step
from .base import BaseRequestWebsocket

if TYPE_CHECKING:
    from ..datastructures import FileStorage
    from ..typing import ASGIReceiveCallable, Message, Scope

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app

_NO_JSON = object()

#: The request headers (lower case) that a push promise copies: those that say how the
#: client negotiates content, so that the pushed response suits it.
SERVER_PUSH_HEADERS_TO_COPY = {
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "user-agent",
}
_Failure = Literal["too large", "late", "gone"]


class Body:
    """The request body: ``await body`` gives all of it (read once, then kept);
    ``async for chunk in body`` streams it without holding it.

    Its bytes come one of two ways. On the real path they are pulled from the ASGI
    ``receive`` channel only when someone asks. A body built without ``receive``, as
    Quart's ``Body(expected_content_length, max_content_length)`` is, has its bytes
    pushed to it (``append``, ``set_complete``, ``set_result``): requests built by
    hand in tests, and extensions that feed a request themselves.

    ``max_content_length`` is checked against the expected length before anything is
    read and against the bytes as they arrive (413). The body timeout bounds the whole
    read when awaited or parsed (form, files, JSON), so that a client cannot hold a
    request open by dripping its body, and each wait when iterated, so that a long
    upload at a steady pace can be streamed (408). A client that disconnects meanwhile
    raises ``ConnectionClosed``.
    """

    __slots__ = (
        "_data",
        "_deadline",
        "_failure",
        "_more",
        "_receive",
        "_received",
        "expected_content_length",
        "max_content_length",
        "timeout",
    )

    def __init__(
        self,
        expected_content_length: int | None,
        max_content_length: int | None,
        receive: ASGIReceiveCallable | None = None,
        timeout: float | None = None,
    ) -> None:
        """``receive`` (ours) pulls the body from the ASGI server; without it the
        body's bytes are pushed to it. ``timeout`` (ours) is the body timeout.

        .. versionadded:: 0.20 ``receive`` and ``timeout``.
        """
        self._receive: ASGIReceiveCallable | _Pushed = receive if receive is not None else _Pushed()
        self.expected_content_length = expected_content_length
        self.max_content_length = max_content_length
        self.timeout = timeout
        self._data: bytes | None = None
        self._more = True
        self._received = 0
        self._deadline: float | None = None
        self._failure: _Failure | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass whose ``__init__`` has Quart's two parameters (quart-trio's
        ``TrioBody``) is adapted once, here: its ``__init__`` is wrapped by
        ``_with_our_state`` to take ours too and leave the body in our state, and, as
        Quart's body, it has no timeout of its own (``timeout`` reads None): its request
        applies the body timeout, as Quart's does (quart-trio's ``get_data`` does, with
        trio's, where our timer would need asyncio)."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and "receive" not in inspect.signature(init).parameters:
            cls.__init__ = _with_our_state(init)  # type: ignore[method-assign]
            cls.timeout = _NoTimeout()  # type: ignore[misc,assignment]

    @classmethod
    def from_data(cls, data: bytes) -> Body:
        """A body whose content is known up front (test request contexts, tests)."""
        body = cls(len(data), None)
        body._data = data
        body._more = False
        return body

    def append(self, data: bytes) -> None:
        """Push the next bytes of a body built without ``receive``. Bytes past
        ``max_content_length`` end the body: reading it then raises 413, and what is
        pushed afterwards is dropped rather than kept."""
        pushed = self._pushed()
        if not data or pushed.overflowed:
            return
        if self._data is not None:  # already read in full: later reads include it
            self._data += data
            return
        pushed.buffer += data
        pushed.total += len(data)
        limit = self.max_content_length
        if limit is not None and pushed.total > limit:
            pushed.overflowed = pushed.complete = True
        pushed.arrived.set()

    def set_complete(self) -> None:
        """Mark a pushed body as complete: nothing more will be appended."""
        pushed = self._pushed()
        pushed.complete = True
        pushed.arrived.set()

    def set_result(self, data: bytes) -> None:
        """Push the whole of a body at once (``append`` then ``set_complete``)."""
        self.append(data)
        self.set_complete()

    def clear(self) -> None:
        """Drop the bytes kept so far, so that later reads give what follows them (for
        ``get_data(cache=False)``): the memory is freed as soon as it is read."""
        if self._data is not None:
            self._data = b""
        elif isinstance(self._receive, _Pushed):
            self._receive.buffer.clear()

    def _pushed(self) -> _Pushed:
        receive = self._receive
        if not isinstance(receive, _Pushed):
            raise RuntimeError(
                "This body is received from the client: only a body built without"
                " `receive` can have bytes pushed to it."
            )
        return receive

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        return self._iterate(one_deadline=False)

    def __await__(self) -> Generator[Any, None, bytes]:
        return self.read().__await__()

    async def read(self) -> bytes:
        """All of the body, received the first time and then kept. Once a stream has
        consumed it, what the stream left unread (nothing, if it ran to the end), as a
        consumed stream reads in Flask and Quart."""
        if self._data is not None:
            return self._data
        self._check()
        self._deadline = None  # one deadline for the whole body, set on the first wait
        chunks = []
        while self._more:
            chunks.append(await self._next_chunk())
        self._data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._data

    async def _iterate(self, *, one_deadline: bool) -> AsyncGenerator[bytes, None]:
        """The chunks as they arrive, within one timeout for the whole body (for the
        parsers behind ``form`` and ``files``) or a fresh one for each chunk. A second
        iteration goes on where the first stopped."""
        if self._data is not None:
            if self._data:
                yield self._data
            return
        self._check()
        self._deadline = None
        while self._more:
            if not one_deadline:
                self._deadline = None
            chunk = await self._next_chunk()
            if chunk:
                yield chunk

    def _check(self) -> None:
        """Before each read: a body refused (413, 408) or lost (the client left) once
        stays so and is never read further; then the declared length and what has
        arrived so far against the limit, which may have been lowered meanwhile."""
        if self._failure is not None:
            raise self._fail(self._failure)
        limit = self.max_content_length
        if limit is not None and (
            (self.expected_content_length or 0) > limit or self._received > limit
        ):
            raise self._fail("too large")

    def _fail(self, failure: _Failure) -> BaseException:
        """The error for ``failure``, which is remembered for later reads. Only its kind
        is kept: a kept exception's traceback would tie this body into a reference cycle."""
        self._failure = failure
        if failure == "gone":
            return ConnectionClosed()
        if failure == "late":
            return RequestTimeout("The request body was not received in time.")
        return RequestEntityTooLarge(
            f"The request body is larger than the limit of {self.max_content_length} bytes."
        )

    async def _next_chunk(self) -> bytes:
        message = self._poll()
        if not isinstance(message, dict):  # still to come: wait for it
            message = await message
        return self._take(message)

    def _poll(self) -> Message | Awaitable[Message]:
        """The next message when the server holds it already, which is the common case
        and needs neither suspending nor a timer; else an awaitable that waits for it
        within the body timeout (armed from the first wait)."""
        call = self._receive()
        if type(call) is not CoroutineType:  # a server whose receive is another awaitable
            return self._wait_for(call)
        done, value = first_step(call)
        return value if done else self._wait_for(Resumed(call, value))

    def _take(self, message: Message) -> bytes:
        """A received message's bytes, counted against the limit."""
        if message["type"] == "http.disconnect":
            raise self._fail("gone")
        chunk: bytes = message.get("body", b"")
        self._more = message.get("more_body", False)
        if chunk:
            self._received += len(chunk)
            limit = self.max_content_length
            if limit is not None and self._received > limit:
                raise self._fail("too large")
        return chunk

    async def _wait_for(self, call: Awaitable[Message]) -> Message:
        if self._deadline is None:
            if self.timeout is None:
                # No timer: nothing of asyncio's, so that a body pushed under another
                # event loop (quart-trio's) can be awaited.
                return await call
            self._deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with asyncio.timeout_at(self._deadline):
                return await call
        except TimeoutError:
            raise self._fail("late") from None


def _with_our_state(
    init: Callable[..., None],
) -> Callable[..., None]:
    """Wrap a ``Body`` subclass's ``__init__`` written for Quart's two parameters so that
    it takes ours too. Quart's subclasses may never call our ``__init__`` and set Quart's
    state instead (quart-trio's ``TrioBody`` sets ``_data`` and trio events ``_complete``
    and ``_has_data``): the body is then given our state after it ran, waiting on the
    subclass's own ``_has_data`` event (trio's, under trio) for pushed bytes."""

    @functools.wraps(init)
    def __init__(
        self: Body,
        expected_content_length: int | None,
        max_content_length: int | None,
        receive: ASGIReceiveCallable | None = None,
        timeout: float | None = None,
    ) -> None:
        init(self, expected_content_length, max_content_length)
        try:
            ours = self._receive
        except AttributeError:  # Quart's state only
            event = getattr(self, "_has_data", None)
            Body.__init__(self, expected_content_length, max_content_length, receive)
            if receive is None and event is not None:
                self._receive = _Pushed(event)
            return
        if receive is not None and isinstance(ours, _Pushed):  # it called ours with two
            self._receive = receive

    return __init__


class _NoTimeout:
    """``timeout`` of a ``Body`` subclass written for Quart: always None (see
    ``Body.__init_subclass__``); what is set is ignored."""

    def __get__(self, instance: Any, owner: Any = None) -> None:
        return None

    def __set__(self, instance: Any, value: float | None) -> None:
        pass


class _Pushed:
    """The receive channel of a body whose bytes are pushed to it rather than pulled
    from a server: what was appended since the last read, as one message. ``arrived``
    is any event with ``set``, ``clear`` and ``wait`` (an ``asyncio.Event`` unless a
    subclass brings its own, as quart-trio's body brings trio's)."""

    __slots__ = ("arrived", "buffer", "complete", "overflowed", "total")

    def __init__(self, arrived: Any = None) -> None:
        self.buffer = bytearray()
        self.complete = False
        self.overflowed = False
        self.total = 0
        self.arrived = asyncio.Event() if arrived is None else arrived

    async def __call__(self) -> Message:
        while not (self.buffer or self.complete):
            self.arrived.clear()
            await self.arrived.wait()
        data = bytes(self.buffer)
        self.buffer.clear()
        return {"type": "http.request", "body": data, "more_body": not self.complete}


class Request(BaseRequestWebsocket):
    """An HTTP request: headers and URL parts at once, the body when awaited.

    ``await request.get_data()``, ``await request.form``, ``await request.get_json()``...
    read the body from the client the first time one of them is awaited.
    """

    body_class = Body
    form_data_parser_class = FormDataParser
    #: The lock that keeps concurrent readers of ``form``/``files`` to one parse.
    lock_class = asyncio.Lock

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass that overrides ``get_data`` but not ``get_json`` (quart-trio's) has
        its JSON read through ``get_data``, as Quart reads it; ours reads the body
        directly. Decided once, here."""
        super().__init_subclass__(**kwargs)
        if cls.get_data is not Request.get_data and cls.get_json is Request.get_json:
            cls.get_json = Request._get_json_through_get_data  # type: ignore[method-assign]

    # Per-request state that most requests never change, kept as class-level defaults
    # so that building a request sets only what it must.
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None
    _body: Body | None = None
    _form: MultiDict[str, str] | None = None
    _files: MultiDict[str, FileStorage] | None = None
    _json: Any = _NO_JSON
    _form_error: HTTPException | None = None

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers | None,
        root_path: str,
        http_version: str,
        scope: Scope,
        *,
        max_content_length: int | None = None,
        body_timeout: float | None = None,
        send_push_promise: Callable[[str, Headers], Awaitable[None]] | None,
        receive: ASGIReceiveCallable | None = None,
    ) -> None:
        """``receive`` (ours) is the ASGI channel the body is pulled from when read;
        without it, as in Quart, the body's bytes are pushed to ``request.body``
        (``set_result``, or ``append`` and ``set_complete``).

        .. versionadded:: 0.20 ``receive``; ``headers`` may be None (read from the
           scope when first used) and ``send_push_promise`` None (where the server
           cannot push, ``send_push_promise`` does nothing).
        """
        super().__init__(
            method, scheme, path, query_string, headers, root_path, http_version, scope
        )
        self._max_content_length = max_content_length
        self._body_timeout = body_timeout
        self._files = None  # read when the request ends (files to close)
        self._receive = receive
        self._send_push_promise = send_push_promise

    @property
    def body(self) -> Body:
        """The body: ``await request.body`` for all of it, ``async for`` to stream it."""
        if self._body is None:
            self._body = self.body_class(
                self.content_length, self._max_content_length, self._receive, self._body_timeout
            )
        return self._body

    @body.setter
    def body(self, value: Body) -> None:
        self._body = value

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted (413 beyond); ``MAX_CONTENT_LENGTH`` unless set."""
        if self._max_content_length is not None:
            return self._max_content_length
        return _config_value("MAX_CONTENT_LENGTH")  # type: ignore[no-any-return]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
        if self._body is not None:
            self._body.max_content_length = value

    @property
    def body_timeout(self) -> float | None:
        """Seconds the body may take to arrive (408 beyond); ``BODY_TIMEOUT`` unless set.

        A view or hook that expects a slow upload can raise it for its own request.
        """
        return self._body_timeout

    @body_timeout.setter
    def body_timeout(self, value: float | None) -> None:
        self._body_timeout = value
        if self._body is not None:
            self._body.timeout = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The most form field data held in memory; ``MAX_FORM_MEMORY_SIZE`` unless set."""
        if self._max_form_memory_size is not None:
            return self._max_form_memory_size
        return _config_value("MAX_FORM_MEMORY_SIZE")  # type: ignore[no-any-return]

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property
    def max_form_parts(self) -> int | None:
        """The most multipart parts or form fields; ``MAX_FORM_PARTS`` unless set."""
        if self._max_form_parts is not None:
            return self._max_form_parts
        return _config_value("MAX_FORM_PARTS")  # type: ignore[no-any-return]

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @property
    def stream(self) -> Body:
        """The body, to stream: ``async for chunk in request.stream`` (the same object
        as ``request.body``; Quart has no stream and raises here).

        .. versionadded:: 0.20
        """
        return self.body

    @property
    async def data(self) -> bytes:
        """The body as bytes; for a form body (parsed into ``form`` and ``files``)
        empty, as in Flask and Quart."""
        return await self.get_data(as_text=False, parse_form_data=True)

    @overload
    async def get_data(
        self, cache: bool = ..., as_text: Literal[False] = ..., parse_form_data: bool = ...
    ) -> bytes: ...

    @overload
    async def get_data(
        self, cache: bool, as_text: Literal[True], parse_form_data: bool = ...
    ) -> str: ...

    @overload
    async def get_data(
        self, cache: bool = ..., *, as_text: Literal[True], parse_form_data: bool = ...
    ) -> str: ...

    @overload
    async def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> str | bytes: ...

    async def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> str | bytes:
        """The body as bytes, or text with ``as_text``; read from the client once.

        With ``parse_form_data`` a form body is parsed first (and then reads as empty,
        as in Flask). With ``cache=False`` the body is not kept: later reads give
        nothing, as in Flask and Quart.
        """
        if parse_form_data and self.mimetype in self.form_data_parser_class.mimetypes:
            await self._load_form_data()  # (other bodies have no form: nothing to parse)
        body = self._body if self._body is not None else self.body
        data = await body.read()
        if not cache:
            body.clear()
        if as_text:
            return data.decode("utf-8", "replace")
        return data

    @property
    async def form(self) -> MultiDict[str, str]:
        """The form fields of a urlencoded or multipart body (empty for other bodies)."""
        await self._load_form_data()
        assert self._form is not None
        return self._form

    @property
    async def files(self) -> MultiDict[str, FileStorage]:
        """The uploaded files of a multipart body, as ``FileStorage`` objects."""
        await self._load_form_data()
        assert self._files is not None
        return self._files

    @property
    async def values(self) -> CombinedMultiDict[str, str]:
        """Query arguments and form fields together (form omitted for GET, as in Flask)."""
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method != "GET":
            sources.append(await self.form)
        return CombinedMultiDict(sources)

    def make_form_data_parser(self) -> FormDataParser:
        """The parser for form bodies, configured with this request's limits."""
        return self.form_data_parser_class(
            max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length,
            max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class,
        )

    @cached_property
    def _parsing_lock(self) -> Any:
        """The lock that keeps concurrent readers of ``form``/``files`` to one parse: a
        ``lock_class``, made on first use (only when a form is read). Quart's name, which
        subclasses' ``_load_form_data`` use (quart-trio's, with trio's lock)."""
        return self.lock_class()

    async def _load_form_data(self) -> None:
        if self._form is not None:
            return
        async with self._parsing_lock:  # a second reader waits for the first one's parse
            if self._form is not None:
                return
            if self._form_error is not None:
                raise self._form_error.with_traceback(None)
            parser = self.make_form_data_parser()
            chunks = self.body._iterate(one_deadline=True)  # the whole form within the timeout
            form, files = await parser.parse(
                chunks, self.mimetype, self.content_length, self.mimetype_params
            )
            self._form = form
            self._files = files

    @property
    async def json(self) -> Any:
        """The body parsed as JSON (None unless the content type is JSON)."""
        return await self.get_json()

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON.

        Without ``force`` a body whose content type is not JSON gives None, as in Quart;
        invalid JSON is a 400 with the parser's reason (None with ``silent``).
        """
        if cache and self._json is not _NO_JSON:
            return self._json
        if not (force or self.is_json):
            return None
        body = self._body if self._body is not None else self.body
        data = await body.read()
        if not cache:
            body.clear()
        return self._json_from(data, silent, cache)

    async def _get_json_through_get_data(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> Any:
        """``get_json`` for a subclass that reads its body its own way in ``get_data``
        (quart-trio's, with trio's body timeout): read through it, as Quart's does."""
        if cache and self._json is not _NO_JSON:
            return self._json
        if not (force or self.is_json):
            return None
        data = await self.get_data(cache=cache)
        return self._json_from(data, silent, cache)

    def _json_from(self, data: bytes, silent: bool, cache: bool) -> Any:
        """The body ``data`` parsed as JSON, kept if ``cache``; invalid JSON is a 400
        (None if ``silent``)."""
        try:
            result = self.json_module.loads(data)
        except (ValueError, RecursionError) as error:  # too deeply nested is the client's fault
            if silent:
                return None
            return self.on_json_loading_failed(error)
        if cache:
            self._json = result
        return result

    async def _read_ahead(self) -> None:
        """Receive the body now (parsing a form), for code that reads it without
        awaiting: Flask extensions through ``quart.flask_patch`` (see
        ``Quart._read_body_first``). A request without a body is left alone.

        An HTTP error (413, 408, a malformed form) is kept and raised when the body or
        form is read, as it would be without reading ahead, so that a view that ignores
        the body answers as usual. A client that leaves ends the request at once.
        """
        if not self._has_body():
            return
        is_form = self.mimetype in self.form_data_parser_class.mimetypes
        try:
            if is_form:
                await self._load_form_data()
            else:
                await self.body.read()
        except HTTPException as error:
            if is_form:  # a refused body stays refused by itself; a bad form must be kept
                error.__context__ = error.__cause__ = None
                self._form_error = error.with_traceback(None)

    def _has_body(self) -> bool:
        """Whether the request comes with a body: HTTP/1 says so in its headers (RFC
        9112, 6.3); HTTP/2 and 3 may send one without Content-Length."""
        _, length, transfer_encoding = self._body_headers()  # without building headers
        if transfer_encoding is None and length is not None:
            return self.content_length != 0  # an invalid length is left to the body to judge
        return transfer_encoding is not None or self.http_version not in ("1.0", "1.1")

    def on_json_loading_failed(self, error: Exception | None) -> NoReturn:
        """Called when the body is not valid JSON; raises the 400 the client gets."""
        if error is None:
            raise UnsupportedMediaType("The request's Content-Type is not 'application/json'.")
        raise BadRequest(f"Failed to decode JSON object: {error}")

    async def send_push_promise(self, path: str) -> None:
        """Ask the server to push ``path`` (HTTP/2); does nothing where push is unsupported."""
        if self._send_push_promise is None:
            return
        headers = Headers()
        for name, value in self.headers.items():  # in the client's order
            if name.lower() in SERVER_PUSH_HEADERS_TO_COPY:
                headers.add(name, value)
        await self._send_push_promise(path, headers)

    async def close(self) -> None:
        """Close uploaded files' streams."""
        if self._files is not None:
            for _, storage in self._files.items(multi=True):
                storage.close()


def _config_value(key: str) -> Any:
    ctx = _cv_app.get(None)
    return None if ctx is None else ctx.app.config[key]
