"""Quart-CORS on our quart: app-wide ``cors``, ``route_cors``, preflight OPTIONS
requests, credentials, ``Vary: Origin``, refused origins, ``cors_exempt``, websocket
origin checks, and the same app served by hypercorn and used with httpx."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from quart_cors import cors, cors_exempt, route_cors, websocket_cors
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from quart import Blueprint, Quart, websocket
from quart.testing import QuartClient, WebsocketResponseError

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


def make_app() -> Quart:
    app = Quart(__name__)
    app = cors(
        app,
        allow_origin=[ALLOWED, re.compile(r"https://.*\.partner\.example")],
        allow_credentials=True,
        allow_headers=["X-Token", "Content-Type"],
        expose_headers=["X-Request-Id"],
        max_age=600,
    )

    @app.route("/items", methods=["GET", "POST"])
    async def items() -> tuple[dict[str, str], dict[str, str]]:
        return {"items": "listed"}, {"X-Request-Id": "r-1"}

    @app.get("/private")
    @cors_exempt
    async def private() -> str:
        return "no cors here"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(f"hello {websocket.origin}")

    return app


def make_route_app() -> Quart:
    app = Quart(__name__)

    @app.route("/open", methods=["GET", "PUT"])
    @route_cors(allow_origin="*", allow_methods=["GET", "PUT"])
    async def open_route() -> str:
        return "anyone"

    @app.get("/echo")
    @route_cors(allow_origin=ALLOWED, send_origin_wildcard=False, max_age=30)
    async def echo() -> str:
        return "echo"

    @app.get("/plain")
    async def plain() -> str:
        return "no cors"

    @app.websocket("/ws")
    @websocket_cors(allow_origin=ALLOWED)
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("welcome")

    return app


@pytest.fixture
def cors_client() -> QuartClient:
    return make_app().test_client()


@pytest.fixture
def route_client() -> QuartClient:
    return make_route_app().test_client()


def vary(response: Any) -> set[str]:
    return {value.strip().lower() for value in response.headers.get("Vary", "").split(",")}


async def test_simple_request_from_allowed_origin(cors_client: QuartClient) -> None:
    response = await cors_client.get("/items", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Expose-Headers"] == "X-Request-Id"
    assert "origin" in vary(response)
    # A simple request is not a preflight: no method or header lists, no max age.
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Max-Age" not in response.headers


async def test_origin_matched_by_pattern(cors_client: QuartClient) -> None:
    origin = "https://shop.partner.example"
    response = await cors_client.get("/items", headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin


async def test_disallowed_origin_gets_no_cors_headers(cors_client: QuartClient) -> None:
    response = await cors_client.get("/items", headers={"Origin": OTHER})
    assert response.status_code == 200
    names = [name for name, _value in response.headers.items()]
    assert not [name for name in names if name.startswith("Access-Control-")]
    assert "origin" in vary(response)


async def test_request_without_origin_gets_no_cors_headers(cors_client: QuartClient) -> None:
    response = await cors_client.get("/items")
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_preflight(cors_client: QuartClient) -> None:
    response = await cors_client.options(
        "/items",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Token, X-Unlisted",
        },
    )
    assert response.status_code == 200
    assert await response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    # Only the requested headers that are allowed (compared without case).
    assert response.headers["Access-Control-Allow-Headers"].lower() == "x-token"
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= methods
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_preflight_from_disallowed_origin(cors_client: QuartClient) -> None:
    response = await cors_client.options(
        "/items", headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


async def test_errors_get_cors_headers_too(cors_client: QuartClient) -> None:
    response = await cors_client.get("/missing", headers={"Origin": ALLOWED})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_exempt_route(cors_client: QuartClient) -> None:
    response = await cors_client.get("/private", headers={"Origin": ALLOWED})
    assert await response.get_data(as_text=True) == "no cors here"
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_config_supplies_defaults() -> None:
    app = Quart(__name__)
    app.config["QUART_CORS_ALLOW_ORIGIN"] = [ALLOWED]
    app.config["QUART_CORS_MAX_AGE"] = 42
    app = cors(app)

    @app.post("/")
    async def index() -> str:
        return "ok"

    response = await app.test_client().options(
        "/", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Max-Age"] == "42"
    response = await app.test_client().post("/", headers={"Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_blueprint_cors_applies_to_its_routes_only() -> None:
    app = Quart(__name__)
    api = cors(Blueprint("api", __name__, url_prefix="/api"), allow_origin=ALLOWED)

    @api.get("/thing")
    async def thing() -> str:
        return "thing"

    @app.get("/page")
    async def page() -> str:
        return "page"

    app.register_blueprint(api)
    client = app.test_client()
    response = await client.get("/api/thing", headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    response = await client.get("/page", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_route_cors_wildcard(route_client: QuartClient) -> None:
    response = await route_client.put("/open", headers={"Origin": OTHER})
    assert await response.get_data(as_text=True) == "anyone"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # A wildcard answer is the same for every origin, so it does not vary on it.
    assert "origin" not in vary(response)


async def test_route_cors_preflight_is_answered_by_the_decorator(
    route_client: QuartClient,
) -> None:
    response = await route_client.options(
        "/open",
        headers={
            "Origin": OTHER,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Anything",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert response.headers["Access-Control-Allow-Headers"] == "X-Anything"
    assert set(response.allow) == {"GET", "HEAD", "PUT", "OPTIONS"}


async def test_route_cors_echoes_the_origin(route_client: QuartClient) -> None:
    response = await route_client.get("/echo", headers={"Origin": ALLOWED})
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "origin" in vary(response)
    response = await route_client.options(
        "/echo", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    )
    assert response.headers["Access-Control-Max-Age"] == "30"
    response = await route_client.get("/echo", headers={"Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_routes_without_cors_are_untouched(route_client: QuartClient) -> None:
    response = await route_client.get("/plain", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers


async def test_websocket_from_allowed_origin(route_client: QuartClient) -> None:
    async with route_client.websocket("/ws", headers={"Origin": ALLOWED}) as ws:
        assert await ws.receive() == "welcome"


@pytest.mark.parametrize("headers", [{"Origin": OTHER}, {}])
async def test_websocket_from_other_origin_is_refused(
    route_client: QuartClient, headers: dict[str, str]
) -> None:
    with pytest.raises(WebsocketResponseError) as caught:
        async with route_client.websocket("/ws", headers=headers) as ws:
            await ws.receive()
    assert caught.value.response.status_code == 400


async def test_app_wide_cors_checks_websocket_origins(cors_client: QuartClient) -> None:
    async with cors_client.websocket("/ws", headers={"Origin": ALLOWED}) as ws:
        assert await ws.receive() == f"hello {ALLOWED}"
    with pytest.raises(WebsocketResponseError) as caught:
        async with cors_client.websocket("/ws", headers={"Origin": OTHER}) as ws:
            await ws.receive()
    assert caught.value.response.status_code == 400


async def test_served_by_hypercorn(serve: Any) -> None:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.options(
            "/items",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-allow-headers"] == "content-type"
        assert response.headers["access-control-max-age"] == "600"
        assert response.headers["access-control-allow-credentials"] == "true"

        response = await http.post("/items", headers={"Origin": ALLOWED})
        assert response.json() == {"items": "listed"}
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-expose-headers"] == "X-Request-Id"
        assert "origin" in response.headers["vary"].lower()

        response = await http.get("/items", headers={"Origin": OTHER})
        assert "access-control-allow-origin" not in response.headers


async def test_websocket_origin_checked_when_served(serve: Any) -> None:
    base_url = await serve(make_route_app())
    ws_url = base_url.replace("http://", "ws://") + "/ws"
    async with asyncio.timeout(10), connect(ws_url, origin=ALLOWED) as client:
        assert await client.recv() == "welcome"
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(10), connect(ws_url, origin=OTHER):
            pass
    assert refused.value.response.status_code == 400
