"""Multipart parsing gives the same form and files however the body is cut and whichever
path a part takes.

The parser feeds werkzeug's decoder in pieces cut before delimiters, and keeps a file that
arrives in one piece in memory instead of in the default spooled file. Here every body is
parsed fed whole, byte by byte and in other chunkings, with the default stream and with a
replaced one, and compared with werkzeug's own parser reading it from a file.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from io import BytesIO
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser as WerkzeugMultiPartParser
from werkzeug.formparser import default_stream_factory

from quart import Quart, request
from quart.formparser import FormDataParser, MultiPartParser

BOUNDARY = "b0und4ry-X"
Part = tuple[str, str | None, bytes, list[tuple[str, str]]]
"""A part as built here: name, filename (None for a field), data, extra headers."""
Snapshot = tuple[list[tuple[str, str]], list[tuple[str, str | None, list[tuple[str, str]], bytes]]]


def build(
    parts: list[Part],
    *,
    boundary: str = BOUNDARY,
    newline: bytes = b"\r\n",
    preamble: bytes = b"",
    epilogue: bytes = b"",
) -> bytes:
    """A multipart/form-data body written out by hand, so that its bytes are exactly
    what each case needs (line breaks, preamble, headers)."""
    out = bytearray(preamble)
    for name, filename, data, headers in parts:
        out += b"--" + boundary.encode() + newline
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + newline
        for key, value in headers:
            out += f"{key}: {value}".encode("latin-1") + newline
        out += newline + data + newline
    out += b"--" + boundary.encode() + b"--" + newline + epilogue
    return bytes(out)


def cut(body: bytes, sizes: list[int]) -> list[bytes]:
    """The body in chunks of the given sizes, the last size repeated to the end."""
    chunks, position, index = [], 0, 0
    while position < len(body):
        size = sizes[min(index, len(sizes) - 1)]
        chunks.append(body[position : position + size])
        position += size
        index += 1
    return chunks


async def stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def snapshot(form: MultiDict[str, str], files: MultiDict[str, Any]) -> Snapshot:
    """Everything a view can see of the parse, files read to the end (then closed)."""
    seen = []
    for name, storage in files.items(multi=True):
        seen.append((name, storage.filename, list(storage.headers.items()), storage.read()))
        storage.close()
    return list(form.items(multi=True)), seen


def reference(body: bytes, boundary: str = BOUNDARY) -> Snapshot:
    """What werkzeug's own parser, reading the body from a file, makes of it."""
    parser = WerkzeugMultiPartParser(max_form_parts=1000)
    form, files = parser.parse(BytesIO(body), boundary.encode(), len(body))
    return snapshot(form, files)


def spooled(
    total: int | None, content_type: str | None, filename: str | None, length: int | None
) -> IO[bytes]:
    """The default stream, through a different function: the parser then streams every
    file to it (the plain path), as it does for any replaced factory."""
    return default_stream_factory(total, content_type, filename, length)


async def parse(
    chunks: list[bytes],
    *,
    boundary: str = BOUNDARY,
    stream_factory: Callable[..., IO[bytes]] = default_stream_factory,
    max_form_memory_size: int | None = 500_000,
    max_form_parts: int | None = 1000,
) -> tuple[MultiDict[str, str], MultiDict[str, Any]]:
    parser = FormDataParser(
        stream_factory=stream_factory,
        max_form_memory_size=max_form_memory_size,
        max_form_parts=max_form_parts,
    )
    body = b"".join(chunks)
    return await parser.parse(
        stream(chunks), "multipart/form-data", len(body), {"boundary": boundary}
    )


FILE_20K = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 600)[: 20 * 1024]
CASES: dict[str, bytes] = {
    "field and 20 KB file": build(
        [
            ("text", None, b"hello multipart", []),
            ("file", "data.bin", FILE_20K, [("Content-Type", "application/octet-stream")]),
        ]
    ),
    "empty field and empty file": build(
        [("empty", None, b"", []), ("nothing", "none.txt", b"", [("Content-Type", "text/plain")])]
    ),
    "many small fields": build([(f"k{index}", None, b"v" * index, []) for index in range(60)]),
    "line breaks and dashes in the data": build(
        [
            ("a", None, b"\r\n--\r\n-\r\r\n\n--" + BOUNDARY[:-1].encode() + b"\r\n", []),
            ("f", "x.bin", b"\r\n--" + BOUNDARY[:5].encode() + b"\r" * 3000 + b"\n", []),
        ]
    ),
    "the boundary inside data without a line break before it": build(
        [
            ("f", "x.bin", b"z" * 3000 + b"x--" + BOUNDARY.encode() + b"y" * 3000, []),
            ("g", None, b"a--" + BOUNDARY.encode() + b"--", []),
        ]
    ),
    "data on both sides of the cut threshold": build(
        [(f"s{size}", "s.bin", b"q" * size, []) for size in (1000, 1023, 1024, 1025, 1100)]
        + [(f"t{size}", None, b"q" * size, []) for size in (1000, 1024, 1030)]
    ),
    "a file larger than one piece": build(
        [("big", "big.bin", bytes(range(256)) * 800, []), ("after", None, b"ok", [])]
    ),
    "preamble, epilogue and bare line feeds": build(
        [("a", None, b"1", []), ("f", "f.txt", b"line\nline\n", [])],
        newline=b"\n",
        preamble=b"This is the preamble.\n",
        epilogue=b"This is the epilogue.\n",
    ),
    "charsets and header continuations": build(
        [
            (
                "latin",
                None,
                "Zoë".encode("latin-1"),
                [("Content-Type", "text/plain; charset=latin1")],
            ),
            (
                "iso",
                None,
                "Zoë".encode("latin-1"),
                [("Content-Type", "text/plain; charset=iso-8859-1")],
            ),
            ("odd", None, "é".encode(), [("Content-Type", "text/plain; charset=utf-16")]),
            ("bad", None, b"\xff\xfe", []),
            ("cont", "c.txt", b"data", [("X-Long", "first\r\n second")]),
        ]
    ),
}
CHUNKINGS: dict[str, list[int]] = {
    "whole": [1 << 30],
    "byte by byte": [1],
    "7 bytes": [7],
    "1000 bytes": [1000],
    "4 KiB": [4096],
    "64 KiB + 1": [65537],
    "uneven": [3, 1, 4096, 2, 50_000, 13],
}


def test_the_cases_are_valid_for_werkzeug() -> None:
    # The reference must parse every case: they are all well-formed.
    for name, body in CASES.items():
        form, files = reference(body)
        assert form or files, name


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("case", list(CASES))
async def test_every_chunking_gives_werkzeugs_result(case: str, chunking: str) -> None:
    body = CASES[case]
    sizes = CHUNKINGS[chunking]
    if sizes == [1] and len(body) > 30_000:
        sizes = [1] * 30_000 + [4096]  # byte by byte through the first parts, then on
    expected = reference(body)
    assert snapshot(*await parse(cut(body, sizes))) == expected
    assert snapshot(*await parse(cut(body, sizes), stream_factory=spooled)) == expected


async def test_a_body_split_in_two_anywhere_gives_werkzeugs_result() -> None:
    # Every place a server could end the first chunk: inside a line break, a delimiter,
    # the closing "--", a part's headers.
    body = build(
        [
            ("a", None, b"1", []),
            ("f", "f.bin", b"x\r", [("Content-Type", "text/plain")]),
            ("b", None, b"", []),
        ]
    )
    expected = reference(body)
    for split in range(1, len(body)):
        chunks = [body[:split], body[split:]]
        assert snapshot(*await parse(chunks)) == expected, split
        assert snapshot(*await parse(chunks, stream_factory=spooled)) == expected, split


async def test_a_file_that_arrives_in_one_piece_is_kept_in_memory() -> None:
    body = CASES["field and 20 KB file"]
    _, files = await parse([body])
    assert type(files["file"].stream) is BytesIO
    assert files["file"].read() == FILE_20K
    # Fed in several pieces, it goes to the default spooled file, as in werkzeug.
    _, files = await parse(cut(body, [4096]))
    assert isinstance(files["file"].stream, SpooledTemporaryFile)
    assert files["file"].read() == FILE_20K
    files["file"].close()
    # So does any file when the stream is made by another function.
    _, files = await parse([body], stream_factory=spooled)
    assert isinstance(files["file"].stream, SpooledTemporaryFile)
    files["file"].close()


async def test_a_replaced_stream_factory_is_called_at_each_file_start() -> None:
    made: list[tuple[Any, ...]] = []

    def factory(total: Any, content_type: Any, filename: Any, length: Any) -> BytesIO:
        made.append((total, content_type, filename, length))
        return BytesIO()

    body = build(
        [
            ("a", "a.txt", b"alpha", [("Content-Type", "text/plain"), ("Content-Length", "5")]),
            ("field", None, b"v", []),
            ("b", "b.bin", b"", []),
            ("c", "c.bin", b"c", [("Content-Length", "not a number")]),
        ]
    )
    for chunks in ([body], cut(body, [1])):
        made.clear()
        form, files = await parse(chunks, stream_factory=factory)
        assert made == [
            (len(body), "text/plain", "a.txt", 5),
            (len(body), None, "b.bin", 0),
            (len(body), None, "c.bin", 0),
        ]
        assert form["field"] == "v"
        assert [storage.read() for storage in files.values()] == [b"alpha", b"", b"c"]


async def test_a_subclass_start_file_streaming_is_used_for_every_file() -> None:
    streams: list[BytesIO] = []

    class Recording(MultiPartParser):
        def start_file_streaming(self, event: Any, total_content_length: int | None) -> IO[bytes]:
            streams.append(BytesIO())
            return streams[-1]

    body = CASES["field and 20 KB file"]
    form, files = await Recording().parse(stream([body]), BOUNDARY.encode(), len(body))
    assert form["text"] == "hello multipart"
    assert files["file"].stream is streams[0]
    assert files["file"].read() == FILE_20K


@pytest.mark.parametrize("chunking", ["whole", "byte by byte", "7 bytes", "uneven"])
async def test_the_form_memory_limit_holds_for_every_chunking(chunking: str) -> None:
    sizes = CHUNKINGS[chunking]
    at_limit = build([("a", None, b"y" * 100, []), ("f", "f.bin", b"z" * 5000, [])])
    form, files = await parse(cut(at_limit, sizes), max_form_memory_size=100)
    assert form["a"] == "y" * 100  # a field of exactly the limit is fine; files don't count
    assert files["f"].read() == b"z" * 5000
    files["f"].close()
    over = build([("a", None, b"y" * 101, [])])
    with pytest.raises(RequestEntityTooLarge):
        await parse(cut(over, sizes), max_form_memory_size=100)
    long_headers = build([("a", "f.bin", b"", [("X-Padding", "p" * 300)])])
    with pytest.raises(RequestEntityTooLarge):
        await parse(cut(long_headers, sizes), max_form_memory_size=100)


@pytest.mark.parametrize("chunking", ["whole", "byte by byte", "uneven"])
async def test_the_parts_limit_holds_for_every_chunking(chunking: str) -> None:
    sizes = CHUNKINGS[chunking]
    body = build([(f"k{index}", None, b"v", []) for index in range(5)])
    form, _ = await parse(cut(body, sizes), max_form_parts=5)
    assert len(form) == 5
    with pytest.raises(RequestEntityTooLarge):
        await parse(cut(body, sizes), max_form_parts=4)


MALFORMED = {
    "no closing boundary": build([("a", None, b"1", [])])[: -len(f"--{BOUNDARY}--\r\n")],
    "cut inside a file": CASES["field and 20 KB file"][:15_000],
    "no content disposition": (
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    ),
    "headers never end": f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=a".encode(),
    "no boundary at all": b"just some bytes\r\n" * 200,
}


@pytest.mark.parametrize("chunking", ["whole", "byte by byte", "uneven"])
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_body_is_a_400_for_every_chunking(case: str, chunking: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await parse(cut(MALFORMED[case], CHUNKINGS[chunking]))
    assert caught.value.code == 400


async def test_chunks_of_other_bytes_types_are_read() -> None:
    body = CASES["field and 20 KB file"]
    for kind in (bytearray, memoryview):
        chunks: list[Any] = [kind(chunk) for chunk in cut(body, [5000])]
        assert snapshot(*await parse(chunks)) == reference(body)


# Generated bodies: data rich in line breaks, dashes and pieces of the boundary.

DATA_PIECES = [
    b"\r",
    b"\n",
    b"\r\n",
    b"-",
    b"--",
    b"x",
    b"\x00",
    BOUNDARY[:4].encode(),
    BOUNDARY.encode(),
]
DATA = st.one_of(
    st.lists(st.sampled_from(DATA_PIECES), max_size=40).map(b"".join),
    st.binary(max_size=3000),
    st.integers(min_value=0, max_value=70_000).map(lambda size: b"d" * size),
)
PART = st.tuples(
    st.text(alphabet="abcxyz_", min_size=1, max_size=6),
    st.none() | st.text(alphabet="abc.txt", min_size=1, max_size=8),
    DATA,
)


def safe(parts: list[tuple[str, str | None, bytes]]) -> list[Part]:
    """Parts whose data cannot end a part early: a line break followed by the delimiter
    would be a real boundary."""
    built: list[Part] = []
    for name, filename, data in parts:
        while b"--" + BOUNDARY.encode() in data:
            data = data.replace(b"--" + BOUNDARY.encode(), b"-x" + BOUNDARY.encode())
        built.append((name, filename, data, []))
    return built


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    parts=st.lists(PART, min_size=1, max_size=5),
    sizes=st.lists(st.integers(min_value=1, max_value=70_000), min_size=1, max_size=6),
    seed=st.integers(min_value=0, max_value=2**16),
)
async def test_generated_bodies_match_werkzeug(
    parts: list[tuple[str, str | None, bytes]], sizes: list[int], seed: int
) -> None:
    body = build(safe(parts))
    expected = reference(body)
    chunks = cut(body, sizes)
    assert snapshot(*await parse(chunks)) == expected
    # And with the chunks split once more at random places.
    rng = random.Random(seed)
    resplit: list[bytes] = []
    for chunk in chunks:
        split = rng.randrange(len(chunk) + 1)
        resplit += [chunk[:split], chunk[split:]]
    assert snapshot(*await parse([chunk for chunk in resplit if chunk])) == expected


# Through the app: form and files the same whatever chunks the server delivers.


async def call(app: Quart, body: bytes, sizes: list[int]) -> dict[str, Any]:
    chunks = cut(body, sizes)
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    status = next(message["status"] for message in sent if message["type"] == "http.response.start")
    content = b"".join(
        message.get("body", b"") for message in sent if message["type"] == "http.response.body"
    )
    return {"status": status, "body": content}


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
async def test_the_view_sees_the_same_upload_for_every_chunking(chunking: str) -> None:
    app = Quart(__name__)

    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        form = await request.form
        files = await request.files
        return {
            "form": list(form.items(multi=True)),
            "files": [
                [name, storage.filename, storage.content_type, storage.read().hex()]
                for name, storage in files.items(multi=True)
            ],
        }

    body = CASES["field and 20 KB file"]
    result = await call(app, body, CHUNKINGS[chunking])
    assert result["status"] == 200
    assert result["body"] == (await call(app, body, CHUNKINGS["whole"]))["body"]
    assert b'"hello multipart"' in result["body"] and FILE_20K.hex().encode() in result["body"]
