"""Debug mode: the traceback page for unhandled exceptions, and where it must not appear.

In debug mode (testing off) an exception no handler takes is answered with a 500 page
showing the traceback; without debug the generic 500 (or the app's 500 handler) answers,
and with testing on the exception reaches the test. Templates reload in debug mode.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest

from quart import Quart, render_template, stream_with_context
from quart.debug import render_traceback, traceback_response
from quart.signals import got_request_exception
from quart.testing import WebsocketDisconnectError, WebsocketResponseError

SECRET = "config-secret-never-shown"


class PaymentError(Exception):
    pass


@pytest.fixture
def debug_app(app: Quart) -> Quart:
    app.debug = True
    app.config["SECRET_KEY"] = SECRET

    @app.route("/boom")
    async def boom() -> str:
        raise RuntimeError("the <b>widget</b> & co broke")

    return app


async def page_of(client: Any, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    return str(await response.get_data(as_text=True))


# ------------------------------------------------------------------ the page


async def test_debug_page_shows_the_exception_and_traceback(debug_app: Quart) -> None:
    page = await page_of(debug_app.test_client(), "/boom")

    assert "<title>RuntimeError</title>" in page
    assert "RuntimeError: the &lt;b&gt;widget&lt;/b&gt; &amp; co broke" in page
    assert "<b>widget</b>" not in page
    assert "Traceback (most recent call last):" in page
    frame = re.search(
        r"File <code>([^<]*)</code>, line (\d+), in <code>boom</code>.*?<pre>(.*?)</pre>",
        page,
        re.S,
    )
    assert frame is not None
    assert frame.group(1) == __file__
    assert (
        frame.group(3)
        == "raise RuntimeError(&#34;the &lt;b&gt;widget&lt;/b&gt; &amp; co broke&#34;)"
    )
    source = Path(__file__).read_text().splitlines()
    assert "raise RuntimeError" in source[int(frame.group(2)) - 1]


async def test_debug_page_marks_app_frames_apart_from_library_frames(debug_app: Quart) -> None:
    # A root path above the framework's own files (as in a project with a virtual
    # environment inside it): those frames still count as the library's.
    debug_app.root_path = str(Path(__file__).resolve().parent.parent)
    page = await page_of(debug_app.test_client(), "/boom")

    frames = re.findall(
        r'<li class="frame (app|library)">\s*<div class="location">File '
        r"<code>([^<]*)</code>",
        page,
    )
    kinds = {filename: kind for kind, filename in frames}
    assert kinds[__file__] == "app"
    framework = [name for name in kinds if name.endswith(os.path.join("quart", "app.py"))]
    assert framework
    assert all(kinds[name] == "library" for name in framework)


async def test_debug_page_shows_no_configuration(debug_app: Quart) -> None:
    page = await page_of(debug_app.test_client(), "/boom")

    assert SECRET not in page
    assert "SECRET_KEY" not in page


async def test_debug_page_shows_the_exception_chain(debug_app: Quart) -> None:
    @debug_app.route("/chained")
    async def chained() -> str:
        try:
            {}["missing-key"]
        except KeyError as error:
            raise PaymentError("card declined") from error
        return "unreachable"

    page = await page_of(debug_app.test_client(), "/chained")
    first = page.index("KeyError: &#39;missing-key&#39;")
    link = page.index("The above exception was the direct cause of the following exception:")
    last = page.index("PaymentError: card declined")
    assert first < link < last
    assert "During handling" not in page


async def test_debug_page_shows_an_implicit_chain(debug_app: Quart) -> None:
    @debug_app.route("/during")
    async def during() -> str:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            raise PaymentError("while handling")  # noqa: B904
        return "unreachable"

    page = await page_of(debug_app.test_client(), "/during")
    first = page.index("ZeroDivisionError: division by zero")
    link = page.index("During handling of the above exception, another exception occurred:")
    last = page.index("PaymentError: while handling")
    assert first < link < last


async def test_debug_page_counts_repeated_frames(debug_app: Quart) -> None:
    def countdown(number: int) -> int:
        if number == 0:
            raise RecursionError("bottom reached")
        return countdown(number - 1)

    @debug_app.route("/deep")
    async def deep() -> str:
        return str(countdown(50))

    page = await page_of(debug_app.test_client(), "/deep")
    assert page.count("in <code>countdown</code>") == 4  # three repeats, then the last
    assert "[The frame above repeated 47 more times]" in page
    assert "RecursionError: bottom reached" in page


async def test_debug_page_for_sync_views_and_hooks(debug_app: Quart) -> None:
    @debug_app.route("/sync")
    def sync_view() -> str:
        raise ValueError("from a thread")

    @debug_app.route("/hooked")
    async def hooked() -> str:
        return "fine"

    @debug_app.before_request
    def before() -> None:
        from quart import request

        if request.path == "/hooked":
            raise LookupError("from before_request")

    client = debug_app.test_client()
    page = await page_of(client, "/sync")
    assert "ValueError: from a thread" in page
    assert "in <code>sync_view</code>" in page

    page = await page_of(client, "/hooked")
    assert "LookupError: from before_request" in page
    assert "in <code>before</code>" in page


async def test_debug_page_for_a_failing_after_request_hook(debug_app: Quart) -> None:
    @debug_app.route("/fine")
    async def fine() -> str:
        return "fine"

    @debug_app.after_request
    async def after(response: Any) -> Any:
        raise OSError("after_request failed")

    page = await page_of(debug_app.test_client(), "/fine")
    assert "OSError: after_request failed" in page


async def test_debug_page_is_logged_once_and_signalled_once(
    debug_app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    signalled: list[BaseException] = []

    async def receiver(sender: Quart, exception: BaseException) -> None:
        signalled.append(exception)

    with (
        got_request_exception.connected_to(receiver, debug_app),
        caplog.at_level(logging.ERROR),
    ):
        await page_of(debug_app.test_client(), "/boom")

    records = [record for record in caplog.records if record.exc_info]
    assert len(records) == 1
    assert records[0].name == debug_app.logger.name
    assert records[0].getMessage() == "Exception on GET /boom"
    assert isinstance(records[0].exc_info[1], RuntimeError)  # type: ignore[index]
    assert len(signalled) == 1
    assert isinstance(signalled[0], RuntimeError)


async def test_teardown_sees_the_exception_shown(debug_app: Quart) -> None:
    seen: list[BaseException | None] = []

    @debug_app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        seen.append(error)

    await page_of(debug_app.test_client(), "/boom")
    assert len(seen) == 1
    assert isinstance(seen[0], RuntimeError)


async def test_after_request_hooks_do_not_run_on_the_debug_page(debug_app: Quart) -> None:
    @debug_app.after_request
    async def after(response: Any) -> Any:
        response.headers["X-After"] = "ran"
        return response

    response = await debug_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "X-After" not in response.headers


# ------------------------------------------------------- handlers in debug mode


async def test_specific_handlers_still_run_in_debug_mode(debug_app: Quart) -> None:
    @debug_app.errorhandler(PaymentError)
    async def payment(error: PaymentError) -> Any:
        return f"handled: {error}", 402

    @debug_app.route("/pay")
    async def pay() -> str:
        raise PaymentError("no funds")

    response = await debug_app.test_client().get("/pay")
    assert response.status_code == 402
    assert await response.get_data(as_text=True) == "handled: no funds"


async def test_exception_handler_catches_all_in_debug_mode(debug_app: Quart) -> None:
    @debug_app.errorhandler(Exception)
    async def anything(error: Exception) -> Any:
        return f"caught {type(error).__name__}", 503

    response = await debug_app.test_client().get("/boom")
    assert response.status_code == 503
    assert await response.get_data(as_text=True) == "caught RuntimeError"


async def test_500_handler_gives_way_to_the_debug_page(debug_app: Quart) -> None:
    called: list[Exception] = []

    @debug_app.errorhandler(500)
    async def server_error(error: Exception) -> Any:
        called.append(error)
        return "custom 500", 500

    page = await page_of(debug_app.test_client(), "/boom")
    assert "RuntimeError: the" in page
    assert called == []


async def test_http_errors_are_not_debug_pages(debug_app: Quart) -> None:
    response = await debug_app.test_client().get("/nowhere")
    assert response.status_code == 404
    assert "Traceback" not in await response.get_data(as_text=True)


# ------------------------------------------------- where the page never appears


async def test_no_debug_page_without_debug(debug_app: Quart) -> None:
    debug_app.debug = False
    response = await debug_app.test_client().get("/boom")

    assert response.status_code == 500
    body = await response.get_data(as_text=True)
    assert "Internal Server Error" in body
    assert "Traceback" not in body
    assert "widget" not in body
    assert "boom" not in body


async def test_the_500_handler_answers_without_debug(debug_app: Quart) -> None:
    debug_app.debug = False

    @debug_app.errorhandler(500)
    async def server_error(error: Exception) -> Any:
        return "custom 500", 500

    response = await debug_app.test_client().get("/boom")
    assert response.status_code == 500
    assert await response.get_data(as_text=True) == "custom 500"


async def test_no_debug_page_when_exceptions_do_not_propagate(debug_app: Quart) -> None:
    debug_app.config["PROPAGATE_EXCEPTIONS"] = False

    response = await debug_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Traceback" not in await response.get_data(as_text=True)


async def test_testing_mode_raises_in_the_test_instead(debug_app: Quart) -> None:
    debug_app.testing = True

    with pytest.raises(RuntimeError, match="widget"):
        await debug_app.test_client().get("/boom")


async def test_a_stream_failing_midway_is_cut_off_and_logged(
    debug_app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @debug_app.route("/stream")
    async def stream() -> Any:
        @stream_with_context
        async def generate() -> Any:
            yield b"first chunk;"
            raise RuntimeError("stream broke")

        return generate()

    with caplog.at_level(logging.ERROR):
        response = await debug_app.test_client().get("/stream")

    assert response.status_code == 200
    assert await response.get_data() == b"first chunk;"
    records = [record for record in caplog.records if record.exc_info]
    assert len(records) == 1
    assert str(records[0].exc_info[1]) == "stream broke"  # type: ignore[index]


# ---------------------------------------------------------------- websockets


async def test_websocket_failing_before_accept_gets_the_page(debug_app: Quart) -> None:
    @debug_app.websocket("/ws")
    async def ws() -> None:
        raise RuntimeError("handshake trouble")

    with pytest.raises(WebsocketResponseError) as denial:
        async with debug_app.test_client().websocket("/ws") as connection:
            await connection.receive()

    response = denial.value.response
    assert response.status_code == 500
    page = await response.get_data(as_text=True)
    assert "RuntimeError: handshake trouble" in page
    assert "in <code>ws</code>" in page


async def test_websocket_failing_after_accept_closes_with_1011(
    debug_app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    from quart import websocket

    @debug_app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("hello")
        raise RuntimeError("mid-conversation")

    with caplog.at_level(logging.ERROR):
        async with debug_app.test_client().websocket("/ws") as connection:
            assert await connection.receive() == "hello"
            with pytest.raises(WebsocketDisconnectError) as closed:
                await connection.receive()

    assert closed.value.code == 1011
    records = [record for record in caplog.records if record.exc_info]
    assert [str(record.exc_info[1]) for record in records] == ["mid-conversation"]  # type: ignore[index]


async def test_websocket_without_debug_gets_the_generic_500(debug_app: Quart) -> None:
    debug_app.debug = False

    @debug_app.websocket("/ws")
    async def ws() -> None:
        raise RuntimeError("handshake trouble")

    with pytest.raises(WebsocketResponseError) as denial:
        async with debug_app.test_client().websocket("/ws") as connection:
            await connection.receive()

    page = await denial.value.response.get_data(as_text=True)
    assert denial.value.response.status_code == 500
    assert "handshake trouble" not in page


# ------------------------------------------------------------- used directly


async def test_traceback_response_of_the_exception_being_handled(app: Quart) -> None:
    async with app.test_request_context("/"):
        try:
            raise KeyError("unique-key")
        except KeyError:
            response = await traceback_response()

    assert response.status_code == 500
    assert "KeyError: &#39;unique-key&#39;" in await response.get_data(as_text=True)


async def test_traceback_response_needs_an_exception() -> None:
    with pytest.raises(ValueError, match="No exception"):
        await traceback_response()


async def test_traceback_response_outside_an_app_marks_no_app_frames() -> None:
    try:
        raise TypeError("outside")
    except TypeError as error:
        response = await traceback_response(error)

    page = await response.get_data(as_text=True)
    assert "TypeError: outside" in page
    assert 'class="frame app"' not in page
    assert 'class="frame library"' in page


def test_render_traceback_of_an_exception_never_raised() -> None:
    page = render_traceback(PaymentError("never raised"), root_path=os.path.dirname(__file__))
    assert f"<title>{PaymentError.__module__}.PaymentError</title>" in page
    assert "PaymentError: never raised" in page
    assert "<li" not in page


# -------------------------------------------------------- templates reload


def write(path: Path, text: str, *, later: bool = False) -> None:
    """Write ``path``; with ``later``, move its modification time on as an edit would."""
    before = path.stat().st_mtime if path.exists() else None
    path.write_text(text)
    if later and before is not None:
        os.utime(path, (before + 10, before + 10))


@pytest.fixture
def template_app(tmp_path: Path) -> Quart:
    app = Quart(__name__, template_folder=str(tmp_path), static_folder=None)

    @app.route("/")
    async def index() -> str:
        return await render_template("page.html")

    return app


async def test_templates_reload_when_debug_is_turned_on_later(
    template_app: Quart, tmp_path: Path
) -> None:
    page = tmp_path / "page.html"
    write(page, "version 1")
    client = template_app.test_client()

    assert await (await client.get("/")).get_data(as_text=True) == "version 1"
    write(page, "version 2", later=True)
    assert await (await client.get("/")).get_data(as_text=True) == "version 1"

    template_app.debug = True
    write(page, "version 3", later=True)
    assert await (await client.get("/")).get_data(as_text=True) == "version 3"


async def test_templates_reload_in_an_app_created_in_debug_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_DEBUG", "1")
    app = Quart(__name__, template_folder=str(tmp_path), static_folder=None)
    assert app.debug

    @app.route("/")
    async def index() -> str:
        return await render_template("page.html")

    page = tmp_path / "page.html"
    write(page, "version 1")
    client = app.test_client()
    assert await (await client.get("/")).get_data(as_text=True) == "version 1"
    write(page, "version 2", later=True)
    assert await (await client.get("/")).get_data(as_text=True) == "version 2"
