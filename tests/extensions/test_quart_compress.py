"""Quart-Compress 0.2.1 on our quart: ``Compress(app)`` and ``init_app``, gzip (the
default) and brotli (``COMPRESS_ALGORITHM = "br"``) chosen by Accept-Encoding, the
minimum size, the mimetypes, the compression level, ``Vary``, ``Content-Length`` and
``Content-Encoding`` (every body is decompressed and compared), streamed responses,
``send_file`` (whole files, conditional and range requests), the compressed-body cache,
and compressed responses served by hypercorn to httpx.

What the extension does not do, pinned here so a change shows: it compresses with one
configured algorithm and never negotiates (a client accepting only ``br`` gets an
identity body from a gzip app; ``deflate`` is not supported), and it ignores ``q=0``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from quart_compress import Compress
from quart_compress.quart_compress import DictCache

from quart import Quart, Response, jsonify, request, send_file

PAGE = "".join(f"<p>paragraph {number}</p>\n" for number in range(100))  # ~2 KB
SMALL = "<p>small</p>"
PNG_LIKE = bytes(range(256)) * 4


def make_app(**config: Any) -> Quart:
    app = Quart(__name__)
    app.config.update(config)
    Compress(app)

    @app.get("/page")
    async def page() -> str:
        return PAGE

    @app.get("/small")
    async def small() -> str:
        return SMALL

    @app.get("/sized/<int:size>")
    async def sized(size: int) -> str:
        return "x" * size

    @app.get("/json")
    async def json() -> Any:
        return jsonify(items=list(range(300)))

    @app.get("/text")
    async def text() -> Response:
        return Response(PAGE, mimetype="text/plain")

    @app.get("/binary")
    async def binary() -> Response:
        return Response(PNG_LIKE, mimetype="image/png")

    @app.get("/missing")
    async def missing() -> tuple[str, int]:
        return PAGE, 404

    @app.get("/varied")
    async def varied() -> tuple[str, dict[str, str]]:
        return PAGE, {"Vary": "Cookie"}

    @app.get("/encoded")
    async def encoded() -> Response:
        response = Response(gzip.compress(PAGE.encode()), mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
        return response

    @app.get("/stream")
    async def stream() -> Response:
        async def chunks() -> Any:
            for number in range(100):
                yield f"<p>paragraph {number}</p>\n".encode()

        return Response(chunks(), mimetype="text/html")

    return app


@pytest.fixture
def compress_app() -> Quart:
    return make_app()


async def get(app: Quart, path: str, encoding: str | None = "gzip", **headers: str) -> Any:
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    return await app.test_client().get(path, headers=headers)


async def assert_gzipped(response: Any, expected: bytes) -> bytes:
    """The body is gzip, its length is Content-Length, and it decompresses to ``expected``."""
    body = await response.get_data()
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(body)
    assert len(body) < len(expected)
    assert gzip.decompress(body) == expected
    return body


async def assert_identity(response: Any, expected: bytes) -> None:
    body = await response.get_data()
    assert "Content-Encoding" not in response.headers
    assert body == expected
    assert int(response.headers["Content-Length"]) == len(expected)


# --------------------------------------------------------------------- negotiation


async def test_gzip_when_the_client_accepts_it(compress_app: Quart) -> None:
    response = await get(compress_app, "/page", "gzip, deflate, br")
    assert response.status_code == 200
    await assert_gzipped(response, PAGE.encode())
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.mimetype == "text/html"


async def test_identity_without_accept_encoding(compress_app: Quart) -> None:
    response = await get(compress_app, "/page", None)
    await assert_identity(response, PAGE.encode())
    # The extension adds Vary only to the responses it compresses.
    assert "Vary" not in response.headers


@pytest.mark.parametrize("accepted", ["identity", "deflate", "br"])
async def test_gzip_app_never_negotiates_another_coding(compress_app: Quart, accepted: str) -> None:
    response = await get(compress_app, "/page", accepted)
    await assert_identity(response, PAGE.encode())


async def test_q_zero_is_not_understood(compress_app: Quart) -> None:
    """``gzip;q=0`` means "not gzip" (RFC 9110), but the extension only looks for the word."""
    response = await get(compress_app, "/page", "gzip;q=0, identity")
    await assert_gzipped(response, PAGE.encode())


async def test_brotli_when_configured() -> None:
    app = make_app(COMPRESS_ALGORITHM="br")
    response = await get(app, "/page", "gzip, br")
    body = await response.get_data()
    assert response.headers["Content-Encoding"] == "br"
    assert int(response.headers["Content-Length"]) == len(body) < len(PAGE)
    assert brotli.decompress(body) == PAGE.encode()
    # A brotli app leaves gzip-only clients with the identity body.
    await assert_identity(await get(app, "/page", "gzip"), PAGE.encode())


async def test_deflate_is_not_an_algorithm_it_supports(caplog: pytest.LogCaptureFixture) -> None:
    """``COMPRESS_ALGORITHM = "deflate"`` passes the checks (only gzip and br are looked
    for) and then fails in the extension's ``compress``, which returns None for it: the
    after_request function raises, and the client gets a 500, not a deflated page.
    """
    app = make_app(COMPRESS_ALGORITHM="deflate")
    response = await get(app, "/page", "deflate")
    assert response.status_code == 500
    assert "Content-Encoding" not in response.headers
    [record] = [record for record in caplog.records if record.exc_info]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], TypeError)


# ------------------------------------------------------------- what is compressed


@pytest.mark.parametrize(("size", "compressed"), [(499, False), (500, True), (2000, True)])
async def test_minimum_size(compress_app: Quart, size: int, compressed: bool) -> None:
    response = await get(compress_app, f"/sized/{size}")
    if compressed:
        await assert_gzipped(response, b"x" * size)
    else:
        await assert_identity(response, b"x" * size)


async def test_minimum_size_from_config() -> None:
    app = make_app(COMPRESS_MIN_SIZE=5)
    await assert_gzipped(await get(app, "/sized/100"), b"x" * 100)
    await assert_identity(await get(app, "/sized/4"), b"xxxx")


async def test_default_mimetypes(compress_app: Quart) -> None:
    await assert_gzipped(await get(compress_app, "/json"), await _json_body(compress_app))
    await assert_identity(await get(compress_app, "/text"), PAGE.encode())
    await assert_identity(await get(compress_app, "/binary"), PNG_LIKE)


async def _json_body(app: Quart) -> bytes:
    return await (await get(app, "/json", None)).get_data()


async def test_mimetypes_from_config() -> None:
    app = make_app(COMPRESS_MIMETYPES=["text/plain"])
    await assert_gzipped(await get(app, "/text"), PAGE.encode())
    await assert_identity(await get(app, "/page"), PAGE.encode())


async def test_error_responses_are_not_compressed(compress_app: Quart) -> None:
    response = await get(compress_app, "/missing")
    assert response.status_code == 404
    await assert_identity(response, PAGE.encode())


async def test_an_encoded_response_is_left_alone(compress_app: Quart) -> None:
    response = await get(compress_app, "/encoded")
    body = await response.get_data()
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == PAGE.encode()  # compressed once, not twice
    assert "Vary" not in response.headers


async def test_an_existing_vary_is_extended(compress_app: Quart) -> None:
    response = await get(compress_app, "/varied")
    await assert_gzipped(response, PAGE.encode())
    assert response.headers["Vary"] == "Cookie, Accept-Encoding"


@pytest.mark.parametrize(("level", "flag"), [(1, 4), (9, 2)])
async def test_compression_level(level: int, flag: int) -> None:
    """gzip's XFL header byte records the fastest (4) or the best (2) compression."""
    app = make_app(COMPRESS_LEVEL=level)
    body = await assert_gzipped(await get(app, "/page"), PAGE.encode())
    assert body[8] == flag


async def test_not_registered_when_told_not_to() -> None:
    app = make_app(COMPRESS_REGISTER=False)
    await assert_identity(await get(app, "/page"), PAGE.encode())


async def test_init_app_factory_pattern() -> None:
    compress = Compress()

    def create_app() -> Quart:
        app = Quart(__name__)
        compress.init_app(app)

        @app.get("/")
        async def index() -> str:
            return PAGE

        return app

    first, second = create_app(), create_app()
    for app in (first, second):
        await assert_gzipped(await get(app, "/"), PAGE.encode())


async def test_compressed_bodies_are_cached_by_key() -> None:
    """With ``COMPRESS_CACHE_BACKEND`` and ``COMPRESS_CACHE_KEY`` the compressed body is
    computed once per key and reused, even when the view's output changes."""
    app = make_app(
        COMPRESS_CACHE_BACKEND=DictCache, COMPRESS_CACHE_KEY=lambda request: request.path
    )
    calls: list[str] = []

    @app.get("/counted")
    async def counted() -> str:
        calls.append(request.path)
        return f"<h1>call {len(calls)}</h1>" + PAGE

    first = await assert_gzipped(await get(app, "/counted"), ("<h1>call 1</h1>" + PAGE).encode())
    second = await get(app, "/counted")
    assert calls == ["/counted", "/counted"]  # the view runs every time ...
    assert await second.get_data() == first  # ... but the first compressed body is sent


# --------------------------------------------------------------- streams and files


async def test_a_streamed_response_is_collected_and_compressed(compress_app: Quart) -> None:
    """A streamed body has no Content-Length, so the minimum size does not apply: the
    extension reads the whole stream and sends one compressed body with its length."""
    response = await get(compress_app, "/stream")
    await assert_gzipped(response, PAGE.encode())
    assert response.headers["Vary"] == "Accept-Encoding"


@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    path = tmp_path / "page.html"
    path.write_text(PAGE)
    return path


def file_app(path: Path) -> Quart:
    app = make_app()

    @app.get("/file")
    async def file() -> Any:
        return await send_file(path, conditional=True)

    return app


async def test_send_file_is_compressed_whole(page_file: Path) -> None:
    app = file_app(page_file)
    response = await get(app, "/file")
    assert response.status_code == 200
    await assert_gzipped(response, PAGE.encode())
    # The validators of the file are kept as they were: the same ETag names both the
    # identity and the gzip representation (the extension does not weaken it).
    plain = await get(app, "/file", None)
    assert response.headers["ETag"] == plain.headers["ETag"]
    assert response.headers["Last-Modified"] == plain.headers["Last-Modified"]
    await assert_identity(plain, PAGE.encode())


async def test_send_file_not_modified_is_not_compressed(page_file: Path) -> None:
    app = file_app(page_file)
    etag = (await get(app, "/file")).headers["ETag"]
    response = await get(app, "/file", **{"If-None-Match": etag})
    assert response.status_code == 304
    assert "Content-Encoding" not in response.headers
    assert await response.get_data() == b""


async def test_send_file_range_is_compressed_on_its_own(page_file: Path) -> None:
    """A range of at least the minimum size is gzipped by itself while Content-Range still
    counts identity bytes: the extension's behaviour (a client must not join such parts)."""
    app = file_app(page_file)
    response = await get(app, "/file", Range="bytes=0-999")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-999/{len(PAGE)}"
    await assert_gzipped(response, PAGE.encode()[:1000])
    short = await get(app, "/file", Range="bytes=0-99")  # under the minimum: identity
    assert short.status_code == 206
    await assert_identity(short, PAGE.encode()[:100])


# ------------------------------------------------------------------- real HTTP


async def test_served_by_hypercorn_to_httpx(serve: Any, page_file: Path) -> None:
    app = file_app(page_file)
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for path in ("/page", "/stream", "/file"):
            response = await client.get(path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200
            assert response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Vary"] == "Accept-Encoding"
            # httpx decodes the body; what came over the wire is the compressed length.
            assert response.text == PAGE
            wire = int(response.headers["Content-Length"])
            assert response.num_bytes_downloaded == wire < len(PAGE)

        async with client.stream("GET", "/page", headers={"Accept-Encoding": "gzip"}) as raw:
            compressed = b"".join([chunk async for chunk in raw.aiter_raw()])
        assert gzip.decompress(compressed) == PAGE.encode()

        response = await client.get("/page", headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in response.headers
        assert response.num_bytes_downloaded == len(PAGE) == int(response.headers["Content-Length"])


async def test_brotli_served_by_hypercorn_to_httpx(serve: Any) -> None:
    base_url = await serve(make_app(COMPRESS_ALGORITHM="br"))
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/json", headers={"Accept-Encoding": "br"})
        assert response.headers["Content-Encoding"] == "br"
        assert response.json() == {"items": list(range(300))}
        assert response.num_bytes_downloaded < len(response.content)
