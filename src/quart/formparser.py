"""Form and multipart parsing of request bodies, streamed, with limits.

Multipart bodies are decoded chunk by chunk with werkzeug's sans-IO ``MultipartDecoder``:
file parts go to spooled temporary files as they arrive (a small one that arrives in one
piece stays in memory), field values are held in memory up to ``max_form_memory_size``,
and ``max_form_parts`` bounds the number of parts. A body that breaks a limit gets 413; a
malformed one gets 400 with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator
from io import BytesIO
from typing import IO, Any, NoReturn, cast
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
#: Part data shorter than this is left for the decoder's regular expression to scan
#: (see ``_DecoderFeed``): below about a kilobyte that costs less than the extra
#: decoder round a cut takes.
_CUT_AFTER = 1024
#: The padding (spaces, tabs) after a delimiter looked at for a delimiter line that a
#: chunk ends inside (see ``_unfinished_line_start``); clients send none.
_PADDING_WINDOW = 64
_LINE_BREAKS = frozenset(b"\r\n")
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
    streams ``stream_factory`` makes (a file that arrives in one piece, by default, into
    a ``BytesIO``), at most ``max_form_parts`` parts."""

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
        content_type = _header_value(headers, "content-type")
        if content_type:
            charset = parse_options_header(content_type)[1].get("charset", "").lower()
            if charset in _PART_CHARSETS:
                return charset
        return "utf-8"

    def start_file_streaming(self, event: File, total_content_length: int | None) -> IO[bytes]:
        """The stream a file part is written into, made by ``stream_factory``."""
        headers = event.headers
        try:
            content_length = int(_header_value(headers, "content-length") or 0)
        except ValueError:
            content_length = 0
        return self.stream_factory(
            total_content_length,
            _header_value(headers, "content-type"),
            event.filename,
            content_length,
        )

    async def parse(
        self, body: AsyncIterable[bytes], boundary: bytes, content_length: int | None
    ) -> FormResult:
        """Parse the body's parts; a malformed body is a 400, one over a limit a 413."""
        decoder = MultipartDecoder(
            boundary, self.max_form_memory_size, max_parts=self.max_form_parts
        )
        collector = _MultipartCollector(self, content_length)
        feed = _DecoderFeed(
            decoder, collector, b"--" + boundary, self.buffer_size, self.max_form_memory_size
        )
        try:
            async for chunk in body:
                feed.add(chunk)
            feed.end()
            if not collector.finished:
                self.fail("it ended before its closing boundary")
        except ValueError as error:
            collector.close_files()
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error
        except BaseException:
            collector.close_files()
            raise
        return self.cls(collector.fields), self.cls(collector.files)


class _DecoderFeed:
    """Gives a body's chunks to werkzeug's decoder in pieces it decodes fast and right,
    handing the events of each to the collector.

    Fast: the decoder finds the end of a part's data with a regular expression searched
    from the start of its buffer, which crawls through all the data in front of the
    delimiter (``--`` and the boundary); for a 20 KB file that costs more than all the
    rest of the parse. Data with no delimiter after it goes out by a plain ``find``
    instead. So a piece ends just before any delimiter more than ``_CUT_AFTER`` bytes
    into it, and the regular expression never searches further than that.

    Right: given a delimiter line cut short just after its delimiter, werkzeug's
    decoder (3.1.9) can take the line break in front of it for part data: a stray
    ``\\r`` ends the part, or the boundary is lost (pallets/werkzeug#3285). A server
    may end a chunk anywhere, so a line that may still become a delimiter line is kept
    back until the next chunk finishes it (see ``_unfinished_line_start``).

    Pieces also stay within ``buffer_size`` and the room left under the form memory
    limit, so that file data flows through and only a field or a part's headers can
    exceed that limit.
    """

    def __init__(
        self,
        decoder: MultipartDecoder,
        collector: _MultipartCollector,
        delimiter: bytes,
        buffer_size: int,
        memory_limit: int | None,
    ) -> None:
        self.decoder = decoder
        self.collector = collector
        self.delimiter = delimiter
        self.buffer_size = buffer_size
        self.memory_limit = memory_limit
        self._kept = b""  # the start of a line that may become a delimiter line
        self._at_line_start = True  # whether what the decoder has ends in a line break

    def add(self, chunk: bytes) -> None:
        """Feed the next chunk of the body."""
        if not isinstance(chunk, bytes | bytearray):  # a memoryview: ``find`` needs bytes
            chunk = bytes(chunk)
        if self._kept:
            chunk = self._kept + chunk
        end = _unfinished_line_start(chunk, self.delimiter, self._at_line_start)
        if end:
            self._feed(chunk, end)
            self._at_line_start = end < len(chunk) or chunk[end - 1] in _LINE_BREAKS
        self._kept = chunk[end:]

    def end(self) -> None:
        """Feed what was kept back and the end of the body."""
        if self._kept:
            self._feed(self._kept, len(self._kept))
        self.decoder.receive_data(None)
        self.collector.drain(self.decoder)

    def _feed(self, chunk: bytes, size: int) -> None:
        """Give ``chunk[:size]`` to the decoder piece by piece, draining events after each."""
        decoder = self.decoder
        step = self.buffer_size
        limit = self.memory_limit
        position = 0
        next_cut = -1
        with memoryview(chunk) as view:  # pieces are views: no copies before the decoder's
            while position < size:
                if next_cut <= position:
                    next_cut = chunk.find(self.delimiter, position + _CUT_AFTER, size)
                    if next_cut == -1:
                        next_cut = size
                end = min(next_cut, position + step)
                if limit is not None:
                    end = min(end, position + max(1, limit - len(decoder.buffer)))
                # The decoder only measures and copies what it receives: a view will do.
                decoder.receive_data(cast(bytes, view[position:end]))
                position = end
                self.collector.drain(decoder)


def _unfinished_line_start(data: bytes, delimiter: bytes, at_line_start: bool) -> int:
    """Where the last line of ``data`` starts if it may be a delimiter line that later
    bytes finish (a beginning of the delimiter, or all of it followed by a ``-`` or
    padding), else ``len(data)``. ``at_line_start`` says whether the bytes before
    ``data`` ended with a line break."""
    size = len(data)
    if not size or data[-1] in _LINE_BREAKS:  # the usual end of a body: no line begun
        return size
    window = len(delimiter) + _PADDING_WINDOW
    start = max(0, size - window)
    line_break = max(data.rfind(b"\n", start), data.rfind(b"\r", start))
    if line_break != -1:
        start = line_break + 1
    elif not (at_line_start and size <= window):
        return size  # a line too long, or one that began as something else
    line = data[start:]
    if delimiter.startswith(line):
        return start
    after = line[len(delimiter) :]
    if line.startswith(delimiter) and (after == b"-" or not after.strip(b" \t")):
        return start
    return size


def _header_value(headers: Headers, name: str) -> str | None:
    """The value of the header ``name`` (lower case), or None: ``headers.get(name)``
    without the exception ``Headers`` raises and catches inside for a missing name,
    which costs more than a part's headers have entries to look through."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class _MultipartCollector:
    """Turns decoder events into field values and file storages.

    A field's value is held until the field ends (within the form memory limit): the
    piece the decoder gave if there is only one (the usual case), else a bytearray.

    A file is written, as it arrives, to the stream ``start_file_streaming`` makes
    (werkzeug's spooled temporary file, by default). Except that when the default is
    in use, the file's data is held back until a second piece comes: a file that ends
    within its first piece becomes a ``BytesIO`` over that piece, neither copied nor
    wrapped. A piece is at most ``buffer_size`` (64 KiB), well within the 500 KiB the
    spooled file would have kept in memory anyway.
    """

    def __init__(self, owner: MultiPartParser, content_length: int | None) -> None:
        self.owner = owner
        self.content_length = content_length
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.finished = False
        self._part: Field | File | None = None
        self._held: bytes | bytearray | None = None
        self._stream: IO[bytes] | None = None
        self._memory_limit = owner.max_form_memory_size
        self._files_in_memory = (
            owner.stream_factory is default_stream_factory
            and type(owner).start_file_streaming is MultiPartParser.start_file_streaming
        )

    def drain(self, decoder: MultipartDecoder) -> None:
        """Handle the events of what the decoder has received so far."""
        while True:
            event = decoder.next_event()
            if isinstance(event, Data):
                self._on_data(event)
            elif isinstance(event, NeedData):
                return
            elif isinstance(event, File):
                self._part = event
                if not self._files_in_memory:
                    self._stream = self.owner.start_file_streaming(event, self.content_length)
            elif isinstance(event, Field):
                self._part = event
            elif isinstance(event, Epilogue):
                self.finished = True
                return

    def _on_data(self, event: Data) -> None:
        data = event.data
        if data:
            if self._stream is not None:
                self._stream.write(data)
            elif self._held is None:
                self._held = data
            else:
                self._add(data)
            part = self._part
            limit = self._memory_limit
            if (
                limit is not None
                and isinstance(part, Field)
                and self._held is not None
                and len(self._held) > limit
            ):
                raise RequestEntityTooLarge(
                    f"The form field {part.name!r} is larger than the form memory limit."
                )
        if not event.more_data:
            self._end_part()

    def _add(self, data: bytes) -> None:
        """A further piece of the part: a field's joins its value; a file's means the
        file goes to the stream ``start_file_streaming`` makes, from its start."""
        held = self._held
        assert held is not None
        part = self._part
        if isinstance(part, File):
            stream = self._stream = self.owner.start_file_streaming(part, self.content_length)
            stream.write(held)
            stream.write(data)
            self._held = None
            return
        if not isinstance(held, bytearray):
            held = self._held = bytearray(held)
        held += data

    def _end_part(self) -> None:
        part = self._part
        held = self._held
        if isinstance(part, Field):
            value = b"" if held is None else held
            charset = self.owner.get_part_charset(part.headers)
            self.fields.append((part.name, value.decode(charset, "replace")))
        elif isinstance(part, File):
            stream = self._stream
            if stream is None:  # held in memory: shared with the BytesIO, not copied
                stream = BytesIO() if held is None else BytesIO(held)
            else:
                stream.seek(0)
            storage = self.owner.file_storage_cls(
                stream, part.filename, part.name, headers=part.headers
            )
            self.files.append((part.name, storage))
        self._part = self._stream = self._held = None

    def close_files(self) -> None:
        if self._stream is not None:
            self._stream.close()
        for _, storage in self.files:
            storage.close()
