"""What a file response costs and that its shortcuts change nothing: a small file is
stat-ed, opened, read and closed in one worker-thread call and sent as bytes; a large one
takes one call per chunk and holds no file until it is sent; the headers written as
strings are the ones werkzeug's response properties write; a request without validators
skips ``make_conditional`` with the same result."""

from __future__ import annotations

import asyncio
import email.utils
import os
import sys
import threading
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.http import http_date

import quart.file_responses
import quart.wrappers.response
from quart import Quart, Response, request, send_file, send_from_directory
from quart.wrappers.response import DataBody, FileBody

TIMEOUT = 10.0
CHUNK = FileBody.buffer_size
SMALL = FileBody.small_file_size


def content(size: int) -> bytes:
    return bytes(index % 253 for index in range(size))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, size in {
        "small.txt": 5000,
        "limit.bin": SMALL,
        "over.bin": SMALL + 1,
        "large.bin": 3 * CHUNK + 10,
    }.items():
        (folder / name).write_bytes(content(size))
    return folder


@pytest.fixture
def app(files: Path) -> Quart:
    app = Quart(__name__, static_folder=None, root_path=str(files))

    @app.route("/files/<name>", methods=["GET", "HEAD", "POST"])
    async def serve(name: str) -> Response:
        return await send_from_directory(files, name)

    return app


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function file responses run in a worker thread, in order."""
    calls: list[str] = []
    real = quart.file_responses.call_in_thread

    def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(func.__name__)
        return real(func, *args, **kwargs)

    monkeypatch.setattr(quart.file_responses, "call_in_thread", counting)
    monkeypatch.setattr(quart.wrappers.response, "call_in_thread", counting)
    return calls


# ------------------------------------------------------------------ the calls a file costs


async def test_a_small_file_is_one_call_and_one_message(
    app: Quart, files: Path, thread_calls: list[str]
) -> None:
    async with app.test_request_context("/"):
        response = await send_file(files / "small.txt")
    assert thread_calls == ["_stat_and_read"]
    assert type(response.response) is DataBody  # sent in a single message
    assert await response.get_data() == content(5000)
    assert response.headers["Content-Length"] == "5000"


@pytest.mark.parametrize(("name", "streamed"), [("limit.bin", False), ("over.bin", True)])
async def test_the_small_file_limit_is_inclusive(app: Quart, name: str, streamed: bool) -> None:
    response = await app.test_client().get(f"/files/{name}")
    size = SMALL + streamed
    assert await response.get_data() == content(size)
    assert response.headers["Content-Length"] == str(size)
    async with app.test_request_context("/"):
        made = await send_from_directory(app.root_path, name)
        assert isinstance(made.response, FileBody) is streamed
        await made.get_data()  # reads (and closes) a streamed file


async def test_a_large_file_is_one_call_per_chunk_after_the_stat(
    app: Quart, thread_calls: list[str]
) -> None:
    response = await app.test_client().get("/files/large.bin")
    assert await response.get_data() == content(3 * CHUNK + 10)
    # The first read also opens the file, the last also closes it.
    assert thread_calls == ["_stat_and_read"] + ["_read"] * 4


async def test_a_range_of_a_large_file_reads_only_its_chunks(
    app: Quart, thread_calls: list[str]
) -> None:
    begin, end = CHUNK + 5, 2 * CHUNK + 4  # inside two chunks' worth of bytes
    response = await app.test_client().get(
        "/files/large.bin", headers={"Range": f"bytes={begin}-{end - 1}"}
    )
    assert response.status_code == 206
    assert await response.get_data() == content(3 * CHUNK + 10)[begin:end]
    assert thread_calls == ["_stat_and_read", "_read"]


async def test_a_file_body_class_without_small_files_streams_everything_the_same(
    app: Quart, files: Path
) -> None:
    """Reading a small file whole is a shortcut: streaming it gives the same response."""

    class StreamingFileBody(FileBody):
        small_file_size = 0

    class StreamingResponse(Response):
        file_body_class = StreamingFileBody

    client = app.test_client()
    whole = await client.get("/files/small.txt")
    app.response_class = StreamingResponse
    async with app.test_request_context("/"):
        assert isinstance((await send_file(files / "small.txt")).response, StreamingFileBody)
    streamed = await client.get("/files/small.txt")
    assert await streamed.get_data() == await whole.get_data()
    assert without_expires(streamed) == without_expires(whole)


async def test_a_small_file_that_shrinks_after_its_stat_is_sent_as_far_as_it_goes(
    app: Quart, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = files / "small.txt"
    real_stat = os.stat

    def stat_then_shrink(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        result = real_stat(target, *args, **kwargs)
        if str(target) == str(path):
            os.truncate(path, 1000)  # between the stat and the read
        return result

    monkeypatch.setattr(quart.file_responses.os, "stat", stat_then_shrink)
    async with app.test_request_context("/"):
        made = await send_file(path)
    monkeypatch.undo()
    assert await made.get_data() == content(1000)


async def test_a_large_file_that_shrinks_before_it_is_sent_is_sent_as_far_as_it_goes(
    app: Quart, files: Path, thread_calls: list[str]
) -> None:
    """No byte twice and no hang: a chunk cut short ends the body."""
    path = files / "large.bin"
    async with app.test_request_context("/"):
        made = await send_file(path)
        os.truncate(path, CHUNK + 100)
        assert await made.get_data() == content(CHUNK + 100)
    assert thread_calls == ["_stat_and_read", "_read", "_read"]


# ------------------------------------------------------------------ no file held unsent


@pytest.fixture
def opened(files: Path) -> list[str]:
    """Every path under ``files`` opened from now on (audit hooks stay: this one only
    looks at that folder)."""
    seen: list[str] = []
    prefix = str(files)

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and str(args[0]).startswith(prefix):
            seen.append(str(args[0]))

    sys.addaudithook(audit)
    return seen


@pytest.mark.parametrize("case", ["HEAD", "304", "416", "POST then dropped"])
async def test_a_large_file_is_not_opened_unless_it_is_sent(
    app: Quart, files: Path, opened: list[str], case: str
) -> None:
    client = app.test_client()
    etag = (await client.head("/files/large.bin")).headers["ETag"]
    opened.clear()
    if case == "HEAD":
        response = await client.head("/files/large.bin")
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(3 * CHUNK + 10)
    elif case == "304":
        response = await client.get("/files/large.bin", headers={"If-None-Match": etag})
        assert response.status_code == 304
    elif case == "416":
        response = await client.get("/files/large.bin", headers={"Range": "bytes=999999-"})
        assert response.status_code == 416
    else:
        async with app.test_request_context("/", method="POST"):
            made = await send_file(files / "large.bin")
            assert isinstance(made.response, FileBody)
            del made
    assert opened == []


async def test_a_large_file_is_closed_when_the_client_leaves_during_a_read(
    app: Quart, files: Path
) -> None:
    """The wait for the read that opened the file is cancelled while the read runs: the
    file must not be closed under it, and must be closed once it is done."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    target = files / "large.bin"
    reading = threading.Event()
    release = threading.Event()
    left = asyncio.Event()
    closed_after_read = asyncio.Event()

    class HeldFileBody(FileBody):
        def _read(self, size: int, last: bool) -> bytes:
            chunk = super()._read(size, last)  # the first call opens the file
            reading.set()
            release.wait(TIMEOUT)
            return chunk

        async def __aexit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            await super().__aexit__(exc_type, exc, tb)
            left.set()

        def _close(self) -> None:
            was_open = self._file is not None
            super()._close()
            if was_open and release.is_set():
                closed_after_read.set()

    class HeldResponse(Response):
        file_body_class = HeldFileBody

    app.response_class = HeldResponse
    async with app.test_client().request("/files/large.bin") as connection:
        assert await asyncio.to_thread(reading.wait, TIMEOUT)
        await connection.disconnect()
        async with asyncio.timeout(TIMEOUT):
            await left.wait()
        assert open_fds_for(target)  # still open: the read holding it goes on
        release.set()
        async with asyncio.timeout(TIMEOUT):
            await closed_after_read.wait()
    assert open_fds_for(target) == []


def open_fds_for(path: Path) -> list[str]:
    """The descriptors of this process open on ``path`` (Linux only)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                found.append(name)
        except OSError:
            continue
    return found


# ------------------------------------------------------------------ what is not a file


async def test_a_pipe_in_the_folder_is_a_404_without_waiting_for_a_writer(
    app: Quart, files: Path
) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs named pipes")
    os.mkfifo(files / "pipe")
    async with asyncio.timeout(TIMEOUT):
        assert (await app.test_client().get("/files/pipe")).status_code == 404


async def test_send_file_of_a_directory_is_an_error(app: Quart, files: Path) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(IsADirectoryError):
            await send_file(files)


async def test_send_file_of_a_missing_path_is_an_error(app: Quart, files: Path) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(FileNotFoundError):
            await send_file(files / "missing.txt")


# ------------------------------------------------------------------ headers as werkzeug writes them


def without_expires(response: Response) -> list[tuple[str, str]]:
    return [(name, value) for name, value in response.headers if name != "Expires"]


def plain_headers(
    path: Path,
    mimetype: str,
    *,
    name: str,
    as_attachment: bool,
    max_age: Any,
    etag: bool | str,
    last_modified: Any,
    encoding: str | None,
) -> Response:
    """The headers the way werkzeug's response properties write them."""
    stat = path.stat()
    response = Response(b"", mimetype=mimetype)
    response.headers.remove("Content-Length")
    response.content_length = stat.st_size
    if encoding is not None and not as_attachment:
        response.headers["Content-Encoding"] = encoding
    disposition = "attachment" if as_attachment else "inline"
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        response.headers.set(
            "Content-Disposition",
            disposition,
            filename=unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode(),
            **{"filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")},
        )
    else:
        response.headers.set("Content-Disposition", disposition, filename=name)
    response.last_modified = stat.st_mtime if last_modified is None else last_modified
    response.cache_control.no_cache = True
    if max_age is not None:
        if max_age > 0:
            response.cache_control.no_cache = None
            response.cache_control.public = True
        response.cache_control.max_age = max_age
        response.expires = datetime.now(UTC) + timedelta(seconds=max_age)
    if isinstance(etag, str):
        response.set_etag(etag)
    elif etag:
        check = quart.file_responses.adler32(os.fsencode(str(path))) & 0xFFFFFFFF
        response.set_etag(f"{stat.st_mtime}-{stat.st_size}-{check}")
    response.headers["Accept-Ranges"] = "bytes"
    return response


@pytest.mark.parametrize(
    ("name", "options", "mimetype", "encoding"),
    [
        ("small.txt", {}, "text/plain", None),
        ("small.txt", {"max_age": 0}, "text/plain", None),
        ("small.txt", {"max_age": -5}, "text/plain", None),
        ("small.txt", {"max_age": 2.5}, "text/plain", None),
        ("small.txt", {"max_age": None}, "text/plain", None),
        ("small.txt", {"as_attachment": True, "etag": "v1"}, "text/plain", None),
        ("small.txt", {"etag": False, "last_modified": 1_000_000}, "text/plain", None),
        ("été.txt", {"as_attachment": True}, "text/plain", None),
        ("a file; name.txt", {}, "text/plain", None),
        ("data.tar.gz", {}, "application/x-tar", "gzip"),
        ("large.bin", {"max_age": 60}, "application/octet-stream", None),
    ],
)
async def test_headers_are_the_ones_werkzeug_writes(
    app: Quart, files: Path, name: str, options: dict[str, Any], mimetype: str, encoding: str
) -> None:
    path = files / name
    if not path.exists():
        path.write_bytes(b"some bytes")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = None if "max_age" in options else 3600
    max_age = options.get("max_age", app.config["SEND_FILE_MAX_AGE_DEFAULT"])
    async with app.test_request_context("/"):
        before = datetime.now(UTC)
        made = await send_file(path, **options)
        after = datetime.now(UTC)
        await made.get_data()
    expected = plain_headers(
        path,
        mimetype,
        name=name,
        as_attachment=options.get("as_attachment", False),
        max_age=max_age,
        etag=options.get("etag", True),
        last_modified=options.get("last_modified"),
        encoding=encoding,
    )
    assert without_expires(made) == without_expires(expected)
    if max_age is None:
        assert "Expires" not in made.headers
    else:
        expires = email.utils.parsedate_to_datetime(made.headers["Expires"])
        offset = timedelta(seconds=max_age)
        assert (before + offset).replace(microsecond=0) <= expires <= after + offset
        assert made.headers["Expires"] == http_date(expires)


# ------------------------------------------------------------------ make_conditional skipped


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("headers", [{}, {"Accept": "*/*", "X-Other": "1"}])
@pytest.mark.parametrize("read_headers_first", [False, True])
async def test_without_validators_make_conditional_would_change_nothing(
    app: Quart, files: Path, method: str, headers: dict[str, str], read_headers_first: bool
) -> None:
    for name in ("small.txt", "large.bin"):
        async with app.test_request_context("/", method=method, headers=headers):
            if read_headers_first:
                assert "Range" not in request.headers
            made = await send_file(files / name)
            before = (made.status_code, list(made.headers))
            await made.make_conditional(
                request._get_current_object(),  # type: ignore[attr-defined]
                accept_ranges=True,
                complete_length=made.content_length,
            )
            assert (made.status_code, list(made.headers)) == before
            assert ("Accept-Ranges" in made.headers) is (method != "POST")
            await made.get_data()


@pytest.mark.parametrize(
    "header",
    ["Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since"],
)
@pytest.mark.parametrize("read_headers_first", [False, True])
async def test_each_validator_is_answered(
    app: Quart, files: Path, header: str, read_headers_first: bool
) -> None:
    client = app.test_client()
    plain = await client.get("/files/small.txt")
    value = {
        "Range": "bytes=0-9",
        "If-Range": plain.headers["ETag"],
        "If-Match": '"other"',
        "If-None-Match": plain.headers["ETag"],
        "If-Modified-Since": plain.headers["Last-Modified"],
    }[header]
    expected = {"Range": 206, "If-Range": 200, "If-Match": 412}.get(header, 304)

    if read_headers_first:

        @app.before_request
        async def read_headers() -> None:
            assert header in request.headers

    response = await client.get("/files/small.txt", headers={header: value})
    assert response.status_code == expected
