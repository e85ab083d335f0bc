"""Plans (quart.plans): a request skips the pipeline steps its endpoint has nothing for,
yet behaves exactly as if it ran them. An app class that overrides a step is called; hooks
registered after the first request apply to the next one; a response built the quick way
has the headers werkzeug would give it."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import Headers
from werkzeug.sansio.response import Response as WerkzeugResponse

from quart import (
    Blueprint,
    Quart,
    Response,
    after_this_request,
    has_app_context,
    has_request_context,
    session,
    websocket,
)
from quart.ctx import AppContext, RequestContext, WebsocketContext
from quart.signals import appcontext_popped, appcontext_pushed

STEPS = [
    "preprocess_request",
    "dispatch_request",
    "make_response",
    "process_response",
    "do_teardown_request",
    "do_teardown_appcontext",
]


def app_overriding(steps: list[str], called: list[str]) -> Quart:
    """An app whose class overrides ``steps``, each recording its call."""

    def recording(name: str) -> Any:
        async def step(self: Quart, *args: Any, **kwargs: Any) -> Any:
            called.append(name)
            return await getattr(Quart, name)(self, *args, **kwargs)

        return step

    app_class = type("Overriding", (Quart,), {name: recording(name) for name in steps})
    app = app_class(__name__)

    @app.route("/")
    async def index() -> str:
        return "ok"

    return app


@pytest.mark.parametrize("step", STEPS)
async def test_a_step_the_app_class_overrides_is_called_without_hooks(step: str) -> None:
    called: list[str] = []
    app = app_overriding([step], called)
    client = app.test_client()
    for _ in range(2):  # the first request makes the plan; the second follows it
        response = await client.get("/")
        assert await response.get_data() == b"ok"
    assert called == [step, step]


async def test_a_step_replaced_on_the_instance_is_called() -> None:
    called: list[str] = []
    app = Quart(__name__)

    @app.route("/")
    async def index() -> str:
        return "ok"

    async def process_response(response: Response, ctx: RequestContext | None = None) -> Response:
        called.append("process_response")
        response.headers["X-Processed"] = "yes"
        return response

    app.process_response = process_response  # type: ignore[method-assign]
    response = await app.test_client().get("/")
    assert response.headers["X-Processed"] == "yes"
    assert called == ["process_response"]


async def test_hooks_registered_after_requests_apply_to_the_next_one() -> None:
    app = Quart(__name__)
    seen: list[str] = []
    blueprint = Blueprint("bp", __name__)

    @blueprint.route("/bp")
    async def in_blueprint() -> str:
        return "bp"

    app.register_blueprint(blueprint)
    client = app.test_client()
    assert (await client.get("/bp")).status_code == 200

    @app.before_request
    async def before() -> None:
        seen.append("before")

    @app.after_request
    async def after(response: Response) -> Response:
        seen.append("after")
        return response

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        seen.append("teardown")

    @app.teardown_appcontext
    async def teardown_app(error: BaseException | None) -> None:
        seen.append("teardown app")

    @app.url_value_preprocessor
    def preprocess(endpoint: str | None, values: dict[str, Any] | None) -> None:
        seen.append(f"values of {endpoint}")

    assert (await client.get("/bp")).status_code == 200
    assert seen == ["values of bp.in_blueprint", "before", "after", "teardown", "teardown app"]


async def test_what_a_view_adds_is_processed_without_any_hook() -> None:
    app = Quart(__name__)
    app.secret_key = "plans"

    @app.route("/later")
    async def later() -> str:
        @after_this_request
        def mark(response: Response) -> Response:
            response.headers["X-Later"] = "1"
            return response

        return "later"

    @app.route("/login")
    async def login() -> str:
        session["user"] = "ada"
        return "in"

    @app.route("/whoami")
    async def whoami() -> str:
        return str(session.get("user"))

    client = app.test_client()
    assert (await client.get("/later")).headers["X-Later"] == "1"
    assert "Set-Cookie" in (await client.get("/login")).headers
    assert await (await client.get("/whoami")).get_data() == b"ada"


async def test_websocket_steps_overridden_by_the_app_class_are_called() -> None:
    called: list[str] = []

    class Overriding(Quart):
        async def preprocess_websocket(self, ctx: WebsocketContext | None = None) -> Any:
            called.append("preprocess")
            return await super().preprocess_websocket(ctx)

        async def dispatch_websocket(self, ctx: WebsocketContext | None = None) -> Any:
            called.append("dispatch")
            return await super().dispatch_websocket(ctx)

        async def postprocess_websocket(self, response: Any, ctx: Any = None) -> Any:
            called.append("postprocess")
            return await super().postprocess_websocket(response, ctx)

        async def do_teardown_websocket(self, exc: Any, ctx: Any = None) -> None:
            called.append("teardown")
            await super().do_teardown_websocket(exc, ctx)

    app = Overriding(__name__)

    @app.websocket("/ws")
    async def echo() -> None:
        await websocket.send(await websocket.receive())

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send("hi")
        assert await test_websocket.receive() == "hi"
    assert called == ["preprocess", "dispatch", "postprocess", "teardown"]


class PlainResponse(WerkzeugResponse):
    default_mimetype = "text/html"  # Quart's


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"response": "héllo"},
        {"response": b"\x00\x01", "status": 201},
        {"response": "x", "status": 299},
        {"response": "{}", "mimetype": "application/json"},
        {"response": "<p>", "mimetype": "text/html"},
    ],
)
async def test_a_response_built_the_quick_way_has_werkzeugs_headers(
    arguments: dict[str, Any],
) -> None:
    quick = Response(**arguments)
    body = arguments.get("response", b"")
    data = body.encode() if isinstance(body, str) else body
    plain = PlainResponse(arguments.get("status"), None, arguments.get("mimetype"))
    if "response" in arguments:
        plain.headers["Content-Length"] = str(len(data))
    assert list(quick._header_pairs) == list(plain.headers)  # sent without a Headers object
    assert quick.status == plain.status
    assert isinstance(quick.headers, Headers)
    assert list(quick.headers) == list(plain.headers)
    quick.headers["X-Added"] = "1"  # the list became the Headers object: one set of headers
    assert list(quick._header_pairs) == [*plain.headers, ("X-Added", "1")]
    quick.headers = Headers({"X-Only": "2"})
    assert list(quick._header_pairs) == [("X-Only", "2")]


async def serve_once(app: Quart, path: str = "/") -> list[tuple[str, bool, bool]]:
    """Call ``app`` as a server would; for each message sent, its type and whether a
    request context and an app context were current while it was sent."""
    seen: list[tuple[str, bool, bool]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        seen.append((message["type"], has_request_context(), has_app_context()))

    await app(scope, receive, send)
    return seen


@pytest.mark.parametrize("teardown", ["none", "teardown_request", "teardown_appcontext"])
async def test_the_last_message_goes_out_with_no_context_current(teardown: str) -> None:
    """Whether popping the context has work or not, the message that ends a response
    is sent with the framework's context variables unset (a server keeps a copy of the
    current context in the timers it arms then), and teardown work runs after it."""
    app = Quart(__name__)
    events: list[str] = []

    @app.route("/")
    async def index() -> str:
        return "ok"

    if teardown != "none":

        def record(error: BaseException | None) -> None:
            events.append(teardown)

        getattr(app, teardown)(record)
    for _ in range(2):  # the first request makes the plan; the second follows it
        seen = await serve_once(app)
        assert seen == [
            ("http.response.start", True, True),
            ("http.response.body", False, False),
        ]
    assert events == ([] if teardown == "none" else [teardown, teardown])


async def test_app_context_signals_and_subclasses_are_honoured_on_the_quick_path() -> None:
    """A request's app context is entered and left without awaiting its ``push`` and
    ``pop`` only when those would do nothing more: receivers of the app context signals
    and an app context class of the app's own are still called."""
    events: list[str] = []

    class RecordingContext(AppContext):
        async def push(self) -> None:
            events.append("push")
            await super().push()

        async def pop(self, exc: BaseException | None = None) -> None:
            events.append("pop")
            await super().pop(exc)

    class App(Quart):
        def app_context(self) -> AppContext:
            return RecordingContext(self)

    app = App(__name__)

    @app.route("/")
    async def index() -> str:
        return "ok"

    assert (await serve_once(app))[-1] == ("http.response.body", False, False)
    assert events == ["push", "pop"]

    plain = Quart(__name__)

    @plain.route("/")
    async def plain_index() -> str:
        return "ok"

    await serve_once(plain)  # a plan exists: the next request would take the quick path

    def pushed(sender: Quart) -> None:
        events.append("pushed")

    def popped(sender: Quart) -> None:
        events.append("popped")

    with (
        appcontext_pushed.connected_to(pushed, plain),
        appcontext_popped.connected_to(popped, plain),
    ):
        await serve_once(plain)
    await serve_once(plain)  # disconnected: nothing more recorded
    assert events == ["push", "pop", "pushed", "popped"]


async def test_hooks_added_to_the_registries_directly_apply_to_the_next_request(app) -> None:
    """Extensions change the hook registries without the decorators (Flask-Caching
    appends during a request, others use setdefault): plans made before must be
    forgotten, as the registries are read afresh in Flask and Quart."""
    calls: list[str] = []

    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    assert (await client.get("/")).status_code == 200  # plans made

    async def after(response):
        calls.append("after")
        response.headers["X-After"] = "yes"
        return response

    async def before() -> None:
        calls.append("before")

    app.after_request_funcs[None].append(after)
    app.before_request_funcs.setdefault(None, []).append(before)
    response = await client.get("/")
    assert response.headers.get("X-After") == "yes"
    assert calls == ["before", "after"]

    app.after_request_funcs[None].remove(after)
    del app.before_request_funcs[None]
    calls.clear()
    response = await client.get("/")
    assert "X-After" not in response.headers
    assert calls == []

    def teardown(error: BaseException | None) -> None:
        calls.append("teardown")

    app.teardown_appcontext_funcs.append(teardown)
    await client.get("/")
    assert calls == ["teardown"]


async def test_watched_registries_behave_as_a_defaultdict_of_lists(app) -> None:
    registry = app.before_request_funcs
    assert registry["nobody"] == []  # made on first read, as in a defaultdict
    registry.update({"bp": [print]})
    assert registry["bp"] == [print]
    registry["bp"] += [repr]
    registry["bp"].insert(0, len)
    assert registry["bp"] == [len, print, repr]
    assert registry.pop("bp") == [len, print, repr]
    assert "bp" not in registry
