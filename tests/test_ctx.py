"""Application and request contexts, the context globals and copying contexts to tasks."""

from __future__ import annotations

import asyncio

import pytest

from quart import (
    Quart,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
)


async def test_current_app_inside_a_request(app, client):
    app.config["NAME"] = "configured"

    @app.route("/")
    async def index():
        assert current_app._get_current_object() is app
        return current_app.config["NAME"]

    assert await (await client.get("/")).get_data(as_text=True) == "configured"


async def test_has_context_functions(app, client):
    assert not has_app_context()
    assert not has_request_context()

    async with app.app_context():
        assert has_app_context()
        assert not has_request_context()

    async with app.test_request_context("/"):
        assert has_app_context()
        assert has_request_context()

    assert not has_app_context()
    assert not has_request_context()


async def test_app_context_provides_current_app_and_g(app):
    async with app.app_context():
        assert current_app.name == app.name
        g.value = 1
        assert g.value == 1
        assert g.get("missing", "default") == "default"
        assert "value" in g
        assert g.pop("value") == 1
        assert "value" not in g


async def test_g_is_per_app_context(app):
    async with app.app_context():
        g.value = "first"
    async with app.app_context():
        assert "value" not in g
        assert g.get("value") is None


async def test_g_is_per_request(app, client):
    @app.route("/set")
    async def set_value():
        g.value = "set"
        return g.value

    @app.route("/get")
    async def get_value():
        return g.get("value", "unset")

    assert await (await client.get("/set")).get_data(as_text=True) == "set"
    assert await (await client.get("/get")).get_data(as_text=True) == "unset"


async def test_g_setdefault_and_iteration(app):
    async with app.app_context():
        assert g.setdefault("a", 1) == 1
        assert g.setdefault("a", 2) == 1
        g.b = 2
        assert sorted(g) == ["a", "b"]


async def test_nested_app_contexts_of_two_apps(app):
    other = Quart("other", static_folder=None)
    async with app.app_context():
        g.outer = True
        async with other.app_context():
            assert current_app.name == "other"
            assert "outer" not in g
        assert current_app.name == app.name
        assert g.outer is True


async def test_request_outside_a_request_is_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="request context"):
        request.method  # noqa: B018


async def test_request_in_app_context_only_is_still_an_error(app):
    async with app.app_context():
        with pytest.raises(RuntimeError, match="request context"):
            request.path  # noqa: B018


async def test_current_app_and_g_outside_a_context_are_runtime_errors():
    # Flask says "application context", Quart "app context"
    with pytest.raises(RuntimeError, match=r"app(lication)? context"):
        current_app.name  # noqa: B018
    with pytest.raises(RuntimeError, match=r"app(lication)? context"):
        g.value = 1


async def test_test_request_context_attributes(app):
    async with app.test_request_context(
        "/path/to?x=1",
        method="PUT",
        headers={"X-Custom": "yes"},
        data=b"payload",
    ):
        assert request.method == "PUT"
        assert request.path == "/path/to"
        assert request.args["x"] == "1"
        assert request.headers["X-Custom"] == "yes"
        assert await request.get_data() == b"payload"


async def test_test_request_context_query_string_argument(app):
    async with app.test_request_context("/q", query_string={"a": "1", "b": ["2", "3"]}):
        assert request.args["a"] == "1"
        assert request.args.getlist("b") == ["2", "3"]
        assert request.full_path == "/q?a=1&b=2&b=3"


async def test_test_request_context_form_and_json(app):
    async with app.test_request_context("/", method="POST", form={"name": "ada"}):
        assert (await request.form)["name"] == "ada"
        assert request.mimetype == "application/x-www-form-urlencoded"
    async with app.test_request_context("/", method="POST", json={"n": 1}):
        assert await request.get_json() == {"n": 1}
        assert request.is_json


async def test_test_request_context_matches_the_url(app):
    @app.route("/user/<int:uid>", methods=["POST"])
    async def user(uid):
        return ""

    async with app.test_request_context("/user/3", method="POST"):
        assert request.endpoint == "user"
        assert request.view_args == {"uid": 3}


async def test_request_context_pushes_an_app_context(app):
    async with app.test_request_context("/"):
        assert current_app.name == app.name
        g.inside = True
        assert g.inside


async def test_copy_current_request_context_in_a_task(app, client):
    tasks = []

    @app.route("/")
    async def index():
        @copy_current_request_context
        async def background():
            return f"{request.path} {request.args['q']} {g.token}"

        g.token = "from-view"
        tasks.append(asyncio.create_task(background()))
        return "started"

    response = await client.get("/?q=search")
    assert await response.get_data(as_text=True) == "started"
    # the task runs after the request has finished, in a copy of its context
    assert await tasks[0] == "/ search from-view"


async def test_copy_current_app_context_in_a_task(app, client):
    app.config["SETTING"] = "value"
    tasks = []

    @app.route("/")
    async def index():
        @copy_current_app_context
        async def background():
            g.in_task = True
            return current_app.config["SETTING"]

        tasks.append(asyncio.create_task(background()))
        return "started"

    assert await (await client.get("/")).get_data(as_text=True) == "started"
    assert await tasks[0] == "value"


async def test_copy_current_request_context_needs_a_request(app):
    async with app.app_context():
        with pytest.raises(RuntimeError):

            @copy_current_request_context
            async def func():
                return None


async def test_copy_current_app_context_needs_an_app_context():
    with pytest.raises(RuntimeError):

        @copy_current_app_context
        async def func():
            return None


async def test_context_is_not_leaked_between_requests(app, client):
    @app.route("/<name>")
    async def view(name):
        assert "name" not in g
        g.name = name
        return request.path

    assert await (await client.get("/a")).get_data(as_text=True) == "/a"
    assert await (await client.get("/b")).get_data(as_text=True) == "/b"
    assert not has_request_context()
    assert not has_app_context()


async def test_g_is_made_once_per_app_context_and_shared_by_its_copies() -> None:
    app = Quart(__name__)
    ctx = app.app_context()
    assert "g" not in vars(ctx)  # made when first used
    first = ctx.g
    first.name = "kept"
    assert ctx.g is first
    copy = ctx.copy()
    assert copy.g is first
    other = app.app_context()
    assert other.g is not first and not hasattr(other.g, "name")
    replacement = app.app_ctx_globals_class()
    other.g = replacement
    assert other.g is replacement
    async with ctx:
        assert g.name == "kept"


async def test_the_globals_read_like_werkzeug_proxies(app, client) -> None:
    """The proxies read public names straight from the current object (a speed path);
    everything else takes werkzeug's lookup. Both must give what a plain
    ``LocalProxy`` over the same object gives."""
    from werkzeug.local import LocalProxy

    from quart.globals import _cv_request

    plain = LocalProxy(_cv_request, "request")
    seen: dict[str, object] = {}

    @app.route("/look")
    async def look():
        current = request._get_current_object()
        seen["same object"] = current is plain._get_current_object()
        seen["method"] = (request.method, plain.method)
        seen["bound method"] = request.get_json.__self__ is current
        seen["class"] = (request.__class__, plain.__class__)
        seen["isinstance"] = isinstance(request, type(current))
        seen["repr"] = (repr(request), repr(plain))
        seen["missing"] = (hasattr(request, "no_such_name"), hasattr(plain, "no_such_name"))
        seen["dir"] = "args" in dir(request)
        g.number = 1
        seen["g"] = (g.number, g.get("number"), "number" in g, g.get("absent", 2))
        del g.number
        seen["g deleted"] = hasattr(g, "number")
        seen["app"] = current_app.name
        return ""

    await client.get("/look")
    assert seen["same object"] is True
    assert seen["method"] == ("GET", "GET")
    assert seen["bound method"] is True
    assert seen["class"][0] is seen["class"][1]
    assert seen["isinstance"] is True
    assert seen["repr"][0] == seen["repr"][1]
    assert seen["missing"] == (False, False)
    assert seen["dir"] is True
    assert seen["g"] == (1, 1, True, 2)
    assert seen["g deleted"] is False
    assert seen["app"] == app.name
    with pytest.raises(RuntimeError, match="request context"):
        request.args  # noqa: B018
    with pytest.raises(RuntimeError, match="request context"):
        request._get_current_object()
