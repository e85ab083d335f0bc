"""Form and multipart parsing of request bodies, streamed, with limits.

Multipart bodies are decoded chunk by chunk with werkzeug's sans-IO ``MultipartDecoder``:
file parts go to spooled temporary files as they arrive, field values are held in memory
up to ``max_form_memory_size``, and ``max_form_parts`` bounds the number of parts. A body
that breaks a limit gets 413; a malformed one gets 400 with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator
from typing import IO, Any, NoReturn
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import default_stream_factory
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .datastructures import FileStorage

StreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]
FormResult = tuple[MultiDict[str, str], MultiDict[str, FileStorage]]
#: A parse function, as ``FormDataParser.parse_functions`` holds them: called with the
#: parser, the body (iterate it with ``async for`` or ``await`` it whole), the mimetype,
#: the content length and the mimetype's options.
ParserFunc = Callable[
    ["FormDataParser", Any, str, "int | None", dict[str, str]],
    Awaitable[tuple[MultiDict[Any, Any], MultiDict[Any, Any]]],
]
_FEED_SIZE = 64 * 1024
#: The charsets a form part may declare; any other is read as UTF-8 (as werkzeug does).
_PART_CHARSETS = frozenset({"ascii", "us-ascii", "utf-8", "iso-8859-1"})


class _Chunks:
    """A body given as chunks, usable both ways a parse function may read a body:
    ``async for chunk in body`` or ``await body`` for all of it (like ``Body``)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks.__aiter__()

    def __await__(self) -> Generator[Any, None, bytes]:
        return self._read().__await__()

    async def _read(self) -> bytes:
        data = bytearray()
        async for chunk in self._chunks:
            data.extend(chunk)
        return bytes(data)


async def _parse_urlencoded(
    parser: FormDataParser,
    body: AsyncIterable[bytes],
    mimetype: str,
    content_length: int | None,
    options: dict[str, str],
) -> FormResult:
    data = bytearray()
    async for chunk in body:
        data.extend(chunk)
        if parser.max_form_memory_size is not None and len(data) > parser.max_form_memory_size:
            raise RequestEntityTooLarge("The form data is larger than the form memory limit.")
    try:
        items = parse_qsl(
            data.decode("ascii", "werkzeug.url_quote"),
            keep_blank_values=True,
            errors="werkzeug.url_quote",
            max_num_fields=parser.max_form_parts,
        )
    except ValueError as error:  # too many fields
        raise RequestEntityTooLarge("The form has too many fields.") from error
    return parser.cls(items), parser.cls()


async def _parse_multipart(
    parser: FormDataParser,
    body: AsyncIterable[bytes],
    mimetype: str,
    content_length: int | None,
    options: dict[str, str],
) -> FormResult:
    boundary = options.get("boundary", "").encode("ascii", "replace")
    if not boundary:
        raise BadRequest("The multipart/form-data body has no boundary parameter.")
    multipart = MultiPartParser(
        cls=parser.cls,
        file_storage_cls=parser.file_storage_class,
        max_content_length=parser.max_content_length,
        max_form_memory_size=parser.max_form_memory_size,
        max_form_parts=parser.max_form_parts,
        stream_factory=parser.stream_factory,
    )
    return await multipart.parse(body, boundary, content_length)


class FormDataParser:
    """Parses ``application/x-www-form-urlencoded`` and ``multipart/form-data`` bodies.

    The function for each mimetype is looked up in ``parse_functions`` (through
    ``get_parse_func``): a subclass adds or replaces entries to read other kinds of body.
    """

    file_storage_class = FileStorage
    #: The parse function for each mimetype. A ``ValueError`` from one gives empty results
    #: when the parser is ``silent``; the built-in ones answer bad input with a 400 or 413.
    parse_functions: dict[str, ParserFunc] = {
        "multipart/form-data": _parse_multipart,
        "application/x-www-form-urlencoded": _parse_urlencoded,
        "application/x-url-encoded": _parse_urlencoded,
    }
    #: The mimetypes the built-in parse functions read.
    mimetypes = frozenset(parse_functions)

    def __init__(
        self,
        *,
        cls: type[MultiDict[Any, Any]] | None = MultiDict,
        max_content_length: int | None = None,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
        silent: bool = True,
        stream_factory: StreamFactory = default_stream_factory,
    ) -> None:
        self.cls: type[MultiDict[Any, Any]] = MultiDict if cls is None else cls
        self.max_content_length = max_content_length
        self.max_form_memory_size = max_form_memory_size
        self.max_form_parts = max_form_parts
        self.silent = silent
        self.stream_factory: StreamFactory = stream_factory

    def get_parse_func(self, mimetype: str, options: dict[str, str]) -> ParserFunc | None:
        """The function that parses bodies of ``mimetype``, or None to give empty results."""
        return self.parse_functions.get(mimetype)

    async def parse(
        self,
        body: AsyncIterable[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> FormResult:
        """Parse ``body`` by its mimetype; a mimetype with no parse function gives empty
        results."""
        if self.max_content_length is not None and (content_length or 0) > self.max_content_length:
            raise RequestEntityTooLarge()
        if options is None:
            options = {}
        parse_func = self.get_parse_func(mimetype, options)
        if parse_func is not None:
            if not hasattr(body, "__await__"):
                body = _Chunks(body)
            try:
                return await parse_func(self, body, mimetype, content_length, options)
            except ValueError:
                if not self.silent:
                    raise
        return self.cls(), self.cls()


class MultiPartParser:
    """Decodes a ``multipart/form-data`` body as it arrives, with werkzeug's sans-IO
    decoder: fields into memory (up to ``max_form_memory_size`` each), files into the
    streams ``stream_factory`` makes, at most ``max_form_parts`` parts."""

    def __init__(
        self,
        *,
        buffer_size: int = _FEED_SIZE,
        cls: type[MultiDict[Any, Any]] = MultiDict,
        file_storage_cls: type[FileStorage] = FileStorage,
        max_content_length: int | None = None,
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
        stream_factory: StreamFactory = default_stream_factory,
    ) -> None:
        self.buffer_size = buffer_size
        self.cls = cls
        self.file_storage_cls = file_storage_cls
        self.max_content_length = max_content_length
        self.max_form_memory_size = max_form_memory_size
        self.max_form_parts = max_form_parts
        self.stream_factory = stream_factory

    def fail(self, message: str) -> NoReturn:
        """Stop parsing: the body is malformed (``parse`` answers it with a 400 that
        gives ``message``)."""
        raise ValueError(message)

    def get_part_charset(self, headers: Headers) -> str:
        """The charset of a field: the part's declared one if it is a safe one, else UTF-8."""
        content_type = headers.get("content-type")
        if content_type:
            charset = parse_options_header(content_type)[1].get("charset", "").lower()
            if charset in _PART_CHARSETS:
                return charset
        return "utf-8"

    def start_file_streaming(self, event: File, total_content_length: int | None) -> IO[bytes]:
        """The stream a file part is written into, made by ``stream_factory``."""
        try:
            content_length = int(event.headers["content-length"])
        except (KeyError, ValueError):
            content_length = 0
        return self.stream_factory(
            total_content_length, event.headers.get("content-type"), event.filename, content_length
        )

    async def parse(
        self, body: AsyncIterable[bytes], boundary: bytes, content_length: int | None
    ) -> FormResult:
        """Parse the body's parts; a malformed body is a 400, one over a limit a 413."""
        decoder = MultipartDecoder(
            boundary, self.max_form_memory_size, max_parts=self.max_form_parts
        )
        collector = _MultipartCollector(self, content_length)
        try:
            async for chunk in body:
                # Feed in slices that fit the decoder's buffer limit (the form memory
                # limit), so that file parts flow through and only a field or a part's
                # headers can exceed it.
                position = 0
                while position < len(chunk):
                    size = self.buffer_size
                    if self.max_form_memory_size is not None:
                        room = self.max_form_memory_size - len(decoder.buffer)
                        size = max(1, min(size, room))
                    decoder.receive_data(chunk[position : position + size])
                    position += size
                    collector.drain(decoder)
            decoder.receive_data(None)
            collector.drain(decoder)
            if not collector.finished:
                self.fail("it ended before its closing boundary")
        except ValueError as error:
            collector.close_files()
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error
        except BaseException:
            collector.close_files()
            raise
        return self.cls(collector.fields), self.cls(collector.files)


class _MultipartCollector:
    """Turns decoder events into field values and file storages."""

    def __init__(self, owner: MultiPartParser, content_length: int | None) -> None:
        self.owner = owner
        self.content_length = content_length
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.finished = False
        self._part: Field | File | None = None
        self._value = bytearray()
        self._stream: IO[bytes] | None = None

    def drain(self, decoder: MultipartDecoder) -> None:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                return
            if isinstance(event, Epilogue):
                self.finished = True
                return
            if isinstance(event, File):
                self._part = event
                self._stream = self.owner.start_file_streaming(event, self.content_length)
            elif isinstance(event, Field):
                self._part = event
                self._value = bytearray()
            elif isinstance(event, Data):
                self._on_data(event)

    def _on_data(self, event: Data) -> None:
        part = self._part
        if isinstance(part, File):
            assert self._stream is not None
            self._stream.write(event.data)
            if not event.more_data:
                self._stream.seek(0)
                self.files.append((part.name, self._make_storage(part, self._stream)))
                self._stream = None
        elif isinstance(part, Field):
            self._value.extend(event.data)
            limit = self.owner.max_form_memory_size
            if limit is not None and len(self._value) > limit:
                raise RequestEntityTooLarge(
                    f"The form field {part.name!r} is larger than the form memory limit."
                )
            if not event.more_data:
                charset = self.owner.get_part_charset(part.headers)
                self.fields.append((part.name, bytes(self._value).decode(charset, "replace")))

    def _make_storage(self, part: File, stream: IO[bytes]) -> FileStorage:
        headers = Headers(part.headers)
        return self.owner.file_storage_cls(
            stream,
            part.filename,
            part.name,
            headers=headers,
            content_type=headers.get("content-type"),
        )

    def close_files(self) -> None:
        if self._stream is not None:
            self._stream.close()
        for _, storage in self.files:
            storage.close()
