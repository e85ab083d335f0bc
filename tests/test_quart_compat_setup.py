"""Set-up after serving has begun (as Quart allows, where Flask refuses): each kind of
registration takes effect on the next request, whatever was computed and cached from
the set-up before it."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound

from quart import Blueprint, Quart, g, render_template_string, request, websocket


async def _text(client: Any, path: str, **kwargs: Any) -> tuple[int, str]:
    response = await client.get(path, **kwargs)
    return response.status_code, await response.get_data(as_text=True)


async def test_a_route_added_after_requests_is_served_at_once(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    assert await _text(client, "/") == (200, "index")
    assert (await _text(client, "/late/3"))[0] == 404  # a remembered 404...

    @app.route("/late/<int:number>")
    async def late(number: int) -> str:
        return f"late {number}"

    assert await _text(client, "/late/3") == (200, "late 3")  # ...is forgotten
    # and a POST to a GET-only route, a remembered 405, now allows the new method
    assert (await client.post("/")).status_code == 405
    app.add_url_rule("/", "index_post", index, methods=["POST"])
    assert (await client.post("/")).status_code == 200


async def test_a_websocket_route_added_after_requests_is_served(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    await client.get("/")

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("hello")

    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "hello"


async def test_request_hooks_added_later_run_on_the_next_request(app: Quart) -> None:
    calls: list[str] = []

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "index"

    client = app.test_client()
    await client.get("/")  # no hooks of any kind: the app remembers it has none
    assert calls == ["view"]

    @app.before_request
    async def before() -> None:
        calls.append("before")

    @app.after_request
    async def after(response: Any) -> Any:
        calls.append("after")
        response.headers["X-After"] = "yes"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown")

    calls.clear()
    response = await client.get("/")
    assert response.headers["X-After"] == "yes"
    assert calls == ["before", "view", "after", "teardown"]

    @app.before_request
    async def stop() -> str:
        return "stopped"

    assert await _text(client, "/") == (200, "stopped")


async def test_websocket_hooks_added_later_run(app: Quart) -> None:
    seen: list[str] = []

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(getattr(g, "marker", "none"))

    client = app.test_client()
    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "none"

    @app.before_websocket
    async def mark() -> None:
        g.marker = "marked"

    @app.teardown_websocket
    async def down(exc: BaseException | None) -> None:
        seen.append("teardown")

    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "marked"
    assert seen == ["teardown"]


async def test_a_context_processor_added_later_feeds_templates(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return await render_template_string("[{{ extra | default('none') }}]")

    client = app.test_client()
    assert await _text(client, "/") == (200, "[none]")

    @app.context_processor
    def extra() -> dict[str, str]:
        return {"extra": "added"}

    assert await _text(client, "/") == (200, "[added]")


async def test_url_processors_added_later_apply(app: Quart) -> None:
    @app.route("/<lang>/page")
    async def page() -> str:
        return f"{g.lang} {request.view_args}"

    @app.route("/<lang>/raw")
    async def raw(lang: str) -> str:
        return lang

    client = app.test_client()
    assert await _text(client, "/en/raw") == (200, "en")

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values is not None and endpoint == "page":
            g.lang = values.pop("lang")

    assert await _text(client, "/fr/page") == (200, "fr {}")

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang", "de")

    @app.route("/link")
    async def link() -> str:
        from quart import url_for

        return url_for("raw")

    assert await _text(client, "/link") == (200, "/de/raw")


async def test_an_error_handler_added_later_handles_the_next_error(app: Quart) -> None:
    @app.route("/boom")
    async def boom() -> str:
        raise KeyError("x")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    assert (await client.get("/missing")).status_code == 404  # handler lookups cached
    assert (await client.get("/boom")).status_code == 500

    @app.errorhandler(404)
    async def not_found(error: NotFound) -> tuple[str, int]:
        return "custom 404", 404

    @app.errorhandler(KeyError)
    async def key_error(error: KeyError) -> tuple[str, int]:
        return "key error", 409

    assert await _text(client, "/missing") == (404, "custom 404")
    assert await _text(client, "/boom") == (409, "key error")

    # and a handler for a base class, added later still, loses to the specific one
    @app.errorhandler(LookupError)
    async def lookup_error(error: LookupError) -> tuple[str, int]:
        return "lookup", 400

    assert await _text(client, "/boom") == (409, "key error")


async def test_a_blueprint_registered_later_brings_everything(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    await client.get("/")
    assert (await client.get("/bp/")).status_code == 404

    blueprint = Blueprint("bp", __name__)

    @blueprint.route("/")
    async def bp_index() -> str:
        return f"bp {g.bp_before}"

    @blueprint.before_request
    async def bp_before() -> None:
        g.bp_before = "ran"

    @blueprint.after_request
    async def bp_after(response: Any) -> Any:
        response.headers["X-Bp"] = "after"
        return response

    @blueprint.errorhandler(404)
    async def bp_missing(error: NotFound) -> tuple[str, int]:
        return "bp missing", 404

    @blueprint.route("/gone")
    async def gone() -> str:
        raise NotFound()

    app.register_blueprint(blueprint, url_prefix="/bp")
    response = await client.get("/bp/")
    assert await response.get_data(as_text=True) == "bp ran"
    assert response.headers["X-Bp"] == "after"
    assert await _text(client, "/bp/gone") == (404, "bp missing")
    assert "X-Bp" not in (await client.get("/")).headers  # the app's own routes: untouched


async def test_a_view_replaced_later_is_the_one_called(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "first"

    client = app.test_client()
    assert await _text(client, "/") == (200, "first")

    async def second() -> str:
        return "second"

    app.view_functions["index"] = second
    assert await _text(client, "/") == (200, "second")
