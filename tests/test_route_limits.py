"""Per-route body limits (``quart.limits.route_limits``): one route takes a larger or
smaller body than the app's configuration, the others keep the app's limits."""

from __future__ import annotations

from typing import Any

import pytest

from quart import Blueprint, Quart, request
from quart.limits import route_limits


def make_app() -> Quart:
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.post("/upload")
    @route_limits(max_content_length=10_000)
    async def upload() -> dict[str, Any]:
        return {"size": len(await request.get_data()), "limit": request.max_content_length}

    @route_limits(max_content_length=10)  # above the route decorator works too
    @app.post("/tiny")
    async def tiny() -> dict[str, Any]:
        return {"size": len(await request.get_data())}

    @app.post("/plain")
    async def plain() -> dict[str, Any]:
        return {"size": len(await request.get_data())}

    return app


async def test_a_route_takes_a_larger_body_than_the_app_limit() -> None:
    client = make_app().test_client()
    response = await client.post("/upload", data=b"x" * 5000)
    assert response.status_code == 200
    assert await response.get_json() == {"size": 5000, "limit": 10_000}
    assert (await client.post("/upload", data=b"x" * 10_001)).status_code == 413


async def test_other_routes_keep_the_app_limit() -> None:
    client = make_app().test_client()
    assert (await client.post("/plain", data=b"x" * 5000)).status_code == 413
    assert (await client.post("/plain", data=b"x" * 1000)).status_code == 200


async def test_the_decorator_works_above_the_route_decorator_too() -> None:
    client = make_app().test_client()
    assert (await client.post("/tiny", data=b"x" * 11)).status_code == 413
    assert await (await client.post("/tiny", data=b"x" * 10)).get_json() == {"size": 10}


async def test_a_hook_that_reads_the_body_sees_the_route_limit() -> None:
    app = make_app()
    seen: list[int] = []

    @app.before_request
    async def read_first() -> None:
        if request.method == "POST":
            seen.append(len(await request.get_data()))

    response = await app.test_client().post("/upload", data=b"x" * 5000)
    assert response.status_code == 200
    assert seen == [5000]


async def test_form_limits(app: Quart) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    app.config["MAX_FORM_MEMORY_SIZE"] = 100

    @app.post("/form")
    @route_limits(max_content_length=10_000, max_form_parts=2, max_form_memory_size=1000)
    async def form() -> dict[str, Any]:
        return {"fields": len(await request.form)}

    client = app.test_client()
    response = await client.post("/form", form={"a": "x" * 500, "b": "y"})
    assert await response.get_json() == {"fields": 2}  # over the app's limits, not the route's
    response = await client.post("/form", form={"a": "1", "b": "2", "c": "3"})
    assert response.status_code == 413  # too many parts


async def test_blueprint_routes_and_routes_added_after_serving() -> None:
    app = make_app()
    client = app.test_client()
    assert (await client.post("/plain", data=b"x")).status_code == 200  # has served
    blueprint = Blueprint("files", __name__)

    @blueprint.post("/big")
    @route_limits(max_content_length=5000, body_timeout=5)
    async def big() -> dict[str, Any]:
        return {"size": len(await request.get_data()), "timeout": request.body_timeout}

    app.register_blueprint(blueprint, url_prefix="/files")
    response = await client.post("/files/big", data=b"x" * 3000)
    assert await response.get_json() == {"size": 3000, "timeout": 5}


def test_route_limits_needs_numbers() -> None:
    with pytest.raises(TypeError, match="at least one"):
        route_limits()
    with pytest.raises(TypeError, match="number"):
        route_limits(max_content_length=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="number"):
        route_limits(body_timeout=-1)


async def test_a_query_string_with_too_many_fields_is_refused(app: Quart) -> None:
    app.config["MAX_FORM_PARTS"] = 5

    @app.get("/search")
    async def search() -> dict[str, int]:
        return {"fields": len(request.args)}

    client = app.test_client()
    response = await client.get("/search?" + "&".join(f"f{n}=x" for n in range(5)))
    assert await response.get_json() == {"fields": 5}
    response = await client.get("/search?" + "&".join(f"f{n}=x" for n in range(6)))
    assert response.status_code == 414
    assert "more than 5 fields" in await response.get_data(as_text=True)
    # A view that never reads the arguments is not refused.
    response = await client.get("/missing?" + "&".join("f=x" for _ in range(100)))
    assert response.status_code == 404
