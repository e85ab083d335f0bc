"""Flask code on this framework through ``quart.flask_patch``: the ``flask`` modules give
our objects, Flask's synchronous API works beside Quart's async one in the same app, and
real Flask extensions (Flask-Login, Flask-WTF) run unchanged.

The patch replaces ``sys.modules`` entries for the whole process, so tests take it through
the ``flask_patch`` fixture, which puts the real modules back afterwards (other tests
compare our cookies with the real Flask's)."""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import quart
from quart import Quart
from quart.datastructures import FileStorage

# Modules the patch adds or replaces, and the extensions imported on top of it.
_PATCHED = ("flask", "flask_login", "flask_wtf", "wtforms", "quart.flask_patch")


def _patched_name(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _PATCHED)


@pytest.fixture
def flask_patch() -> Iterator[None]:
    """``import quart.flask_patch`` for one test, undone exactly afterwards."""
    saved = {name: module for name, module in sys.modules.items() if _patched_name(name)}
    had_attribute = "flask_patch" in vars(quart)
    read_body_first = vars(Quart)["_read_body_first"]
    importlib.import_module("quart.flask_patch")
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _patched_name(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        Quart._read_body_first = read_body_first
        if not had_attribute:
            delattr(quart, "flask_patch")


def text_of(response: Any) -> Any:
    return response.get_data(as_text=True)


# ------------------------------------------------------------------ the modules


def test_flask_names_are_ours(flask_patch: None) -> None:
    import flask
    import flask.app
    import flask.blueprints
    import flask.cli
    import flask.config
    import flask.ctx
    import flask.globals
    import flask.helpers
    import flask.json
    import flask.json.provider
    import flask.json.tag
    import flask.logging
    import flask.sessions
    import flask.signals
    import flask.templating
    import flask.testing
    import flask.typing
    import flask.views
    import flask.wrappers
    from blinker import Namespace

    import quart.cli
    import quart.json.provider
    import quart.json.tag
    import quart.logging
    import quart.sessions
    import quart.testing
    import quart.typing
    import quart.views

    assert flask.Flask is flask.app.Flask is Quart
    assert flask.Blueprint is flask.blueprints.Blueprint is quart.Blueprint
    assert flask.Config is flask.config.Config is quart.Config
    assert flask.current_app is flask.globals.current_app is quart.current_app
    assert flask.g is quart.g
    assert flask.session is quart.session
    assert flask.request is flask.globals.request
    assert flask.Request is flask.wrappers.Request is quart.Request
    assert flask.Response is flask.wrappers.Response is quart.Response
    for name in ("abort", "redirect", "url_for", "jsonify", "get_flashed_messages"):
        assert getattr(flask, name) is getattr(quart, name), name
    for name in ("has_app_context", "has_request_context", "after_this_request"):
        assert getattr(flask, name) is getattr(flask.ctx, name) is getattr(quart, name), name
    assert flask.json.jsonify is quart.jsonify
    assert flask.json.provider.DefaultJSONProvider is quart.json.provider.DefaultJSONProvider
    assert flask.json.tag.TaggedJSONSerializer is quart.json.tag.TaggedJSONSerializer
    assert flask.ctx._AppCtxGlobals is Quart.app_ctx_globals_class
    assert flask.logging.default_handler is quart.logging.default_handler
    assert (
        flask.sessions.SecureCookieSessionInterface is quart.sessions.SecureCookieSessionInterface
    )
    assert flask.signals.Namespace is Namespace
    assert flask.signals.request_started is quart.request_started
    assert flask.request_finished is quart.request_finished
    assert flask.typing.ResponseReturnValue is quart.typing.ResponseReturnValue
    assert flask.views.MethodView is quart.views.MethodView
    assert flask.cli.FlaskGroup is quart.cli.QuartGroup
    assert flask.cli.with_appcontext is quart.cli.with_appcontext
    assert issubclass(flask.testing.FlaskClient, quart.testing.QuartClient)
    assert flask.render_template is flask.templating.render_template
    assert flask.flash is flask.helpers.flash
    assert flask.flash is not quart.flash  # Flask's is sync


def test_flask_internals_under_us_stay_flasks(flask_patch: None) -> None:
    import flask
    import flask.sansio.blueprints
    from flask.sansio.app import App

    assert issubclass(Quart, App)
    assert issubclass(quart.Blueprint, flask.sansio.blueprints.Blueprint)
    assert flask.sansio.blueprints.Blueprint is not quart.Blueprint


async def test_a_flask_module_imported_late_works_against_ours(
    flask_patch: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # EXPLAIN_TEMPLATE_LOADING makes Flask's template loader import flask.debughelpers,
    # which nothing has imported yet: it loads from Flask's files, against our modules.
    from flask import Flask, render_template

    sys.modules.pop("flask.debughelpers", None)  # put back by the fixture
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "hello.html").write_text("hello {{ name }}")
    app = Flask(__name__, root_path=str(tmp_path), static_folder=None)
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True

    @app.route("/")
    def index() -> str:
        return render_template("hello.html", name="you")

    with caplog.at_level(logging.INFO):
        response = await app.test_client().get("/")
    assert await text_of(response) == "hello you"
    assert "Locating template 'hello.html'" in caplog.text
    assert "found" in caplog.text


async def test_an_app_built_before_the_patch_keeps_working(
    app: Quart, request: pytest.FixtureRequest
) -> None:
    @app.route("/", methods=["POST"])
    async def index() -> Any:
        return {"form": (await quart.request.form).to_dict()}

    request.getfixturevalue("flask_patch")
    response = await app.test_client().post("/", form={"a": "1"})
    assert await response.get_json() == {"form": {"a": "1"}}


# ------------------------------------------------------------- request bodies


def _upload(content: bytes = b"file content", name: str = "notes.txt") -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type="text/plain")


async def test_flask_request_reads_forms_without_awaiting(flask_patch: None) -> None:
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)

    @app.route("/sync", methods=["POST"])
    def sync_view() -> Any:
        upload = request.files["upload"]
        return {
            "form": request.form.to_dict(),
            "values": request.values.to_dict(),
            "file": [upload.filename, upload.read().decode()],
        }

    @app.route("/async", methods=["POST"])
    async def async_view() -> Any:
        # Flask code and Quart code read the same request.
        quart_form = await quart.request.form
        return {"same": quart_form == request.form, "name": request.form["name"]}

    client = app.test_client()
    response = await client.post("/sync?page=2", form={"name": "Ada"}, files={"upload": _upload()})
    assert await response.get_json() == {
        "form": {"name": "Ada"},
        "values": {"page": "2", "name": "Ada"},
        "file": ["notes.txt", "file content"],
    }
    response = await client.post("/async", form={"name": "Bob"})
    assert await response.get_json() == {"same": True, "name": "Bob"}


async def test_the_body_is_read_before_the_view_runs(flask_patch: None) -> None:
    # The body is sent only once the request has started: the async view, on the event
    # loop's thread where nothing can wait, still finds it read.
    from flask import Flask, request, request_started

    app = Flask(__name__, static_folder=None)
    started = asyncio.Event()

    @app.route("/", methods=["POST"])
    async def view() -> Any:
        return request.form.to_dict()

    async def on_started(sender: Any) -> None:
        started.set()

    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "7"}
    with request_started.connected_to(on_started, app):
        async with app.test_client().request("/", method="POST", headers=headers) as connection:
            await started.wait()
            await connection.send(b"a=1")
            await connection.send(b"&b=2")
            await connection.send_complete()
            response = await connection.as_response()
    assert await response.get_json() == {"a": "1", "b": "2"}


async def test_flask_uploads_save_without_awaiting(flask_patch: None, tmp_path: Path) -> None:
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)

    @app.route("/", methods=["POST"])
    def save() -> str:
        request.files["upload"].save(tmp_path / "saved.txt")
        return "saved"

    response = await app.test_client().post("/", files={"upload": _upload(b"kept")})
    assert await text_of(response) == "saved"
    assert (tmp_path / "saved.txt").read_bytes() == b"kept"


async def test_flask_request_reads_json_and_data_without_awaiting(flask_patch: None) -> None:
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)

    @app.route("/json", methods=["POST"])
    def json_view() -> Any:
        return {
            "json": request.json,
            "get_json": request.get_json(),
            "text": request.get_data(as_text=True),
        }

    @app.route("/raw", methods=["PUT"])
    def raw_view() -> Any:
        return {"data": request.data.decode(), "stream": request.stream.read().decode()}

    @app.route("/empty")
    def empty_view() -> Any:
        return {"data": request.get_data(as_text=True), "form": request.form.to_dict()}

    client = app.test_client()
    response = await client.post("/json", json={"a": [1, 2]})
    assert await response.get_json() == {
        "json": {"a": [1, 2]},
        "get_json": {"a": [1, 2]},
        "text": '{"a": [1, 2]}',
    }
    response = await client.put("/raw", data=b"raw bytes", headers={"Content-Type": "text/plain"})
    assert await response.get_json() == {"data": "raw bytes", "stream": "raw bytes"}
    response = await client.get("/empty")
    assert await response.get_json() == {"data": "", "form": {}}


async def test_flask_get_json_follows_flask(flask_patch: None) -> None:
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)

    @app.route("/", methods=["POST"])
    def view() -> Any:
        if "silent" in request.args:
            return {"json": request.get_json(silent=True)}
        if "force" in request.args:
            return {"json": request.get_json(force=True)}
        return {"json": request.get_json()}

    client = app.test_client()
    # Flask, unlike Quart, refuses a body that is not declared as JSON.
    response = await client.post("/", data=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    response = await client.post(
        "/?silent", data=b'{"a": 1}', headers={"Content-Type": "text/plain"}
    )
    assert await response.get_json() == {"json": None}
    response = await client.post(
        "/?force", data=b'{"a": 1}', headers={"Content-Type": "text/plain"}
    )
    assert await response.get_json() == {"json": {"a": 1}}
    response = await client.post("/", data=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Failed to decode JSON object" in await text_of(response)
    response = await client.post(
        "/?silent", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert await response.get_json() == {"json": None}


async def test_flask_request_in_a_test_request_context(flask_patch: None) -> None:
    # Nothing read the body ahead here: it is in memory, so it parses at once.
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)
    async with app.test_request_context("/", method="POST", form={"a": "1"}):
        assert request.form.to_dict() == {"a": "1"}
        assert request.path == "/"
    async with app.test_request_context("/", method="POST", json={"b": 2}):
        assert request.get_json() == {"b": 2}


async def test_flask_request_outside_a_request_says_so(flask_patch: None) -> None:
    from flask import request

    with pytest.raises(RuntimeError, match="outside of request context"):
        request.form  # noqa: B018


async def test_unread_body_on_the_event_loop_says_to_await(flask_patch: None) -> None:
    # A body still to come cannot be waited for synchronously on the loop's thread
    # (that would block the loop for good): the error says what to write instead, and
    # the body can still be awaited afterwards.
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with app.test_request_context("/", method="POST"):
        quart.request.body = quart.request.body_class(4, None, receive=messages.get, timeout=5)
        with pytest.raises(RuntimeError, match=r"await request\.get_data\(\)"):
            request.get_data()
        messages.put_nowait({"type": "http.request", "body": b"data", "more_body": False})
        assert await quart.request.get_data() == b"data"
        assert request.get_data() == b"data"


def _body_app(form_view: Callable[..., Any], json_view: Callable[..., Any]) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=64, MAX_FORM_PARTS=3, BODY_TIMEOUT=0.2)
    app.add_url_rule("/form", "form", form_view, methods=["POST"])
    app.add_url_rule("/json", "json", json_view, methods=["POST"])
    app.add_url_rule("/ignore", "ignore", lambda: "ignored", methods=["POST"])
    return app


async def _outcomes(app: Quart) -> list[tuple[int | None, bytes]]:
    """The responses to bodies that are too large, malformed, slow or abandoned."""
    client = app.test_client()
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/form", {"form": {"a": "x" * 100}}),  # larger than MAX_CONTENT_LENGTH
        ("/ignore", {"form": {"a": "x" * 100}}),  # the same, to a view that never reads it
        ("/form", {"form": {"a": "1", "b": "2", "c": "3", "d": "4"}}),  # too many fields
        ("/ignore", {"form": {"a": "1", "b": "2", "c": "3", "d": "4"}}),
        ("/form", {"data": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}}),
        ("/json", {"data": b"{nope", "headers": {"Content-Type": "application/json"}}),
        ("/json", {"json": {"a": 1}}),
        ("/form", {"form": {"a": "1"}}),
    ]
    results: list[tuple[int | None, bytes]] = []
    for path, arguments in requests:
        response = await client.post(path, **arguments)
        results.append((response.status_code, await response.get_data()))
    headers = {**urlencoded, "Content-Length": "10"}
    async with client.request("/form", method="POST", headers=headers) as connection:
        await connection.send(b"a=1")  # and nothing more: the body times out
        response = await connection.as_response()
    results.append((response.status_code, await response.get_data()))
    async with client.request("/form", method="POST", headers=headers) as connection:
        await connection.send(b"a=1")
        await connection.disconnect()
    results.append((connection.status_code, bytes(connection.response_data)))
    return results


async def test_body_errors_answer_as_without_the_patch(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    async def quart_form() -> Any:
        return (await quart.request.form).to_dict()

    async def quart_json() -> Any:
        return await quart.request.get_json()

    expected = await _outcomes(_body_app(quart_form, quart_json))
    assert [status for status, _ in expected] == [413, 200, 413, 200, 400, 400, 200, 200, 408, None]

    request.getfixturevalue("flask_patch")
    flask = importlib.import_module("flask")

    def flask_form() -> Any:
        return flask.request.form.to_dict()

    def flask_json() -> Any:
        return flask.request.get_json()

    assert await _outcomes(_body_app(flask_form, flask_json)) == expected
    assert "Exception on" not in caplog.text  # no 500s, nothing logged as an app error


async def test_a_request_without_a_body_is_not_read(flask_patch: None) -> None:
    from flask import Flask, request

    app = Flask(__name__, static_folder=None)

    @app.route("/")
    async def view() -> Any:
        return {
            "data": request.get_data(as_text=True),
            "form": request.form.to_dict(),
            "json": request.get_json(silent=True),
        }

    client = app.test_client()
    # Reading this request's body would wait for a message that never comes.
    async with asyncio.timeout(5), client.request("/") as connection:
        response = await connection.as_response()
    assert await response.get_json() == {"data": "", "form": {}, "json": None}


# ---------------------------------------------------------------- sync helpers


async def test_flask_flash_is_sync_and_signals(flask_patch: None) -> None:
    from flask import Flask, flash, get_flashed_messages, message_flashed

    app = Flask(__name__, static_folder=None)
    app.secret_key = "flash"
    flashed: list[tuple[str, str, str]] = []

    def on_flash(sender: Any, message: str, category: str) -> None:
        flashed.append(("sync receiver", message, category))

    async def on_flash_async(sender: Any, message: str, category: str) -> None:
        flashed.append(("async receiver", message, category))

    @app.route("/sync")
    def sync_view() -> str:
        flash("from a sync view", "info")
        return "flashed"

    @app.route("/async")
    async def async_view() -> str:
        flash("from an async view")
        return "flashed"

    @app.route("/show")
    def show() -> Any:
        return {"messages": get_flashed_messages(with_categories=True)}

    client = app.test_client()
    with (
        message_flashed.connected_to(on_flash, app),
        message_flashed.connected_to(on_flash_async, app),
    ):
        await client.get("/sync")
        await client.get("/async")
    response = await client.get("/show")
    assert await response.get_json() == {
        "messages": [["info", "from a sync view"], ["message", "from an async view"]]
    }
    assert sorted(flashed) == [
        ("async receiver", "from a sync view", "info"),
        ("async receiver", "from an async view", "message"),
        ("sync receiver", "from a sync view", "info"),
        ("sync receiver", "from an async view", "message"),
    ]


async def test_async_helpers_are_sync_in_sync_views(flask_patch: None) -> None:
    from flask import (
        Flask,
        make_response,
        render_template_string,
        send_file,
        stream_template_string,
    )

    app = Flask(__name__, static_folder=None)

    @app.route("/render")
    def render() -> Any:
        page = render_template_string("<p>{{ word }}</p>", word="<hi>")
        response = make_response(page, 201, {"X-Made": "sync"})
        return response

    @app.route("/file")
    def file() -> Any:
        return send_file(io.BytesIO(b"file body"), mimetype="text/plain")

    @app.route("/stream")
    def stream() -> Any:
        return stream_template_string("{% for i in range(3) %}{{ i }}{% endfor %}")

    client = app.test_client()
    response = await client.get("/render")
    assert response.status_code == 201
    assert response.headers["X-Made"] == "sync"
    assert await text_of(response) == "<p>&lt;hi&gt;</p>"
    response = await client.get("/file")
    assert await response.get_data() == b"file body"
    assert await text_of(await client.get("/stream")) == "012"


async def test_flask_helpers_in_a_sync_view(flask_patch: None) -> None:
    from flask import (
        Flask,
        Response,
        abort,
        after_this_request,
        has_request_context,
        jsonify,
        redirect,
        url_for,
    )

    app = Flask(__name__, static_folder=None)

    @app.route("/thing/<int:number>")
    def thing(number: int) -> Any:
        if number == 0:
            abort(404)
        if number == 1:
            return redirect(url_for("thing", number=2))
        if number == 3:
            return Response("plain", status=201, mimetype="text/plain")

        @after_this_request
        def add_header(response: Any) -> Any:
            response.headers["X-After"] = "yes"
            return response

        return jsonify(number=number, in_request=has_request_context())

    client = app.test_client()
    assert (await client.get("/thing/0")).status_code == 404
    response = await client.get("/thing/1")
    assert response.status_code == 302
    assert response.location == "/thing/2"
    response = await client.get("/thing/2")
    assert await response.get_json() == {"number": 2, "in_request": True}
    assert response.headers["X-After"] == "yes"
    response = await client.get("/thing/3")
    assert (response.status_code, response.mimetype) == (201, "text/plain")
    assert await text_of(response) == "plain"


async def test_sync_helpers_on_the_event_loop_say_to_await(flask_patch: None) -> None:
    from flask import Flask, make_response, render_template_string

    app = Flask(__name__, static_folder=None)
    async with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match=r"await render_template_string\(...\)"):
            render_template_string("never rendered")
        with pytest.raises(RuntimeError, match=r"await make_response\(...\)"):
            make_response("never made")


async def test_sync_helpers_need_no_free_pool_thread(flask_patch: None) -> None:
    # A sync view holds a pool thread while the template renders on the loop, and the
    # template's sync context processor needs a thread too: it runs in the waiting one,
    # so the app works even when every pool thread is waiting like this.
    from flask import Flask, render_template_string

    app = Flask(__name__, static_folder=None)
    threads: set[int] = set()

    @app.context_processor
    def who() -> dict[str, str]:
        threads.add(threading.get_ident())
        return {"who": "processor"}

    async def async_page() -> str:
        return await quart.render_template_string("async {{ who }}")

    @app.route("/sync")
    def sync_view() -> str:
        threads.add(threading.get_ident())
        return render_template_string("sync {{ who }}")

    @app.route("/ensure-sync")
    def ensure_sync_view() -> str:
        return app.ensure_sync(async_page)()  # type: ignore[no-any-return]

    executor = ThreadPoolExecutor(max_workers=1)
    asyncio.get_running_loop().set_default_executor(executor)
    client = app.test_client()
    try:
        async with asyncio.timeout(10):
            responses = await asyncio.gather(
                *(client.get(path) for path in ["/sync", "/ensure-sync"] * 3)
            )
    finally:
        executor.shutdown(wait=False)  # a deadlocked thread must not hang the test
    assert [await text_of(response) for response in responses] == [
        "sync processor",
        "async processor",
    ] * 3
    assert len(threads) == 1


async def test_ensure_sync(app: Quart) -> None:
    def sync_func() -> str:
        return "sync"

    async def async_func(word: str) -> str:
        await asyncio.sleep(0)  # really suspends, on the loop
        return f"{word} {quart.request.path} {quart.g.who}"

    assert app.ensure_sync(sync_func) is sync_func

    @app.before_request
    async def remember() -> None:
        quart.g.who = "me"

    @app.route("/path")
    def view() -> str:
        return app.ensure_sync(async_func)("from")  # type: ignore[no-any-return]

    response = await app.test_client().get("/path")
    assert await text_of(response) == "from /path me"

    with pytest.raises(RuntimeError, match=r"await .*async_func\(\.\.\.\)"):
        app.ensure_sync(async_func)("on the loop")

    async def no_request() -> str:
        await asyncio.sleep(0)
        return f"ran on its own loop: {asyncio.get_running_loop() is not loop}"

    # A thread no event loop handed work to runs the function on a loop of its own.
    loop = asyncio.get_running_loop()
    assert await asyncio.to_thread(app.ensure_sync(no_request)) == "ran on its own loop: True"


async def test_flask_copy_current_request_context_runs_in_other_threads(
    flask_patch: None,
) -> None:
    from flask import Flask, copy_current_request_context, g, request

    app = Flask(__name__, static_folder=None)
    results: dict[str, str] = {}

    def in_thread(func: Callable[[], str], key: str) -> None:
        thread = threading.Thread(target=lambda: results.__setitem__(key, func()))
        thread.start()
        thread.join()

    @app.route("/sync")
    def sync_view() -> str:
        g.word = "sync"

        @copy_current_request_context
        def work() -> str:
            return f"{g.word} {request.path}"

        in_thread(work, "sync")
        return "done"

    @app.route("/async")
    async def async_view() -> str:
        g.word = "async"

        @copy_current_request_context
        async def work() -> str:
            await asyncio.sleep(0)
            return f"{g.word} {request.path}"

        await asyncio.to_thread(in_thread, work, "async")
        return "done"

    client = app.test_client()
    await client.get("/sync")
    await client.get("/async")
    assert results == {"sync": "sync /sync", "async": "async /async"}


# ------------------------------------------------------------------- test client


async def test_flask_client_session_transaction_both_ways(flask_patch: None) -> None:
    from flask import Flask, session
    from flask.testing import FlaskClient

    app = Flask(__name__, static_folder=None)
    app.secret_key = "client"
    app.test_client_class = FlaskClient

    @app.route("/")
    def view() -> Any:
        return {"sync": session.get("sync"), "async": session.get("async")}

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["sync"] = 1
    async with client.session_transaction() as sess:
        sess["async"] = 2
    response = await client.get("/")
    assert await response.get_json() == {"sync": 1, "async": 2}


async def test_flask_client_sync_session_transaction_that_must_wait(
    flask_patch: None,
) -> None:
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface
    from flask.testing import FlaskClient

    class StoreInterface(SecureCookieSessionInterface):
        async def open_session(self, app: Any, request: Any) -> Any:
            await asyncio.sleep(0)  # a server-side store would await its database
            return await super().open_session(app, request)

    app = Flask(__name__, static_folder=None)
    app.secret_key = "client"
    app.session_interface = StoreInterface()
    client = FlaskClient(app)
    with (
        pytest.raises(RuntimeError, match=r"async with client\.session_transaction"),
        client.session_transaction(),
    ):
        pass
    async with client.session_transaction() as sess:
        sess["fine"] = True


# ------------------------------------------------------------------- Flask-Login


def make_login_app() -> Any:
    """A Flask-Login app in Flask's style, with async and sync views."""
    from flask import Flask, redirect, render_template_string, request, url_for
    from flask_login import (
        LoginManager,
        UserMixin,
        current_user,
        fresh_login_required,
        login_required,
        login_user,
        logout_user,
    )

    class User(UserMixin):
        def __init__(self, user_id: str, api_key: str) -> None:
            self.id = user_id
            self.api_key = api_key

    users = {"ada": User("ada", "ada-key"), "bob": User("bob", "bob-key")}
    app = Flask(__name__, static_folder=None)
    app.secret_key = "flask-login"
    app.users = users
    manager = LoginManager(app)
    manager.login_view = "login"
    manager.refresh_view = "reauthenticate"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return users.get(user_id)

    @manager.request_loader
    def load_user_from_request(flask_request: Any) -> User | None:
        key = flask_request.headers.get("X-Api-Key")
        return next((user for user in users.values() if user.api_key == key), None)

    page = (
        "{% for category, message in get_flashed_messages(with_categories=true) %}"
        "[{{ category }}: {{ message }}]{% endfor %}"
        " authenticated={{ current_user.is_authenticated }}"
    )

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            user = users.get(request.form["name"])
            if user is None or request.form["password"] != "secret":
                return render_template_string("wrong password"), 403
            login_user(user, remember=request.form.get("remember") == "yes")
            return redirect(request.args.get("next") or url_for("whoami"))
        return render_template_string(page)

    @app.route("/reauthenticate")
    async def reauthenticate() -> Any:
        return await quart.render_template_string(page)

    @app.route("/private")
    @login_required
    async def private() -> str:
        await asyncio.sleep(0)
        return f"async page of {current_user.id}"

    @app.route("/private-sync")
    @login_required
    def private_sync() -> str:
        return f"sync page of {current_user.id}"

    @app.route("/settings")
    @fresh_login_required
    def settings() -> str:
        return f"settings of {current_user.id}"

    @app.route("/whoami")
    async def whoami() -> Any:
        return await quart.render_template_string(
            "{{ current_user.is_authenticated }} {{ current_user.get_id() }}"
        )

    @app.route("/logout")
    def logout() -> Any:
        logout_user()
        return redirect(url_for("login"))

    return app


async def _log_in(client: Any, remember: bool = False) -> Any:
    form = {"name": "ada", "password": "secret"}
    if remember:
        form["remember"] = "yes"
    return await client.post("/login", form=form)


async def test_login_required_redirects_to_the_login_view(flask_patch: None) -> None:
    app = make_login_app()
    client = app.test_client()
    response = await client.get("/private?tab=2")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Fprivate%3Ftab%3D2"
    login_page = await text_of(await client.get(response.location))
    assert login_page == "[message: Please log in to access this page.] authenticated=False"
    response = await client.get("/private-sync")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Fprivate-sync"


async def test_login_then_protected_pages(flask_patch: None) -> None:
    from flask_login import user_logged_in

    app = make_login_app()
    client = app.test_client()
    logged_in: list[str] = []

    def on_login(sender: Any, user: Any) -> None:
        logged_in.append(user.id)

    with user_logged_in.connected_to(on_login, app):
        response = await client.post(
            "/login?next=/private", form={"name": "ada", "password": "secret"}
        )
    assert response.status_code == 302
    assert response.location == "/private"
    assert logged_in == ["ada"]
    assert await text_of(await client.get("/private")) == "async page of ada"
    assert await text_of(await client.get("/private-sync")) == "sync page of ada"
    assert await text_of(await client.get("/settings")) == "settings of ada"
    assert await text_of(await client.get("/whoami")) == "True ada"
    assert await text_of(await client.get("/login")) == " authenticated=True"

    wrong = await client.post("/login", form={"name": "bob", "password": "guess"})
    assert wrong.status_code == 403


async def test_logout_ends_the_login(flask_patch: None) -> None:
    app = make_login_app()
    client = app.test_client()
    await _log_in(client, remember=True)
    assert (await client.get("/private")).status_code == 200
    response = await client.get("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    cleared = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert len(cleared) == 1
    assert "Max-Age=0" in cleared[0]
    assert (await client.get("/private")).status_code == 302
    assert await text_of(await client.get("/whoami")) == "False None"


async def test_remember_cookie_logs_in_again_without_the_session(flask_patch: None) -> None:
    from flask_login import user_loaded_from_cookie

    app = make_login_app()
    client = app.test_client()
    response = await _log_in(client, remember=True)
    assert any(c.startswith("remember_token=ada|") for c in response.headers.getlist("Set-Cookie"))
    client.delete_cookie("localhost", "session")  # the browser was closed

    from_cookie: list[str] = []

    def on_cookie(sender: Any, user: Any) -> None:
        from_cookie.append(user.id)

    with user_loaded_from_cookie.connected_to(on_cookie, app):
        assert await text_of(await client.get("/private")) == "async page of ada"
    assert from_cookie == ["ada"]
    # A login restored from the cookie is not fresh: sensitive pages ask again.
    response = await client.get("/settings")
    assert response.status_code == 302
    assert response.location == "/reauthenticate?next=%2Fsettings"
    page = await text_of(await client.get(response.location))
    assert page == "[message: Please reauthenticate to access this page.] authenticated=True"


async def test_without_remember_the_login_ends_with_the_session(flask_patch: None) -> None:
    app = make_login_app()
    client = app.test_client()
    response = await _log_in(client)
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))
    assert (await client.get("/private")).status_code == 200
    client.delete_cookie("localhost", "session")
    assert (await client.get("/private")).status_code == 302


async def test_request_loader_with_an_api_key(flask_patch: None) -> None:
    app = make_login_app()
    client = app.test_client(use_cookies=False)
    response = await client.get("/private", headers={"X-Api-Key": "bob-key"})
    assert await text_of(response) == "async page of bob"
    response = await client.get("/private-sync", headers={"X-Api-Key": "wrong"})
    assert response.status_code == 302


async def test_unauthorized_without_a_login_view_is_401(flask_patch: None) -> None:
    app = make_login_app()
    app.login_manager.login_view = None
    response = await app.test_client().get("/private")
    assert response.status_code == 401


async def test_flask_login_client(flask_patch: None) -> None:
    from flask_login import FlaskLoginClient

    app = make_login_app()
    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=app.users["bob"])
    assert await text_of(await client.get("/private")) == "async page of bob"
    assert await text_of(await client.get("/private-sync")) == "sync page of bob"
    anonymous = app.test_client()
    assert (await anonymous.get("/private")).status_code == 302


# --------------------------------------------------------------------- Flask-WTF


def make_wtf_app() -> Any:
    """A Flask-WTF app: CSRF protection on every form, a form read in an async view, an
    upload read in a sync view."""
    from flask import Flask, render_template_string
    from flask_wtf import CSRFProtect, FlaskForm
    from flask_wtf.file import FileField, FileRequired
    from wtforms import StringField
    from wtforms.validators import DataRequired

    class NameForm(FlaskForm):
        name = StringField(validators=[DataRequired()])

    class UploadForm(FlaskForm):
        upload = FileField(validators=[FileRequired()])

    app = Flask(__name__, static_folder=None)
    app.secret_key = "flask-wtf"
    CSRFProtect(app)

    @app.route("/name", methods=["GET", "POST"])
    async def name() -> Any:
        form = NameForm()
        if form.validate_on_submit():
            return f"hello {form.name.data}"
        return await quart.render_template_string(
            "<form>{{ form.csrf_token }}{{ form.name }}</form>{{ form.errors }}", form=form
        )

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        form = UploadForm()
        if form.validate_on_submit():
            data = form.upload.data
            return f"{data.filename}: {data.read().decode()}"
        return render_template_string("{{ errors }}", errors=form.errors), 400

    return app


async def _csrf_token(client: Any) -> str:
    page = await text_of(await client.get("/name"))
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


async def test_wtf_form_with_csrf(flask_patch: None) -> None:
    app = make_wtf_app()
    client = app.test_client()
    token = await _csrf_token(client)
    response = await client.post("/name", form={"name": "Ada", "csrf_token": token})
    assert await text_of(response) == "hello Ada"
    response = await client.post("/name", form={"name": "", "csrf_token": token})
    assert "This field is required." in await text_of(response)


async def test_wtf_refuses_a_missing_or_forged_token(flask_patch: None) -> None:
    app = make_wtf_app()
    client = app.test_client()
    await _csrf_token(client)
    response = await client.post("/name", form={"name": "Ada"})
    assert response.status_code == 400
    assert "The CSRF token is missing." in await text_of(response)
    response = await client.post("/name", form={"name": "Ada", "csrf_token": "forged"})
    assert response.status_code == 400
    assert "The CSRF token is invalid." in await text_of(response)


async def test_wtf_json_body_with_the_token_in_a_header(flask_patch: None) -> None:
    app = make_wtf_app()
    client = app.test_client()
    token = await _csrf_token(client)
    response = await client.post("/name", json={"name": "Bob"}, headers={"X-CSRFToken": token})
    assert await text_of(response) == "hello Bob"


async def test_wtf_file_upload(flask_patch: None) -> None:
    app = make_wtf_app()
    client = app.test_client()
    token = await _csrf_token(client)
    response = await client.post(
        "/upload", form={"csrf_token": token}, files={"upload": _upload(b"uploaded")}
    )
    assert await text_of(response) == "notes.txt: uploaded"
    response = await client.post("/upload", form={"csrf_token": token})
    assert response.status_code == 400
    assert "This field is required." in await text_of(response)


# ------------------------------------------------------------------- afterwards


def test_without_the_patch_flask_is_flasks() -> None:
    # Whatever ran before, the fixture put the real modules back.
    import flask

    assert flask.Flask is not Quart
    assert flask.Flask.__module__ == "flask.app"
    assert vars(Quart)["_read_body_first"] is False
    assert "quart.flask_patch" not in sys.modules
