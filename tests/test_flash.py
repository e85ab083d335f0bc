"""Flashed messages: kept in the session for the next page, read once, with categories,
category filters and the ``message_flashed`` signal."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import Markup

from quart import (
    Quart,
    flash,
    get_flashed_messages,
    message_flashed,
    redirect,
    render_template_string,
    request,
    url_for,
)


@pytest.fixture
def app() -> Quart:
    app = Quart(__name__, static_folder=None)
    app.secret_key = "flash secret"

    @app.post("/flash")
    async def add() -> str:
        for category, message in (await request.get_json()).items():
            await flash(message, category)
        return "flashed"

    @app.get("/messages")
    async def messages() -> dict[str, Any]:
        categories = request.args.getlist("category")
        return {
            "messages": get_flashed_messages(
                with_categories=request.args.get("with") == "1", category_filter=categories
            )
        }

    return app


async def messages(client: Any, query: str = "") -> Any:
    response = await client.get(f"/messages{query}")
    assert response.status_code == 200
    return (await response.get_json())["messages"]


async def test_message_shows_on_the_next_request_only(client: Any) -> None:
    await client.post("/flash", json={"message": "Saved."})
    assert await messages(client) == ["Saved."]
    assert await messages(client) == []


async def test_messages_keep_their_order_and_categories(client: Any) -> None:
    await client.post("/flash", json={"info": "one", "error": "two", "message": "three"})
    assert await messages(client, "?with=1") == [
        ["info", "one"],
        ["error", "two"],
        ["message", "three"],
    ]


async def test_flashes_add_up_across_requests(client: Any) -> None:
    await client.post("/flash", json={"info": "first"})
    await client.post("/flash", json={"info": "second"})
    assert await messages(client) == ["first", "second"]


async def test_category_filter(client: Any) -> None:
    await client.post("/flash", json={"info": "one", "error": "two", "warning": "three"})
    filtered = await messages(client, "?category=error&category=warning&with=1")
    assert filtered == [["error", "two"], ["warning", "three"]]
    # the filter only chose what to show: everything was consumed
    assert await messages(client) == []


async def test_reading_twice_in_one_request_gives_the_same_messages(
    app: Quart, client: Any
) -> None:
    @app.get("/twice")
    async def twice() -> dict[str, Any]:
        first = get_flashed_messages()
        second = get_flashed_messages(with_categories=True)
        errors = get_flashed_messages(category_filter=["error"])
        return {"first": first, "second": second, "errors": errors}

    await client.post("/flash", json={"info": "one", "error": "two"})
    assert await (await client.get("/twice")).get_json() == {
        "first": ["one", "two"],
        "second": [["info", "one"], ["error", "two"]],
        "errors": ["two"],
    }
    assert await messages(client) == []


async def test_flash_then_read_in_the_same_request(app: Quart, client: Any) -> None:
    @app.get("/same")
    async def same() -> dict[str, Any]:
        await flash("now")
        return {"messages": get_flashed_messages()}

    assert await (await client.get("/same")).get_json() == {"messages": ["now"]}
    assert await messages(client) == []


async def test_messages_survive_a_redirect(app: Quart, client: Any) -> None:
    @app.post("/save")
    async def save() -> Any:
        await flash("Your changes were saved.", "success")
        return redirect(url_for("page"))

    @app.get("/page")
    async def page() -> str:
        return await render_template_string(
            "{% for category, message in get_flashed_messages(with_categories=true) %}"
            "<p class={{ category }}>{{ message }}</p>{% endfor %}"
        )

    response = await client.post("/save", follow_redirects=True)
    assert await response.get_data(as_text=True) == (
        "<p class=success>Your changes were saved.</p>"
    )
    assert await (await client.get("/page")).get_data(as_text=True) == ""


async def test_markup_messages_stay_markup(app: Quart, client: Any) -> None:
    @app.get("/markup")
    async def markup() -> str:
        await flash(Markup("<b>bold</b>"))
        await flash("<i>escaped</i>")
        return "flashed"

    @app.get("/render")
    async def render() -> str:
        return await render_template_string(
            "{% for m in get_flashed_messages() %}{{ m }}{% endfor %}"
        )

    await client.get("/markup")
    rendered = await (await client.get("/render")).get_data(as_text=True)
    assert rendered == "<b>bold</b>&lt;i&gt;escaped&lt;/i&gt;"


async def test_message_flashed_reaches_sync_and_async_receivers(client: Any, app: Quart) -> None:
    received: list[tuple[str, Any, str, str]] = []

    def sync_receiver(sender: Any, message: str, category: str) -> None:
        received.append(("sync", sender, message, category))

    async def async_receiver(sender: Any, message: str, category: str) -> None:
        received.append(("async", sender, message, category))

    with (
        message_flashed.connected_to(sync_receiver, app),
        message_flashed.connected_to(async_receiver, app),
    ):
        await client.post("/flash", json={"warning": "careful"})
    assert received == [
        ("sync", app, "careful", "warning"),
        ("async", app, "careful", "warning"),
    ]
    await client.post("/flash", json={"warning": "after"})  # disconnected: no more calls
    assert len(received) == 2


async def test_nothing_flashed_gives_empty_lists(client: Any) -> None:
    assert await messages(client) == []
    assert await messages(client, "?with=1") == []
    response = await client.get("/messages")
    assert "Set-Cookie" not in response.headers


async def test_flash_without_secret_key_names_it(app: Quart, client: Any) -> None:
    app.secret_key = None
    errors: list[BaseException] = []

    @app.errorhandler(500)
    async def server_error(error: Any) -> tuple[str, int]:
        errors.append(error.original_exception)
        return "failed", 500

    response = await client.post("/flash", json={"message": "lost"})
    assert response.status_code == 500
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)
    assert "SECRET_KEY" in str(errors[0])
    assert await messages(client) == []  # reading needs no key


async def test_flash_outside_a_request_is_an_error(app: Quart) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="request"):
            await flash("nowhere")
