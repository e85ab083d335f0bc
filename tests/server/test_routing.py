"""Routing over a real server: converters, 404, 405 + Allow, strict slashes, HEAD, OPTIONS."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from quart import Quart, request, url_for


def make_app() -> Quart:
    app = Quart(__name__)

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/users/<int:user_id>")
    async def user(user_id: int) -> dict[str, Any]:
        return {"user_id": user_id, "type": type(user_id).__name__}

    @app.route("/price/<float:amount>")
    async def price(amount: float) -> dict[str, Any]:
        return {"amount": amount, "type": type(amount).__name__}

    @app.route("/items/<uuid:item_id>")
    async def item(item_id: uuid.UUID) -> dict[str, Any]:
        return {"item_id": str(item_id), "type": type(item_id).__name__}

    @app.route("/files/<path:subpath>")
    async def files(subpath: str) -> str:
        return f"path={subpath}"

    @app.route("/tags/<tag>")
    async def tag(tag: str) -> str:
        return f"tag={tag}"

    @app.route("/posts/<int:year>/<slug>")
    async def post(year: int, slug: str) -> str:
        return f"{year}:{slug}:{url_for('post', year=year, slug=slug)}"

    @app.route("/resource", methods=["GET", "POST"])
    async def resource() -> str:
        return f"resource {request.method}"

    @app.route("/write-only", methods=["PUT"])
    async def write_only() -> str:
        return "written"

    @app.route("/dir/")
    async def directory() -> str:
        return "directory listing"

    @app.route("/sync")
    def sync_view() -> str:
        return "from a sync view"

    return app


@pytest.fixture
async def client(serve: Any) -> Any:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


def allowed(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.text == "index"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-length"] == "5"


async def test_sync_view(client: httpx.AsyncClient) -> None:
    response = await client.get("/sync")
    assert response.status_code == 200
    assert response.text == "from a sync view"


async def test_int_converter(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/42")
    assert response.status_code == 200
    assert response.json() == {"user_id": 42, "type": "int"}


@pytest.mark.parametrize("path", ["/users/abc", "/users/-1", "/users/4.2", "/users/"])
async def test_int_converter_rejects(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_float_converter(client: httpx.AsyncClient) -> None:
    response = await client.get("/price/9.5")
    assert response.json() == {"amount": 9.5, "type": "float"}
    # werkzeug's float converter needs a dot
    assert (await client.get("/price/9")).status_code == 404


async def test_uuid_converter(client: httpx.AsyncClient) -> None:
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    response = await client.get(f"/items/{value}")
    assert response.json() == {"item_id": str(value), "type": "UUID"}
    assert (await client.get("/items/not-a-uuid")).status_code == 404


async def test_path_converter_keeps_slashes(client: httpx.AsyncClient) -> None:
    response = await client.get("/files/docs/guide/intro.txt")
    assert response.status_code == 200
    assert response.text == "path=docs/guide/intro.txt"


async def test_string_converter_stops_at_slash(client: httpx.AsyncClient) -> None:
    assert (await client.get("/tags/python")).text == "tag=python"
    assert (await client.get("/tags/python/asyncio")).status_code == 404


async def test_percent_encoded_parameter_is_decoded(client: httpx.AsyncClient) -> None:
    response = await client.get("/tags/caf%C3%A9%20bar")
    assert response.text == "tag=café bar"


async def test_two_parameters_and_url_for(client: httpx.AsyncClient) -> None:
    response = await client.get("/posts/2024/hello-world")
    assert response.text == "2024:hello-world:/posts/2024/hello-world"


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/does/not/exist")
    assert response.status_code == 404
    assert "Not Found" in response.text


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/resource")
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD", "OPTIONS", "POST"}


async def test_wrong_method_on_put_only_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/write-only")
    assert response.status_code == 405
    assert allowed(response) == {"PUT", "OPTIONS"}
    assert (await client.put("/write-only")).text == "written"


async def test_allowed_methods_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/resource")).text == "resource GET"
    assert (await client.post("/resource")).text == "resource POST"


async def test_strict_slash_redirects_with_308(client: httpx.AsyncClient) -> None:
    response = await client.get("/dir")
    assert response.status_code == 308
    location = httpx.URL(response.headers["location"])
    assert location.path == "/dir/"
    # a relative Location resolves against the request URL; either way it must land on /dir/
    assert response.url.join(location) == client.base_url.join("/dir/")


async def test_strict_slash_redirect_keeps_query_string(client: httpx.AsyncClient) -> None:
    response = await client.get("/dir", params={"page": "2"})
    assert response.status_code == 308
    location = httpx.URL(response.headers["location"])
    assert location.path == "/dir/"
    assert location.params["page"] == "2"


async def test_strict_slash_redirect_keeps_method_and_lands(client: httpx.AsyncClient) -> None:
    response = await client.get("/dir", follow_redirects=True)
    assert response.status_code == 200
    assert response.text == "directory listing"
    assert [r.status_code for r in response.history] == [308]


async def test_trailing_slash_route_itself(client: httpx.AsyncClient) -> None:
    response = await client.get("/dir/")
    assert response.status_code == 200
    assert response.text == "directory listing"


async def test_automatic_head(client: httpx.AsyncClient) -> None:
    get = await client.get("/users/7")
    head = await client.head("/users/7")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))


async def test_head_on_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.head("/nowhere")
    assert response.status_code == 404
    assert response.content == b""


async def test_automatic_options(client: httpx.AsyncClient) -> None:
    response = await client.options("/resource")
    assert response.status_code == 200
    assert allowed(response) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert response.content == b""


async def test_automatic_options_put_only(client: httpx.AsyncClient) -> None:
    response = await client.options("/write-only")
    assert response.status_code == 200
    assert allowed(response) == {"PUT", "OPTIONS"}
