"""Request hooks, after_this_request, and where sync and async callables run."""

from __future__ import annotations

import asyncio
import threading

import pytest

from quart import Response, abort, after_this_request, g, request


async def test_before_request_runs_before_the_view(app, client):
    @app.before_request
    async def load_user():
        g.user = request.headers.get("X-User", "anonymous")

    @app.route("/")
    async def index():
        return f"hello {g.user}"

    response = await client.get("/", headers={"X-User": "ada"})
    assert await response.get_data(as_text=True) == "hello ada"


async def test_before_request_return_value_short_circuits(app, client):
    calls = []

    @app.before_request
    async def first():
        calls.append("first")
        if request.args.get("block"):
            return "blocked", 403
        return None

    @app.before_request
    async def second():
        calls.append("second")

    @app.route("/")
    async def index():
        calls.append("view")
        return "view"

    response = await client.get("/?block=1")
    assert response.status_code == 403
    assert await response.get_data(as_text=True) == "blocked"
    assert calls == ["first"]

    calls.clear()
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "view"
    assert calls == ["first", "second", "view"]


async def test_after_request_still_runs_after_short_circuit(app, client):
    @app.before_request
    async def stop():
        return "stopped"

    @app.after_request
    async def tag(response):
        response.headers["X-After"] = "yes"
        return response

    @app.route("/")
    async def index():
        return "view"

    response = await client.get("/")
    assert await response.get_data(as_text=True) == "stopped"
    assert response.headers["X-After"] == "yes"


async def test_after_request_can_modify_the_response(app, client):
    @app.after_request
    async def add_header(response):
        response.headers["X-Added"] = "1"
        response.status_code = 202
        return response

    @app.route("/")
    async def index():
        return "body"

    response = await client.get("/")
    assert response.status_code == 202
    assert response.headers["X-Added"] == "1"
    assert await response.get_data(as_text=True) == "body"


async def test_after_request_can_replace_the_response(app, client):
    @app.after_request
    async def replace(response):
        original = await response.get_data(as_text=True)
        return Response(f"replaced {original}", status=201, headers={"X-New": "1"})

    @app.route("/")
    async def index():
        return "original"

    response = await client.get("/")
    assert response.status_code == 201
    assert response.headers["X-New"] == "1"
    assert await response.get_data(as_text=True) == "replaced original"


async def test_after_request_runs_in_reverse_registration_order(app, client):
    @app.after_request
    async def registered_first(response):
        response.headers.add("X-Order", "first")
        return response

    @app.after_request
    async def registered_second(response):
        response.headers.add("X-Order", "second")
        return response

    @app.route("/")
    async def index():
        return ""

    response = await client.get("/")
    assert response.headers.getlist("X-Order") == ["second", "first"]


async def test_before_request_runs_in_registration_order(app, client):
    @app.before_request
    async def one():
        g.order = ["one"]

    @app.before_request
    async def two():
        g.order.append("two")

    @app.route("/")
    async def index():
        return {"order": g.order}

    assert await (await client.get("/")).get_json() == {"order": ["one", "two"]}


async def test_teardown_request_gets_none_on_success(app, client):
    seen = []

    @app.teardown_request
    async def teardown(exc):
        seen.append(("teardown", exc))

    @app.route("/")
    async def index():
        return "ok"

    assert await (await client.get("/")).get_data(as_text=True) == "ok"
    assert seen == [("teardown", None)]


async def test_teardown_request_gets_the_exception(app, client):
    app.testing = True  # the exception propagates through the request context
    seen = []

    @app.teardown_request
    def teardown(exc):
        seen.append(exc)

    @app.route("/")
    async def index():
        raise KeyError("broken")

    with pytest.raises(KeyError):
        await client.get("/")
    assert len(seen) == 1
    assert isinstance(seen[0], KeyError)


async def test_teardown_request_runs_after_an_error_response(app, client):
    seen = []

    @app.teardown_request
    async def teardown(exc):
        seen.append("teardown")

    @app.route("/")
    async def index():
        raise RuntimeError("boom")

    assert (await client.get("/")).status_code == 500
    assert seen == ["teardown"]


async def test_teardown_request_runs_in_reverse_registration_order(app, client):
    order = []

    @app.teardown_request
    async def first(exc):
        order.append("first")

    @app.teardown_request
    async def second(exc):
        order.append("second")

    @app.route("/")
    async def index():
        return ""

    await client.get("/")
    assert order == ["second", "first"]


async def test_teardown_appcontext_runs_after_each_request(app, client):
    seen = []

    @app.teardown_appcontext
    async def close_db(exc):
        seen.append(("appctx", exc, g.get("db")))

    @app.route("/")
    async def index():
        g.db = "connection"
        return ""

    await client.get("/")
    assert seen == [("appctx", None, "connection")]


async def test_teardown_appcontext_runs_when_app_context_exits(app):
    seen = []

    @app.teardown_appcontext
    def teardown(exc):
        seen.append(exc)

    async with app.app_context():
        assert seen == []
    assert seen == [None]


async def test_after_this_request(app, client):
    @app.route("/")
    async def index():
        @after_this_request
        async def add_cookie(response):
            response.headers["X-This-Request"] = "yes"
            return response

        return "index"

    @app.route("/other")
    async def other():
        return "other"

    response = await client.get("/")
    assert response.headers["X-This-Request"] == "yes"
    assert "X-This-Request" not in (await client.get("/other")).headers


async def test_after_this_request_runs_before_after_request(app, client):
    @app.after_request
    async def app_hook(response):
        response.headers.add("X-Order", "app")
        return response

    @app.route("/")
    async def index():
        @after_this_request
        def local(response):
            response.headers.add("X-Order", "local")
            return response

        return ""

    response = await client.get("/")
    assert response.headers.getlist("X-Order") == ["local", "app"]


async def test_sync_hooks_work(app, client):
    @app.before_request
    def before():
        g.value = "sync-before"

    @app.after_request
    def after(response):
        response.headers["X-Sync"] = "after"
        return response

    @app.route("/")
    def index():
        return g.value

    response = await client.get("/")
    assert await response.get_data(as_text=True) == "sync-before"
    assert response.headers["X-Sync"] == "after"


async def test_sync_view_runs_in_a_thread_async_view_in_the_loop(app, client):
    loop_thread = threading.current_thread()
    threads = {}

    @app.route("/sync")
    def sync_view():
        threads["sync"] = threading.current_thread()
        return "sync"

    @app.route("/async")
    async def async_view():
        threads["async"] = threading.current_thread()
        return "async"

    assert await (await client.get("/sync")).get_data(as_text=True) == "sync"
    assert await (await client.get("/async")).get_data(as_text=True) == "async"
    assert threads["sync"] is not loop_thread
    assert threads["async"] is loop_thread


async def test_sync_hooks_run_in_a_thread_with_the_context(app, client):
    loop_thread = threading.current_thread()
    seen = {}

    @app.before_request
    def before():
        seen["before"] = (threading.current_thread() is loop_thread, request.path)

    @app.after_request
    def after(response):
        seen["after"] = (threading.current_thread() is loop_thread, request.path)
        return response

    @app.route("/ctx")
    async def view():
        return ""

    await client.get("/ctx")
    assert seen == {"before": (False, "/ctx"), "after": (False, "/ctx")}


async def test_sync_view_does_not_block_the_event_loop(app, client):
    loop = asyncio.get_running_loop()
    view_started = loop.create_future()
    release = threading.Event()

    @app.route("/blocking")
    def blocking():
        loop.call_soon_threadsafe(view_started.set_result, None)
        # if this ran on the loop's thread, the loop could not set `release`
        return "released" if release.wait(timeout=5) else "loop was blocked"

    async def unblock():
        await view_started
        release.set()

    response, _ = await asyncio.gather(client.get("/blocking"), unblock())
    assert await response.get_data(as_text=True) == "released"


async def test_teardown_gets_the_unhandled_exception_behind_a_500(app, client):
    # As in Flask: the error that became a 500 reaches teardown functions, so that they
    # can roll back work (the published Quart gives them None).
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen = []

    @app.teardown_request
    async def record(exc):
        seen.append(exc)

    @app.route("/")
    async def fails():
        raise ValueError("broken")

    response = await client.get("/")
    assert response.status_code == 500
    assert len(seen) == 1
    assert isinstance(seen[0], ValueError)
    assert str(seen[0]) == "broken"


async def test_teardown_gets_none_after_a_handled_http_error(app, client):
    seen = []

    @app.teardown_request
    async def record(exc):
        seen.append(exc)

    @app.route("/")
    async def missing():
        abort(404)

    response = await client.get("/")
    assert response.status_code == 404
    assert seen == [None]
