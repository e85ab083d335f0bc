"""Multipart parsing gives the same form and files however the body is cut and whichever
path a part takes.

The parser feeds the chunks as they come to python-multipart's streaming parser, reads part
headers with werkzeug's helpers, and keeps a file that arrives in one piece in memory
instead of in the default spooled file. Here every body is parsed fed whole, byte by byte
and in other chunkings, with the default stream and with a replaced one, and compared with
werkzeug's own parser (what Quart uses) reading it from a file. The few bodies werkzeug
accepts and we refuse are listed in ``WERKZEUG_LENIENCIES`` (docs/differences.md).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
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

from quart import Quart, Request, request
from quart.formparser import FormDataParser, MultiPartParser

BOUNDARY = "b0und4ry-X"
MULTIPART_VERSION = tuple(int(part) for part in version("python-multipart").split(".")[:3])
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
    # Line breaks inside the data are data whatever they are; the structure's are CRLF
    # (bare line feeds there are one of the WERKZEUG_LENIENCIES).
    "preamble, epilogue and bare line feeds in the data": build(
        [("a", None, b"1", []), ("f", "f.txt", b"line\nline\n", [])],
        preamble=b"This is the preamble.\r\n-- not a delimiter --" + BOUNDARY[:4].encode(),
        epilogue=b"This is the epilogue.\r\n--" + BOUNDARY.encode() + b"\r\n",
    ),
    "charsets and extra headers": build(
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
            ("extra", "c.txt", b"data", [("X-Long", "first second"), ("x-empty", "")]),
        ]
    ),
}
CASES["filenames as clients send them"] = build(
    [
        ("raw", "naïve €.txt", b"1", []),  # browsers send UTF-8 as is
        ("windows", "C:\\\\Users\\\\me\\\\a.txt", b"2", []),  # kept whole, not cut at the path
        ("empty", "", b"", []),  # a file input left empty
        ("quote", "say %22hi%22.txt", b"3", []),  # how the HTML standard escapes a quote
    ]
)
CASES["RFC 2231 filename*"] = build([("f", "plain.txt", b"x", [])]).replace(
    b'filename="plain.txt"', b"filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt"
)
# Longer than the names cache takes (see ``_part_names``): read each time.
CASES["a long disposition"] = build([("long", "n" * 300 + ".txt", b"data", [])])
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


def delimited(*lines: bytes, newline: bytes = b"\r\n") -> bytes:
    """A one-field body whose delimiter and header lines are given as they are sent."""
    return newline.join([f"--{BOUNDARY}".encode(), *lines, f"--{BOUNDARY}--".encode(), b""])


# Bodies werkzeug's decoder (and so Quart) accepts and we answer with a 400, as Starlette
# and FastAPI do: python-multipart reads the structure as RFC 7578 and RFC 2046 write it.
# No browser or HTTP library sends any of these (docs/differences.md).
WERKZEUG_LENIENCIES = {
    # Line breaks other than CRLF in the delimiter and header lines.
    "bare line feeds": build(
        [("a", None, b"1", []), ("f", "f.txt", b"line\nline\n", [])],
        newline=b"\n",
        preamble=b"This is the preamble.\n",
        epilogue=b"This is the epilogue.\n",
    ),
    "bare carriage returns": build([("a", None, b"1", [])], newline=b"\r"),
    # A header folded over two lines (obsolete line folding).
    "a folded header": build([("f", "c.txt", b"data", [("X-Long", "first\r\n second")])]),
    "a header name followed by a space": delimited(
        b'Content-Disposition : form-data; name="a"', b"", b"v"
    ),
    "a header line without a colon": delimited(
        b'Content-Disposition: form-data; name="a"', b"Junk", b"", b"v"
    ),
    "spaces after the first delimiter": delimited(
        b'Content-Disposition: form-data; name="a"', b"", b"v"
    ).replace(BOUNDARY.encode() + b"\r\n", BOUNDARY.encode() + b"  \r\n", 1),
}


def test_werkzeug_accepts_its_leniencies() -> None:
    # So each entry below is a real difference, not a body nobody parses.
    for name, body in WERKZEUG_LENIENCIES.items():
        form, files = reference(body)
        assert form or files, name


@pytest.mark.parametrize("chunking", ["whole", "byte by byte", "7 bytes", "uneven"])
@pytest.mark.parametrize("case", list(WERKZEUG_LENIENCIES))
async def test_werkzeugs_leniencies_are_a_400_for_every_chunking(case: str, chunking: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await parse(cut(WERKZEUG_LENIENCIES[case], CHUNKINGS[chunking]))
    assert caught.value.code == 400
    assert caught.value.description.startswith("The multipart/form-data body is malformed: ")


async def test_a_part_with_too_many_or_too_long_header_lines_is_a_400() -> None:
    # python-multipart's bounds on a part's headers: 8 lines of at most 4 KiB each (a
    # part needs two or three). Under the form memory limit werkzeug has none.
    extra = [(f"X-{index}", "y") for index in range(8)]
    for body in (
        build([("a", None, b"v", extra)]),
        build([("a", None, b"v", [("X-Long", "y" * 5000)])]),
    ):
        for sizes in ([1 << 30], [1], [100]):
            with pytest.raises(BadRequest):
                await parse(cut(body, sizes))
    form, _ = await parse([build([("a", None, b"v", extra[:7])])])  # 8 lines is fine
    assert form["a"] == "v"


async def test_a_part_header_that_is_not_utf8_is_a_400() -> None:
    body = build([("caf\xe9", None, b"v", [])]).replace("caf\xe9".encode(), b"caf\xe9")
    with pytest.raises(BadRequest) as caught:
        await parse([body])
    assert "not UTF-8" in caught.value.description


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


async def call(
    app: Quart,
    body: bytes,
    sizes: list[int],
    *,
    boundary: str = BOUNDARY,
    leave_after: int | None = None,
) -> dict[str, Any]:
    """Serve one upload of ``body`` in chunks of ``sizes``; with ``leave_after`` the
    client disconnects after sending that many chunks."""
    chunks = cut(body, sizes)
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    if leave_after is not None:
        messages = [*messages[:leave_after], {"type": "http.disconnect"}]
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
            (b"content-type", f'multipart/form-data; boundary="{boundary}"'.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    status = next(
        (message["status"] for message in sent if message["type"] == "http.response.start"), None
    )
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


# Fresh boundaries: browsers and HTTP libraries pick a new random one for every request.

CLIENT_BOUNDARIES = [
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",  # Chrome, Safari
    "----geckoformboundary" + "3f9a" * 8,  # Firefox
    "-" * 27 + "9051914041544843365972754266",  # older Firefox
    "d41d8cd98f00b204e9800998ecf8427e",  # httpx, requests: hex of random bytes
    "------------------------c4a9b2e1f0d3a5b7",  # curl
    "a",
    "x" * 70,  # the longest RFC 2046 allows
    "'()+_,-./:=? z",  # the other characters it allows (a regular expression's too)
    BOUNDARY[:4],  # a prefix of the boundary the data below is full of
]


def upload_parts(boundary: str) -> list[Part]:
    """A field, a 20 KB file and data full of line breaks, dashes and the other boundaries."""
    others = [other.encode() for other in CLIENT_BOUNDARIES if other != boundary]
    noisy = b"\r\n--".join(others)
    return [
        ("text", None, b"hello multipart", []),
        ("file", "data.bin", FILE_20K, [("Content-Type", "application/octet-stream")]),
        ("noise", "noise.txt", b"\r\n--" + noisy + b"\r\n-", [("Content-Type", "text/plain")]),
    ]


@pytest.mark.parametrize("boundary", CLIENT_BOUNDARIES)
async def test_any_boundary_a_client_picks_gives_werkzeugs_result(boundary: str) -> None:
    body = build(upload_parts(boundary), boundary=boundary)
    expected = reference(body, boundary)
    assert len(expected[1]) == 2  # no part was split where another boundary shows
    for sizes in ([1 << 30], [7], [1000], [1] * 300 + [4096]):
        chunks = cut(body, sizes)
        assert snapshot(*await parse(chunks, boundary=boundary)) == expected
        assert snapshot(*await parse(chunks, boundary=boundary, stream_factory=spooled)) == expected


async def test_a_fresh_boundary_for_every_request_through_the_app() -> None:
    app = Quart(__name__)

    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        form = await request.form
        files = await request.files
        return {
            "form": list(form.items(multi=True)),
            "files": [
                [
                    name,
                    storage.filename,
                    storage.mimetype,
                    storage.mimetype_params,
                    storage.read().hex(),
                ]
                for name, storage in files.items(multi=True)
            ],
        }

    rng = random.Random(2)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    previous = BOUNDARY
    for index in range(40):
        boundary = "----WebKitFormBoundary" + "".join(rng.choices(alphabet, k=16))
        # The data holds the last request's boundary: nothing of that request remains.
        parts: list[Part] = [
            ("text", None, f"request {index}".encode(), []),
            (
                "file",
                "a.txt",
                b"--" + previous.encode() + b"\r\n" * index,
                [("Content-Type", "text/plain; charset=utf-8")],
            ),
        ]
        result = await call(
            app, build(parts, boundary=boundary), [1 + index * 13], boundary=boundary
        )
        assert result["status"] == 200
        assert json.loads(result["body"]) == {
            "form": [["text", f"request {index}"]],
            "files": [["file", "a.txt", "text/plain", {"charset": "utf-8"}, parts[1][2].hex()]],
        }
        previous = boundary


async def test_every_cut_through_every_delimiter_line_gives_werkzeugs_result() -> None:
    # Three chunks, both cuts anywhere in and around a delimiter line: the real ones and
    # the false ones in the data (a line break, dashes and part of the boundary, then
    # something else), which python-multipart holds back until it can tell.
    delimiter = b"--" + BOUNDARY.encode()
    body = build(
        [
            ("a", None, b"x\r\n" + delimiter[:-1] + b"\r\n" + delimiter + b"Z", []),
            ("f", "f.bin", b"\r\n--" + delimiter + b"\r", [("Content-Type", "text/plain")]),
            ("b", None, b"", []),
        ],
        preamble=b"pre\r\n" + delimiter[:-2],
        epilogue=b"\r\n" + delimiter + b"--\r\n",
    )
    expected = reference(body)
    assert [name for name, _ in expected[0]] == ["a", "b"]
    starts = [index for index in range(len(body)) if body.startswith(b"\r\n-", index)]
    for start in starts:
        window = range(max(1, start - 1), min(len(body), start + len(delimiter) + 5))
        for first in window:
            for second in window:
                if second <= first:
                    continue
                chunks = [body[:first], body[first:second], body[second:]]
                assert snapshot(*await parse(chunks)) == expected, (first, second)


async def test_an_empty_form_is_empty_for_every_chunking() -> None:
    body = f"--{BOUNDARY}--\r\n".encode()
    assert reference(body) == ([], [])
    for sizes in ([1 << 30], [1], [3]):
        assert snapshot(*await parse(cut(body, sizes))) == ([], [])


@pytest.mark.skipif(
    MULTIPART_VERSION < (0, 0, 34), reason="python-multipart reads padding from 0.0.34"
)
async def test_spaces_after_a_later_delimiter_are_padding_as_in_werkzeug() -> None:
    # RFC 2046's transport padding: spaces or tabs between a delimiter and its CRLF.
    body = delimited(
        b'Content-Disposition: form-data; name="a"',
        b"",
        b"1",
        f"--{BOUNDARY} \t".encode(),
        b'Content-Disposition: form-data; name="b"',
        b"",
        b"2",
    )
    expected = reference(body)
    assert expected == ([("a", "1"), ("b", "2")], [])
    for sizes in ([1 << 30], [1], [5]):
        assert snapshot(*await parse(cut(body, sizes))) == expected


async def test_a_boundary_longer_than_python_multipart_takes_is_a_400() -> None:
    boundary = "b" * 300  # RFC 2046 allows 70
    body = build([("a", None, b"v", [])], boundary=boundary)
    if MULTIPART_VERSION < (0, 0, 28):  # no bound before 0.0.28
        assert snapshot(*await parse([body], boundary=boundary)) == reference(body, boundary)
        return
    with pytest.raises(BadRequest):
        await parse([body], boundary=boundary)


async def test_dispositions_read_from_the_cache_match_werkzeug() -> None:
    # More distinct dispositions than the cache holds, each parsed cold and then warm.
    bodies = [
        build([(f"field{index}", None, b"v", []), (f"f{index}", f"{index}.txt", b"d", [])])
        for index in range(300)
    ]
    for _ in range(2):
        for body in bodies:
            assert snapshot(*await parse([body])) == reference(body)


async def test_a_client_leaving_mid_upload_closes_the_streams_and_answers_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made: list[BytesIO] = []

    def factory(*args: Any) -> BytesIO:
        made.append(BytesIO())
        return made[-1]

    class RecordingParser(FormDataParser):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "stream_factory": factory})

    class RecordingRequest(Request):
        form_data_parser_class = RecordingParser

    app = Quart(__name__)
    app.request_class = RecordingRequest
    reached: list[str] = []

    @app.post("/upload")
    async def upload() -> str:
        await request.files
        reached.append("parsed")
        return "never"

    body = build([("a", "a.bin", b"x" * 5000, []), ("b", "b.bin", b"y" * 5000, [])])
    with caplog.at_level(logging.ERROR):
        result = await call(app, body, [4000], leave_after=2)  # inside the second file
    assert result["status"] is None and reached == []
    assert len(made) == 2 and all(stream.closed for stream in made)
    assert caplog.records == []
