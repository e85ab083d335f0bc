"""Request hooks and cookies over a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from quart import Quart, Response, g, make_response, request, session


def make_app() -> tuple[Quart, dict[str, Any]]:
    app = Quart(__name__)
    app.secret_key = "test-secret-key"
    seen: dict[str, Any] = {"views": [], "teardown": [], "torn_down": asyncio.Event()}

    @app.before_request
    async def start_timer() -> Any:
        g.marker = f"before:{request.path}"
        if request.headers.get("X-Block") == "yes":
            return "blocked by before_request", 401
        return None

    @app.before_request
    def sync_before() -> None:
        g.sync_ran = True

    @app.after_request
    async def first_registered(response: Response) -> Response:
        response.headers["X-Hook-Order"] = response.headers.get("X-Hook-Order", "") + "first"
        response.headers["X-Before-Saw"] = g.get("marker", "nothing")
        return response

    @app.after_request
    def second_registered(response: Response) -> Response:
        response.headers["X-Hook-Order"] = response.headers.get("X-Hook-Order", "") + "second,"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen["teardown"].append((request.path, exc))
        seen["torn_down"].set()

    @app.route("/hooked")
    async def hooked() -> str:
        seen["views"].append("hooked")
        return f"view saw {g.marker} sync={g.sync_ran}"

    @app.route("/cookies/set")
    async def set_cookies() -> Response:
        response = await make_response("cookies set")
        response.set_cookie("flavour", "oatmeal", max_age=3600, httponly=True, samesite="Lax")
        response.set_cookie("plain", "raisin")
        return response

    @app.route("/cookies/read")
    async def read_cookies() -> dict[str, Any]:
        return {
            "flavour": request.cookies.get("flavour"),
            "plain": request.cookies.get("plain"),
        }

    @app.route("/cookies/delete")
    async def delete_cookie() -> Response:
        response = await make_response("deleted")
        response.delete_cookie("flavour")
        return response

    @app.route("/session/count")
    async def count() -> dict[str, int]:
        session["count"] = session.get("count", 0) + 1
        return {"count": session["count"]}

    return app, seen


@pytest.fixture
async def served(serve: Any) -> Any:
    app, seen = make_app()
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client, seen


async def test_before_and_after_request_hooks(served: Any) -> None:
    client, seen = served
    response = await client.get("/hooked")
    assert response.status_code == 200
    assert response.text == "view saw before:/hooked sync=True"
    assert response.headers["x-before-saw"] == "before:/hooked"
    # after_request functions run in reverse order of registration
    assert response.headers["x-hook-order"] == "second,first"
    async with asyncio.timeout(5):
        await seen["torn_down"].wait()
    assert seen["teardown"] == [("/hooked", None)]


async def test_before_request_can_answer_instead_of_the_view(served: Any) -> None:
    client, seen = served
    response = await client.get("/hooked", headers={"X-Block": "yes"})
    assert response.status_code == 401
    assert response.text == "blocked by before_request"
    assert seen["views"] == []
    # the response still goes through after_request
    assert response.headers["x-hook-order"] == "second,first"


async def test_after_request_runs_for_a_404(served: Any) -> None:
    client, _seen = served
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["x-before-saw"] == "before:/no-such-page"
    assert response.headers["x-hook-order"] == "second,first"


async def test_set_cookie_reaches_the_client(served: Any) -> None:
    client, _seen = served
    response = await client.get("/cookies/set")
    assert response.status_code == 200
    assert response.cookies["flavour"] == "oatmeal"
    assert response.cookies["plain"] == "raisin"
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 2
    flavour = next(h for h in headers if h.startswith("flavour="))
    attributes = {part.strip().split("=")[0].lower() for part in flavour.split(";")}
    assert {"httponly", "max-age", "path", "samesite", "expires"} <= attributes
    assert "Max-Age=3600" in flavour
    assert "SameSite=Lax" in flavour
    assert "Path=/" in flavour


async def test_cookies_come_back_and_can_be_deleted(served: Any) -> None:
    client, _seen = served
    assert (await client.get("/cookies/read")).json() == {"flavour": None, "plain": None}
    await client.get("/cookies/set")
    assert (await client.get("/cookies/read")).json() == {"flavour": "oatmeal", "plain": "raisin"}

    deleted = await client.get("/cookies/delete")
    deletion = deleted.headers["set-cookie"]
    assert deletion.startswith("flavour=")
    assert "Max-Age=0" in deletion
    assert (await client.get("/cookies/read")).json() == {"flavour": None, "plain": "raisin"}


async def test_session_survives_between_requests(served: Any) -> None:
    client, _seen = served
    counts = [(await client.get("/session/count")).json()["count"] for _ in range(3)]
    assert counts == [1, 2, 3]
    # a client without the cookie starts again
    async with httpx.AsyncClient(base_url=client.base_url) as other:
        assert (await other.get("/session/count")).json() == {"count": 1}


async def test_tampered_session_cookie_is_ignored(served: Any) -> None:
    client, _seen = served
    await client.get("/session/count")
    cookie = client.cookies["session"]
    async with httpx.AsyncClient(base_url=client.base_url) as other:
        other.cookies.set("session", "x" + cookie)
        assert (await other.get("/session/count")).json() == {"count": 1}
