"""Form and multipart parsing of request bodies, streamed, with limits.

Multipart bodies are decoded chunk by chunk as they arrive with python-multipart's
streaming ``MultipartParser`` (the parser under Starlette and FastAPI): it finds
boundaries with plain byte searches, so a client's fresh random boundary per request costs
nothing to prepare (werkzeug's decoder compiles two regular expressions for each one).
Part headers are read with werkzeug's helpers, as werkzeug reads them. File parts go to
spooled temporary files as they arrive (a small one that arrives in one piece stays in
memory), field values are held in memory up to ``max_form_memory_size``, and
``max_form_parts`` bounds the number of parts. A body that breaks a limit gets 413; a
malformed one gets 400 with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator
from functools import lru_cache
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser as _StreamingParser
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import default_stream_factory
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import File

from .datastructures import FileStorage

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

StreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]
FormResult = tuple[MultiDict[str, str], MultiDict[str, FileStorage]]
#: A parse function, as ``FormDataParser.parse_functions`` holds them: called with the
#: parser, the body (iterate it with ``async for`` or ``await`` it whole), the mimetype,
#: the content length and the mimetype's options.
ParserFunc = Callable[
    ["FormDataParser", Any, str, "int | None", dict[str, str]],
    Awaitable[tuple[MultiDict[Any, Any], MultiDict[Any, Any]]],
]
#: The largest piece of a file that is kept in memory when the whole file arrives in it.
_FEED_SIZE = 64 * 1024
#: Content-Disposition values up to this long have their names cached (see ``_part_names``).
_CACHED_DISPOSITION_LENGTH = 256
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
    """Decodes a ``multipart/form-data`` body as it arrives, with python-multipart's
    streaming parser: fields into memory (up to ``max_form_memory_size`` each), files
    into the streams ``stream_factory`` makes (a file that arrives in one piece of at
    most ``buffer_size`` bytes, by default, into a ``BytesIO``), at most
    ``max_form_parts`` parts."""

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
        try:
            reader = _PartReader(self, boundary, content_length)
        except ValueError as error:  # a boundary python-multipart refuses (over 256 bytes)
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error
        try:
            async for chunk in body:
                reader.write(chunk)
            if not reader.finished:
                if not reader.started:
                    self.fail("its boundary never appears in it")
                self.fail("it ended before its closing boundary")
        except ValueError as error:
            reader.close_files()
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error
        except BaseException:
            reader.close_files()
            raise
        return self.cls(reader.fields), self.cls(reader.files)


class _PartReader:
    """Feeds a body's chunks to python-multipart's parser and turns what it reports into
    field values and file storages.

    The parser wants the body to begin with the first delimiter, so the bytes before it
    (a preamble, RFC 2046 5.1.1, which werkzeug also skips) are dropped here; those after
    the closing delimiter (an epilogue) are never given to it.

    Part headers are collected as the parser reports them and read as werkzeug's decoder
    reads them: UTF-8, values stripped, ``Content-Disposition`` required and parsed by
    ``werkzeug.http.parse_options_header`` (so ``filename*`` is understood as werkzeug
    understands it). Their size counts against the form memory limit.

    A field's value is held until the field ends, within the form memory limit. A file
    is written, as it arrives, to the stream ``start_file_streaming`` makes (werkzeug's
    spooled temporary file, by default). Except that when the default is in use, the
    file's data is held back until a second piece comes: a file that ends within its
    first piece (of at most ``buffer_size`` bytes) becomes a ``BytesIO`` over that piece.
    """

    def __init__(self, owner: MultiPartParser, boundary: bytes, content_length: int | None) -> None:
        self.owner = owner
        self.content_length = content_length
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.finished = False
        self._delimiter = b"--" + boundary
        #: The end of what came before the first delimiter (which it may begin), or None
        #: once the delimiter has come.
        self._preamble: bytes | None = b""
        self._memory_limit = owner.max_form_memory_size
        self._files_in_memory = (
            owner.stream_factory is default_stream_factory
            and type(owner).start_file_streaming is MultiPartParser.start_file_streaming
        )
        # The part being read: its headers as they come, then its name, filename (None
        # for a field), headers and the data held so far.
        self._header_lines: list[tuple[str, str]] = []
        self._header_name = b""
        self._header_value = b""
        self._header_size = 0
        self._parts = 0
        self._name = ""
        self._filename: str | None = None
        self._headers = Headers()
        self._held: bytes | bytearray | None = None
        self._stream: IO[bytes] | None = None
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        self._parser = _StreamingParser(boundary, callbacks)

    @property
    def started(self) -> bool:
        """Whether the first delimiter has come."""
        return self._preamble is None

    def write(self, chunk: bytes) -> None:
        """Parse the next chunk of the body."""
        if self.finished:
            return  # the epilogue
        if type(chunk) is not bytes:  # a memoryview has no ``find``; held pieces are bytes
            chunk = bytes(chunk)
        if self._preamble is not None:
            chunk = self._skip_preamble(chunk)
            if not chunk:
                return
        self._parser.write(chunk)

    def _skip_preamble(self, chunk: bytes) -> bytes:
        """``chunk`` from the first delimiter on, or nothing while it has not come (the
        end of what came is kept: it may be the delimiter's beginning)."""
        assert self._preamble is not None
        data = self._preamble + chunk
        start = data.find(self._delimiter)
        if start == -1:
            self._preamble = data[1 - len(self._delimiter) :]
            return b""
        self._preamble = None
        return data[start:]

    def _on_part_begin(self) -> None:
        self._header_lines = []
        self._header_size = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _count_header_bytes(self, size: int) -> None:
        self._header_size += size
        limit = self._memory_limit
        if limit is not None and self._header_size > limit:
            raise RequestEntityTooLarge(
                "The headers of a form part are larger than the form memory limit."
            )

    def _on_header_end(self) -> None:
        try:
            name = self._header_name.decode()
            value = self._header_value.decode()
        except UnicodeDecodeError:
            self.owner.fail("a part's header is not UTF-8")
        self._header_lines.append((name, value.strip(" \t")))
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        lines = self._header_lines
        disposition = next(
            (value for name, value in lines if name.lower() == "content-disposition"), None
        )
        if disposition is None:
            self.owner.fail("a part has no Content-Disposition header")
        self._parts += 1
        limit = self.owner.max_form_parts
        if limit is not None and self._parts > limit:
            raise RequestEntityTooLarge("The form has too many parts.")
        name, self._filename = _part_names(disposition)
        self._name = cast(str, name)  # a part without one is kept under None, as in werkzeug
        headers = self._headers = Headers()
        for key, value in lines:  # costs less than ``Headers(lines)``, which checks its input
            headers.add(key, value)
        if self._filename is not None and not self._files_in_memory:
            self._stream = self._start_file()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        stream = self._stream
        if stream is not None:
            stream.write(data[start:end])
            return
        held = self._held
        if self._filename is not None:  # a file, held while it comes in one piece
            if held is None and end - start <= self.owner.buffer_size:
                self._held = data[start:end]
                return
            stream = self._stream = self._start_file()
            if held is not None:
                stream.write(held)
                self._held = None
            stream.write(data[start:end])
            return
        limit = self._memory_limit
        if limit is not None and end - start + (0 if held is None else len(held)) > limit:
            raise RequestEntityTooLarge(
                f"The form field {self._name!r} is larger than the form memory limit."
            )
        if held is None:
            self._held = data[start:end]
        else:
            if not isinstance(held, bytearray):
                held = self._held = bytearray(held)
            held += data[start:end]

    def _on_part_end(self) -> None:
        held = self._held
        if self._filename is None:
            value = b"" if held is None else held
            charset = self.owner.get_part_charset(self._headers)
            self.fields.append((self._name, value.decode(charset, "replace")))
        else:
            stream = self._stream
            if stream is None:  # held in memory: shared with the BytesIO, not copied
                stream = BytesIO() if held is None else BytesIO(held)
            else:
                stream.seek(0)
            storage = self.owner.file_storage_cls(
                stream, self._filename, self._name, headers=self._headers
            )
            self.files.append((self._name, storage))
        self._stream = self._held = None

    def _on_end(self) -> None:
        self.finished = True

    def _start_file(self) -> IO[bytes]:
        """The stream for the current file part, from ``start_file_streaming``."""
        event = File(name=self._name, filename=cast(str, self._filename), headers=self._headers)
        return self.owner.start_file_streaming(event, self.content_length)

    def close_files(self) -> None:
        if self._stream is not None:
            self._stream.close()
        for _, storage in self.files:
            storage.close()


def _read_part_names(disposition: str) -> tuple[str | None, str | None]:
    """The name and filename (None where missing) a part's Content-Disposition gives."""
    options = parse_options_header(disposition)[1]
    return options.get("name"), options.get("filename")


_cached_part_names = lru_cache(maxsize=256)(_read_part_names)


def _part_names(disposition: str) -> tuple[str | None, str | None]:
    """``_read_part_names``, remembered for short values: a form sends the same
    dispositions request after request, and reading one costs more than all the rest of
    a small part's parse. Long values are read each time, so the cache stays small."""
    if len(disposition) > _CACHED_DISPOSITION_LENGTH:
        return _read_part_names(disposition)
    return _cached_part_names(disposition)


def _header_value(headers: Headers, name: str) -> str | None:
    """The value of the header ``name`` (lower case), or None: ``headers.get(name)``
    without the exception ``Headers`` raises and catches inside for a missing name,
    which costs more than a part's headers have entries to look through."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
