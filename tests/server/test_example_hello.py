"""The hello example (examples/hello/app.py): every route, with the test client and hypercorn."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from example_apps import load_example


@pytest.fixture
def app() -> Any:
    return load_example("hello").app


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


async def test_index_links_to_every_page(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    body = await resp.get_data(as_text=True)
    assert "<h1>Hello, quart!</h1>" in body
    assert links(body) == ["/hello/world", "/api/info", "/api/add/2/3", "/form"]
    for link in links(body):
        linked = await client.get(link)
        assert linked.status_code == 200, link


async def test_hello_uses_the_path_parameter(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/hello/Ada")
    assert resp.status_code == 200
    assert await resp.get_data(as_text=True) == "<p>Hello, Ada!</p>"


async def test_hello_escapes_the_name(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/hello/<b>Tom & Jerry")
    assert await resp.get_data(as_text=True) == "<p>Hello, &lt;b&gt;Tom &amp; Jerry!</p>"


async def test_hello_without_a_name_is_not_found(app: Any) -> None:
    client = app.test_client()
    assert (await client.get("/hello/")).status_code == 404


async def test_api_info_with_jsonify(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/api/info")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert await resp.get_json() == {
        "name": "hello",
        "framework": "quart",
        "routes": ["/", "/hello/<name>", "/form"],
    }


async def test_api_add_returns_a_dict_as_json(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/api/add/20/22")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert await resp.get_json() == {"a": 20, "b": 22, "sum": 42}


async def test_api_add_only_matches_integers(app: Any) -> None:
    client = app.test_client()
    assert (await client.get("/api/add/2/x")).status_code == 404
    assert (await client.get("/api/add/2.5/1")).status_code == 404


async def test_form_get_shows_the_form(app: Any) -> None:
    client = app.test_client()
    resp = await client.get("/form")
    assert resp.status_code == 200
    body = await resp.get_data(as_text=True)
    assert '<form method="post">' in body
    assert '<input name="name">' in body


async def test_form_post_reads_the_field(app: Any) -> None:
    client = app.test_client()
    resp = await client.post("/form", form={"name": "  Grace  "})
    assert resp.status_code == 200
    body = await resp.get_data(as_text=True)
    assert body.startswith("<p>Thanks, Grace!</p>")


async def test_form_post_without_a_name(app: Any) -> None:
    client = app.test_client()
    resp = await client.post("/form", form={})
    assert (await resp.get_data(as_text=True)).startswith("<p>Thanks, stranger!</p>")


async def test_form_post_escapes_the_name(app: Any) -> None:
    client = app.test_client()
    resp = await client.post("/form", form={"name": "<script>"})
    assert (await resp.get_data(as_text=True)).startswith("<p>Thanks, &lt;script&gt;!</p>")


async def test_form_rejects_other_methods(app: Any) -> None:
    client = app.test_client()
    resp = await client.delete("/form")
    assert resp.status_code == 405


async def test_every_route_over_hypercorn(app: Any, serve: Any) -> None:
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client:
        index = await client.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert links(index.text) == ["/hello/world", "/api/info", "/api/add/2/3", "/form"]

        hello = await client.get("/hello/world")
        assert hello.status_code == 200
        assert hello.text == "<p>Hello, world!</p>"

        info = await client.get("/api/info")
        assert info.headers["content-type"] == "application/json"
        assert info.json()["framework"] == "quart"

        add = await client.get("/api/add/2/3")
        assert add.json() == {"a": 2, "b": 3, "sum": 5}

        form_page = await client.get("/form")
        assert '<form method="post">' in form_page.text

        posted = await client.post("/form", data={"name": "Linus"})
        assert posted.status_code == 200
        assert posted.text.startswith("<p>Thanks, Linus!</p>")

        missing = await client.get("/nowhere")
        assert missing.status_code == 404
