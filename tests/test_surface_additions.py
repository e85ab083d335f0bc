"""Names added to match Quart 0.22's surface (see tests/test_api_surface.py): each must work
as Quart's does, not merely exist."""

from __future__ import annotations

import asyncio
import io
import logging
import queue
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers, MultiDict

from quart import Quart, request
from quart import typing as quart_typing
from quart.datastructures import FileStorage
from quart.formparser import FormDataParser, MultiPartParser
from quart.json import dumps, loads
from quart.logging import LocalQueueHandler
from quart.utils import cancel_tasks, decode_headers, raise_task_exceptions
from quart.wrappers import Request

BOUNDARY = "----surface"


def multipart_body(*parts: tuple[str, str | None, str, bytes]) -> bytes:
    """A multipart body of ``(name, filename, content_type, data)`` parts."""
    out = bytearray()
    for name, filename, content_type, data in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        out += f"Content-Type: {content_type}\r\n\r\n".encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# quart.formparser


async def test_a_subclass_adds_a_parse_function_used_by_request_form(app: Quart) -> None:
    async def parse_lines(
        parser: FormDataParser,
        body: Any,
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[MultiDict[str, str], MultiDict[str, Any]]:
        data = await body  # the body may be awaited whole, as Quart's Body can
        pairs = [line.split("=", 1) for line in data.decode().splitlines()]
        return parser.cls(pairs), parser.cls()

    class LinesParser(FormDataParser):
        parse_functions = {**FormDataParser.parse_functions, "text/x-lines": parse_lines}

    class LinesRequest(Request):
        form_data_parser_class = LinesParser

    app.request_class = LinesRequest

    @app.post("/")
    async def index() -> dict[str, Any]:
        form = await request.form
        return {"a": form.getlist("a"), "b": form["b"]}

    client = app.test_client()
    response = await client.post(
        "/", data=b"a=1\na=2\nb=3", headers={"Content-Type": "text/x-lines"}
    )
    assert await response.get_json() == {"a": ["1", "2"], "b": "3"}
    # The built-in ones are still there.
    response = await client.post("/", form={"a": "x", "b": "y"})
    assert await response.get_json() == {"a": ["x"], "b": "y"}


async def test_a_subclass_overrides_get_parse_func() -> None:
    class Upper(FormDataParser):
        def get_parse_func(self, mimetype: str, options: dict[str, str]) -> Any:
            inner = super().get_parse_func(mimetype, options)

            async def parse(*args: Any) -> Any:
                assert inner is not None
                form, files = await inner(*args)
                return self.cls((k, v.upper()) for k, v in form.items(multi=True)), files

            return parse if options.get("upper") else inner

    parser = Upper()
    form, _ = await parser.parse(
        chunks(b"a=x&a=y"), "application/x-www-form-urlencoded", 7, {"upper": "1"}
    )
    assert form.getlist("a") == ["X", "Y"]
    form, _ = await parser.parse(chunks(b"a=x"), "application/x-www-form-urlencoded", 3, {})
    assert form["a"] == "x"


async def test_parse_functions_cover_quarts_mimetypes() -> None:
    parser = FormDataParser()
    form, files = await parser.parse(chunks(b"k=v&e="), "application/x-url-encoded", 6)
    assert form.to_dict() == {"k": "v", "e": ""} and not files
    form, files = await parser.parse(chunks(b"k=v"), "text/plain", 3)
    assert not form and not files
    assert parser.get_parse_func("text/plain", {}) is None


async def test_a_value_error_from_a_parse_function_respects_silent() -> None:
    async def broken(*args: Any) -> Any:
        raise ValueError("nope")

    class Broken(FormDataParser):
        parse_functions = {"text/broken": broken}

    form, files = await Broken().parse(chunks(b"x"), "text/broken", 1)
    assert not form and not files
    with pytest.raises(ValueError, match="nope"):
        await Broken(silent=False).parse(chunks(b"x"), "text/broken", 1)


async def test_the_parser_takes_quarts_keyword_arguments() -> None:
    made: list[tuple[Any, ...]] = []

    def factory(total: Any, content_type: Any, filename: Any, length: Any) -> io.BytesIO:
        made.append((total, content_type, filename, length))
        return io.BytesIO()

    class Dict(MultiDict[str, Any]):
        pass

    parser = FormDataParser(cls=Dict, stream_factory=factory, max_form_parts=10)
    body = multipart_body(("f", "a.txt", "text/plain", b"hello"), ("t", None, "text/plain", b"v"))
    form, files = await parser.parse(
        chunks(body), "multipart/form-data", len(body), {"boundary": BOUNDARY}
    )
    assert isinstance(form, Dict) and isinstance(files, Dict)
    assert form["t"] == "v"
    assert files["f"].read() == b"hello" and files["f"].filename == "a.txt"
    assert made == [(len(body), "text/plain", "a.txt", 0)]


async def test_multipart_parser_on_its_own() -> None:
    body = multipart_body(
        ("name", None, "text/plain; charset=iso-8859-1", "Zoë".encode("latin-1")),
        ("odd", None, "text/plain; charset=utf-16", b"ok"),
        ("upload", "b.bin", "application/octet-stream", b"\x00\x01"),
    )
    parser = MultiPartParser(buffer_size=5, file_storage_cls=FileStorage)
    form, files = await parser.parse(chunks(body), BOUNDARY.encode(), len(body))
    assert form["name"] == "Zoë"
    assert form["odd"] == "ok"  # a charset off the safe list is read as UTF-8
    assert isinstance(files["upload"], FileStorage)
    assert files["upload"].read() == b"\x00\x01"
    files["upload"].close()
    assert parser.get_part_charset(Headers({"Content-Type": "text/plain; charset=ASCII"})) == (
        "ascii"
    )
    assert parser.get_part_charset(Headers()) == "utf-8"
    with pytest.raises(ValueError, match="bad"):
        parser.fail("bad")


# quart.utils


async def test_cancel_tasks_waits_for_cleanup() -> None:
    cleaned: list[str] = []
    started = asyncio.Event()

    async def worker(name: str) -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            cleaned.append(name)

    tasks = {asyncio.ensure_future(worker("a")), asyncio.ensure_future(worker("b"))}
    await started.wait()
    await cancel_tasks(tasks)
    assert sorted(cleaned) == ["a", "b"]
    assert all(task.cancelled() for task in tasks)


async def test_cancel_tasks_raises_what_a_task_failed_with() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.ensure_future(fails_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        await cancel_tasks({task})


async def test_raise_task_exceptions_ignores_cancelled_and_successful_tasks() -> None:
    async def ok() -> int:
        return 1

    async def bad() -> None:
        raise KeyError("k")

    done = asyncio.ensure_future(ok())
    cancelled = asyncio.ensure_future(asyncio.sleep(10))
    await done
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    raise_task_exceptions({done, cancelled})  # nothing to raise
    failed = asyncio.ensure_future(bad())
    await asyncio.gather(failed, return_exceptions=True)
    with pytest.raises(KeyError):
        raise_task_exceptions({done, failed})


def test_decode_headers_by_quarts_keyword() -> None:
    headers = decode_headers(headers=[(b"x-a", b"1"), (b"x-a", b"2"), (b"caf\xe9", b"\xe9")])
    assert headers.getlist("X-A") == ["1", "2"]
    assert headers["café"] == "é"


# quart.json


async def test_json_functions_take_object_(app: Quart) -> None:
    assert loads(object_='{"a": [1]}') == {"a": [1]}
    assert dumps(object_={"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    async with app.app_context():
        # Inside an app, the app's provider (sorted keys by default) is used.
        assert dumps(object_={"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
        assert loads(object_=b"[true]") == [True]


# quart.logging


def test_local_queue_handler_queues_records_unprepared() -> None:
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = LocalQueueHandler(records)
    logger = logging.getLogger("tests.surface.queue")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.error("value %s", 42, exc_info=True)
    finally:
        logger.removeHandler(handler)
    record = records.get_nowait()
    # Unprepared: the arguments and the exception are still there, unmerged.
    assert record.msg == "value %s" and record.args == (42,)
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert record.getMessage() == "value 42"


# quart.datastructures


async def test_file_storage_load_reads_a_file(tmp_path: Path) -> None:
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n" * 10_000)
    storage = FileStorage()
    await storage.load(source, buffer_size=1024)
    assert storage.filename == "report.csv"
    storage.stream.seek(0)
    assert storage.read() == b"a,b\n" * 10_000
    target = tmp_path / "copy.csv"
    storage.stream.seek(0)
    await storage.save(target)
    assert target.read_bytes() == source.read_bytes()


# quart.typing


def test_the_scope_types_are_hypercorns() -> None:
    assert {"type", "path", "method", "headers"} <= quart_typing.HTTPScope.__required_keys__


def test_the_test_client_has_what_its_protocol_promises(app: Quart) -> None:
    client = app.test_client()
    for protocol in (quart_typing.TestClientProtocol,):
        members = [
            name
            for name in vars(protocol)
            if not name.startswith("_") and callable(getattr(protocol, name))
        ]
        assert {"open", "request", "websocket", "set_cookie", "session_transaction"} <= set(members)
        for name in members:
            assert callable(getattr(client, name)), name
    connection = client.request("/")
    protocol = quart_typing.TestHTTPConnectionProtocol
    for name in vars(protocol):
        if not name.startswith("_") and callable(getattr(protocol, name)):
            assert callable(getattr(connection, name)), name
