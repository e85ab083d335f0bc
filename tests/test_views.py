"""Class-based views (``quart.views``): ``View`` and ``MethodView`` through the test client.

Sync and async handlers, decorators and their order, one instance per request or one
for all, constructor arguments, ``methods`` worked out along a class hierarchy,
blueprints, ``url_for``, HEAD, OPTIONS and 405.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import pytest

import quart
from quart import Blueprint, Quart, request, url_for
from quart.views import MethodView, View


async def text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


# ------------------------------------------------------------------------ View


async def test_view_dispatches_every_request(app: Quart, client: Any) -> None:
    class Echo(View):
        methods = ["GET", "POST"]

        async def dispatch_request(self, name: str) -> str:
            return f"{request.method} {name}"

    app.add_url_rule("/echo/<name>", view_func=Echo.as_view("echo"))

    assert await text(await client.get("/echo/ada")) == "GET ada"
    assert await text(await client.post("/echo/bob")) == "POST bob"
    assert (await client.put("/echo/bob")).status_code == 405


async def test_sync_dispatch_request_runs_in_a_thread(app: Quart, client: Any) -> None:
    loop_thread = threading.get_ident()

    class Blocking(View):
        def dispatch_request(self) -> str:  # type: ignore[override]
            off_loop = threading.get_ident() != loop_thread
            return f"off the loop: {off_loop}, path {request.path}"

    app.add_url_rule("/blocking", view_func=Blocking.as_view("blocking"))

    assert await text(await client.get("/blocking")) == "off the loop: True, path /blocking"


async def test_view_without_dispatch_request_is_a_500(app: Quart, client: Any) -> None:
    class Empty(View):
        pass

    app.add_url_rule("/empty", view_func=Empty.as_view("empty"))
    app.testing = True

    with pytest.raises(NotImplementedError, match="Empty must override dispatch_request"):
        await client.get("/empty")


def test_view_function_describes_its_class() -> None:
    class Report(View):
        """Monthly figures."""

        methods = ["GET", "POST"]
        provide_automatic_options = False

        async def dispatch_request(self) -> str:
            return "figures"

    view: Any = Report.as_view("report")

    assert view.view_class is Report
    assert view.__name__ == "report"
    assert view.__doc__ == "Monthly figures."
    assert view.__module__ == __name__
    assert view.methods == ["GET", "POST"]
    assert view.provide_automatic_options is False


async def test_provide_automatic_options_false_gives_no_options(app: Quart, client: Any) -> None:
    class Plain(View):
        provide_automatic_options = False

        async def dispatch_request(self) -> str:
            return f"handled {request.method}"

    class Automatic(View):
        async def dispatch_request(self) -> str:
            return f"handled {request.method}"

    app.add_url_rule("/plain", view_func=Plain.as_view("plain"))
    app.add_url_rule("/automatic", view_func=Automatic.as_view("automatic"))

    assert (await client.options("/plain")).status_code == 405
    response = await client.options("/automatic")
    assert response.status_code == 200
    assert set(response.allow) == {"GET", "HEAD", "OPTIONS"}
    assert await text(response) == ""


async def test_class_arguments_reach_the_constructor(app: Quart, client: Any) -> None:
    class Greeting(View):
        def __init__(self, greeting: str, *, punctuation: str = ".") -> None:
            self.greeting = greeting
            self.punctuation = punctuation

        async def dispatch_request(self, name: str) -> str:
            return f"{self.greeting}, {name}{self.punctuation}"

    app.add_url_rule("/hello/<name>", view_func=Greeting.as_view("hello", "Hello"))
    app.add_url_rule("/hi/<name>", view_func=Greeting.as_view("hi", "Hi", punctuation="!"))

    assert await text(await client.get("/hello/ada")) == "Hello, ada."
    assert await text(await client.get("/hi/bob")) == "Hi, bob!"


@pytest.mark.parametrize(("init_every_request", "instances"), [(True, 3), (False, 1)])
async def test_init_every_request(
    app: Quart, client: Any, init_every_request: bool, instances: int
) -> None:
    made: list[Any] = []

    class Counter(View):
        def __init__(self) -> None:
            made.append(self)
            self.seen = 0

        async def dispatch_request(self) -> str:
            self.seen += 1
            return str(self.seen)

    Counter.init_every_request = init_every_request
    view = Counter.as_view("counter")
    app.add_url_rule("/count", view_func=view)
    # Without a new instance per request, it is made once, by as_view.
    assert len(made) == (0 if init_every_request else 1)

    answers = [await text(await client.get("/count")) for _ in range(3)]

    assert len(made) == instances
    assert answers == (["1", "1", "1"] if init_every_request else ["1", "2", "3"])


async def test_decorators_apply_in_order(app: Quart, client: Any) -> None:
    calls: list[str] = []

    def tag(label: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            calls.append(f"decorate {label} {func.__name__}")

            @wraps(func)
            async def wrapper(**kwargs: Any) -> Any:
                calls.append(f"enter {label}")
                result = await func(**kwargs)
                return f"{label}({result})"

            return wrapper

        return decorator

    class Tagged(View):
        decorators = [tag("inner"), tag("outer")]

        async def dispatch_request(self) -> str:
            calls.append("dispatch")
            return "body"

    view: Any = Tagged.as_view("tagged")
    app.add_url_rule("/tagged", view_func=view)

    # Each decorator sees the endpoint's name, as on a function view.
    assert calls == ["decorate inner tagged", "decorate outer tagged"]
    assert view.view_class is Tagged
    assert view.__name__ == "tagged"
    calls.clear()
    assert await text(await client.get("/tagged")) == "outer(inner(body))"
    assert calls == ["enter outer", "enter inner", "dispatch"]


async def test_a_decorator_can_refuse_the_request(app: Quart, client: Any) -> None:
    def require_token(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        async def wrapper(**kwargs: Any) -> Any:
            if request.args.get("token") != "open-sesame":
                return "no entry", 403
            return await func(**kwargs)

        return wrapper

    class Vault(View):
        decorators = [require_token]

        async def dispatch_request(self) -> str:
            return "gold"

    app.add_url_rule("/vault", view_func=Vault.as_view("vault"))

    assert (await client.get("/vault")).status_code == 403
    assert await text(await client.get("/vault?token=open-sesame")) == "gold"


# ------------------------------------------------------------------ MethodView


class Items(MethodView):
    """A collection: async reads, a sync write."""

    async def get(self, item_id: int | None = None) -> Any:
        if item_id is None:
            return {"items": [1, 2]}
        return {"item": item_id}

    def post(self) -> Any:
        return {"created": request.method}, 201


async def test_method_view_dispatches_by_method(app: Quart, client: Any) -> None:
    view = Items.as_view("items")
    app.add_url_rule("/items", view_func=view)
    app.add_url_rule("/items/<int:item_id>", view_func=view, methods=["GET"])

    assert await (await client.get("/items")).get_json() == {"items": [1, 2]}
    assert await (await client.get("/items/7")).get_json() == {"item": 7}
    response = await client.post("/items")
    assert response.status_code == 201
    assert await response.get_json() == {"created": "POST"}


def test_method_view_methods_come_from_its_handlers() -> None:
    assert Items.methods == {"GET", "POST"}


async def test_unhandled_method_is_a_405_with_allow(app: Quart, client: Any) -> None:
    app.add_url_rule("/items", view_func=Items.as_view("items"))

    response = await client.delete("/items")

    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_head_falls_back_to_get(app: Quart, client: Any) -> None:
    seen: list[str] = []

    class Page(MethodView):
        async def get(self) -> str:
            seen.append(request.method)
            return "a page of text"

    app.add_url_rule("/page", view_func=Page.as_view("page"))

    response = await client.head("/page")
    assert response.status_code == 200
    assert response.content_length == len("a page of text")
    assert await response.get_data() == b""
    assert seen == ["HEAD"]


async def test_an_own_head_handler_wins(app: Quart, client: Any) -> None:
    class Page(MethodView):
        async def get(self) -> str:
            return "body"

        async def head(self) -> Any:
            return "", 204, {"X-Head": "own"}

    app.add_url_rule("/page", view_func=Page.as_view("page"))

    response = await client.head("/page")
    assert response.status_code == 204
    assert response.headers["X-Head"] == "own"
    assert Page.methods == {"GET", "HEAD"}


async def test_automatic_options_lists_the_handled_methods(app: Quart, client: Any) -> None:
    app.add_url_rule("/items", view_func=Items.as_view("items"))

    response = await client.options("/items")

    assert response.status_code == 200
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_an_own_options_handler_replaces_the_automatic_one(app: Quart, client: Any) -> None:
    class Preflight(MethodView):
        async def get(self) -> str:
            return "data"

        def options(self) -> Any:
            return "", 204, {"Access-Control-Allow-Methods": "GET"}

    app.add_url_rule("/preflight", view_func=Preflight.as_view("preflight"))

    response = await client.options("/preflight")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Methods"] == "GET"


async def test_methods_set_by_hand_without_a_handler_are_refused(app: Quart, client: Any) -> None:
    class Partial(MethodView):
        methods = ["GET", "PUT"]

        async def get(self) -> str:
            return "read"

    app.add_url_rule("/partial", view_func=Partial.as_view("partial"))

    assert await text(await client.get("/partial")) == "read"
    response = await client.put("/partial")
    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD"}


async def test_method_view_hierarchy(app: Quart, client: Any) -> None:
    class ReadOnly(MethodView):
        async def get(self) -> str:
            return f"read by {type(self).__name__}"

    class Writable(ReadOnly):
        def put(self) -> str:
            return f"written by {type(self).__name__}"

    class Removable(Writable):
        async def delete(self) -> Any:
            return "", 204

    class Pinned(Removable):
        methods = ["GET"]  # set by hand: only reads, whatever the bases handle

    assert ReadOnly.methods == {"GET"}
    assert Writable.methods == {"GET", "PUT"}
    assert Removable.methods == {"GET", "PUT", "DELETE"}
    assert Pinned.methods == ["GET"]

    app.add_url_rule("/doc", view_func=Removable.as_view("doc"))
    app.add_url_rule("/pinned", view_func=Pinned.as_view("pinned"))

    assert await text(await client.get("/doc")) == "read by Removable"
    assert await text(await client.put("/doc")) == "written by Removable"
    assert (await client.delete("/doc")).status_code == 204
    assert (await client.post("/doc")).status_code == 405
    assert await text(await client.get("/pinned")) == "read by Pinned"
    assert (await client.put("/pinned")).status_code == 405


async def test_methods_from_a_mixin_base(app: Quart, client: Any) -> None:
    class Patchable:
        async def patch(self) -> str:
            return "patched"

    class Record(Patchable, MethodView):
        async def get(self) -> str:
            return "record"

    assert Record.methods == {"GET", "PATCH"}
    app.add_url_rule("/record", view_func=Record.as_view("record"))
    assert await text(await client.patch("/record")) == "patched"


async def test_method_view_with_class_arguments_and_decorators(app: Quart, client: Any) -> None:
    def shout(func: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(func)
        async def wrapper(**kwargs: Any) -> Any:
            return (await func(**kwargs)).upper()

        return wrapper

    class Store(MethodView):
        decorators = [shout]
        init_every_request = False

        def __init__(self, storage: dict[str, str]) -> None:
            self.storage = storage

        async def get(self, key: str) -> str:
            return self.storage.get(key, "missing")

        async def put(self, key: str) -> str:
            self.storage[key] = await request.get_data(as_text=True)
            return "stored"

    storage: dict[str, str] = {}
    app.add_url_rule("/store/<key>", view_func=Store.as_view("store", storage))

    assert await text(await client.put("/store/colour", data="blue")) == "STORED"
    assert storage == {"colour": "blue"}
    assert await text(await client.get("/store/colour")) == "BLUE"
    assert await text(await client.get("/store/size")) == "MISSING"


# ------------------------------------------------------- blueprints and urls


async def test_views_on_a_blueprint_and_url_for(app: Quart, client: Any) -> None:
    api = Blueprint("api", __name__, url_prefix="/api")

    class Users(MethodView):
        async def get(self, user_id: int) -> Any:
            return {
                "self": url_for(".user", user_id=user_id),
                "next": url_for("api.user", user_id=user_id + 1),
                "home": url_for("home"),
            }

    class Home(View):
        async def dispatch_request(self) -> str:
            return url_for("api.user", user_id=1, _external=True)

    api.add_url_rule("/users/<int:user_id>", view_func=Users.as_view("user"))
    app.register_blueprint(api)
    app.add_url_rule("/", view_func=Home.as_view("home"))

    assert await (await client.get("/api/users/3")).get_json() == {
        "self": "/api/users/3",
        "next": "/api/users/4",
        "home": "/",
    }
    assert await text(await client.get("/")) == "http://localhost/api/users/1"
    assert app.view_functions["api.user"].view_class is Users  # type: ignore[attr-defined]


async def test_endpoint_defaults_to_the_as_view_name(app: Quart) -> None:
    class Named(View):
        async def dispatch_request(self) -> str:
            return "named"

    app.add_url_rule("/named", view_func=Named.as_view("the_name"))

    async with app.test_request_context("/"):
        assert url_for("the_name") == "/named"


def test_views_are_not_top_level_names() -> None:
    assert not hasattr(quart, "View")
    assert not hasattr(quart, "MethodView")
