"""Form and multipart parsing of request bodies, streamed, with limits.

Multipart bodies are decoded chunk by chunk with werkzeug's sans-IO ``MultipartDecoder``:
file parts go to spooled temporary files as they arrive, field values are held in memory
up to ``max_form_memory_size``, and ``max_form_parts`` bounds the number of parts. A body
that breaks a limit gets 413; a malformed one gets 400 with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import IO, Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import default_stream_factory
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from .datastructures import FileStorage

StreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]
_FEED_SIZE = 64 * 1024
FormResult = tuple[MultiDict[str, str], MultiDict[str, FileStorage]]


class FormDataParser:
    """Parses ``application/x-www-form-urlencoded`` and ``multipart/form-data`` bodies."""

    file_storage_class = FileStorage
    #: The mimetypes ``parse`` reads; any other body gives empty results.
    mimetypes = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

    def __init__(
        self,
        stream_factory: StreamFactory | None = None,
        max_form_memory_size: int | None = None,
        max_content_length: int | None = None,
        cls: type[MultiDict[Any, Any]] = MultiDict,
        silent: bool = True,
        *,
        max_form_parts: int | None = None,
    ) -> None:
        self.stream_factory: StreamFactory = stream_factory or default_stream_factory
        self.max_form_memory_size = max_form_memory_size
        self.max_content_length = max_content_length
        self.max_form_parts = max_form_parts
        self.cls = cls
        self.silent = silent

    async def parse(
        self,
        body: AsyncIterable[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> FormResult:
        """Parse ``body`` by its mimetype; other mimetypes give empty results."""
        if self.max_content_length is not None and (content_length or 0) > self.max_content_length:
            raise RequestEntityTooLarge()
        if mimetype == "application/x-www-form-urlencoded":
            return await self._parse_urlencoded(body)
        if mimetype == "multipart/form-data":
            return await self._parse_multipart(body, content_length, options or {})
        return self.cls(), self.cls()

    async def _parse_urlencoded(self, body: AsyncIterable[bytes]) -> FormResult:
        data = bytearray()
        async for chunk in body:
            data.extend(chunk)
            if self.max_form_memory_size is not None and len(data) > self.max_form_memory_size:
                raise RequestEntityTooLarge("The form data is larger than the form memory limit.")
        try:
            items = parse_qsl(
                data.decode("ascii", "werkzeug.url_quote"),
                keep_blank_values=True,
                errors="werkzeug.url_quote",
                max_num_fields=self.max_form_parts,
            )
        except ValueError as error:  # too many fields
            raise RequestEntityTooLarge("The form has too many fields.") from error
        return self.cls(items), self.cls()

    async def _parse_multipart(
        self, body: AsyncIterable[bytes], content_length: int | None, options: dict[str, str]
    ) -> FormResult:
        boundary = options.get("boundary", "").encode("ascii", "replace")
        if not boundary:
            raise BadRequest("The multipart/form-data body has no boundary parameter.")
        decoder = MultipartDecoder(
            boundary, self.max_form_memory_size, max_parts=self.max_form_parts
        )
        parser = _MultipartCollector(self, content_length)
        try:
            async for chunk in body:
                # Feed in slices that fit the decoder's buffer limit (the form memory
                # limit), so that file parts flow through and only a field or a part's
                # headers can exceed it.
                position = 0
                while position < len(chunk):
                    size = _FEED_SIZE
                    if self.max_form_memory_size is not None:
                        room = self.max_form_memory_size - len(decoder.buffer)
                        size = max(1, min(size, room))
                    decoder.receive_data(chunk[position : position + size])
                    position += size
                    parser.drain(decoder)
            decoder.receive_data(None)
            parser.drain(decoder)
        except ValueError as error:
            parser.close_files()
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error
        except BaseException:
            parser.close_files()
            raise
        if not parser.finished:
            parser.close_files()
            raise BadRequest("The multipart/form-data body ended before its closing boundary.")
        return self.cls(parser.fields), self.cls(parser.files)


class _MultipartCollector:
    """Turns decoder events into field values and file storages."""

    def __init__(self, owner: FormDataParser, content_length: int | None) -> None:
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
                content_type = event.headers.get("content-type")
                self._stream = self.owner.stream_factory(
                    self.content_length, content_type, event.filename, None
                )
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
                self.fields.append((part.name, self._decode(part.headers, bytes(self._value))))

    def _make_storage(self, part: File, stream: IO[bytes]) -> FileStorage:
        headers = Headers(part.headers)
        return self.owner.file_storage_class(
            stream,
            part.filename,
            part.name,
            headers=headers,
            content_type=headers.get("content-type"),
        )

    @staticmethod
    def _decode(headers: Headers, value: bytes) -> str:
        charset = "utf-8"
        content_type = headers.get("content-type")
        if content_type:
            charset = parse_options_header(content_type)[1].get("charset", "utf-8")
        try:
            return value.decode(charset, "replace")
        except LookupError:  # an unknown charset name from the client
            return value.decode("utf-8", "replace")

    def close_files(self) -> None:
        if self._stream is not None:
            self._stream.close()
        for _, storage in self.files:
            storage.close()
