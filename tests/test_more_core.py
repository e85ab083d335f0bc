"""URL building outside requests, redirects followed by the test client, contexts kept by
`async with client`, and set-up that comes too late."""

from __future__ import annotations

import pytest

from quart import Quart, redirect, request, url_for


async def test_url_for_outside_a_request_needs_server_name(app: Quart) -> None:
    @app.route("/user/<int:user_id>")
    async def user(user_id):
        return "user"

    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("user", user_id=1)

    app.config["SERVER_NAME"] = "example.com"
    async with app.app_context():
        assert url_for("user", user_id=1) == "http://example.com/user/1"
        assert url_for("user", user_id=1, _external=False) == "/user/1"
        assert (
            url_for("user", user_id=2, _anchor="top part") == "http://example.com/user/2#top%20part"
        )

    app.config["PREFER_SECURE_URLS"] = True
    async with app.app_context():
        assert url_for("user", user_id=3) == "https://example.com/user/3"


async def test_url_for_builds_websocket_urls_with_websocket_schemes(app: Quart) -> None:
    @app.websocket("/feed")
    async def feed():
        return None

    app.config["SERVER_NAME"] = "example.com"
    async with app.app_context():
        assert url_for("feed") == "ws://example.com/feed"
        # Browsers need full websocket URLs, so they are always built external.
        assert url_for("feed", _external=False) == "ws://example.com/feed"
    app.config["PREFER_SECURE_URLS"] = True
    async with app.app_context():
        assert url_for("feed") == "wss://example.com/feed"


async def test_the_test_client_follows_redirects_keeping_methods_as_http_says(
    app: Quart, client
) -> None:
    @app.route("/old", methods=["GET", "POST"])
    async def old():
        return redirect("/new?from=old")

    @app.route("/moved", methods=["POST"])
    async def moved():
        return redirect("/new", code=307)

    @app.route("/new", methods=["GET", "POST"])
    async def new():
        return {
            "method": request.method,
            "from": request.args.get("from"),
            "body": await request.get_data(as_text=True),
        }

    response = await client.post("/old", data="payload", follow_redirects=True)
    assert await response.get_json() == {"method": "GET", "from": "old", "body": ""}

    response = await client.post("/moved", data="payload", follow_redirects=True)
    assert await response.get_json() == {"method": "POST", "from": None, "body": "payload"}

    response = await client.post("/old", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/new?from=old"


async def test_a_redirect_loop_is_reported(app: Quart, client) -> None:
    @app.route("/loop")
    async def loop():
        return redirect("/loop")

    with pytest.raises(RuntimeError, match="redirect loop"):
        await client.get("/loop", follow_redirects=True)


async def test_async_with_client_keeps_the_last_request_context(app: Quart) -> None:
    @app.route("/<name>")
    async def named(name):
        return name

    client = app.test_client()
    async with client:
        await client.get("/first?x=1")
        assert request.path == "/first"
        assert request.args["x"] == "1"
        await client.get("/second")
        assert request.path == "/second"
    with pytest.raises(RuntimeError):
        request.path  # noqa: B018 - the context is gone once the block ends


async def test_setting_up_after_the_first_request_is_allowed(app: Quart, client) -> None:
    """As in Quart (Flask refuses): see tests/test_quart_compat_setup.py for the rest."""

    @app.route("/")
    async def index():
        return "ok"

    await client.get("/")

    @app.route("/late")
    async def late():
        return "late"

    assert await (await client.get("/late")).get_data(as_text=True) == "late"


async def test_static_host_goes_with_host_matching() -> None:
    with pytest.raises(ValueError, match="static_host"):
        Quart(__name__, static_host="static.example")
    app = Quart(__name__, host_matching=True, static_host="static.example")
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert rules["static"].host == "static.example"


async def test_files_can_be_given_as_tuples_bytes_or_file_objects(app: Quart, client) -> None:
    import io

    @app.route("/", methods=["POST"])
    async def upload():
        files = await request.files
        return {
            name: [storage.filename, storage.content_type, storage.read().decode()]
            for name, storage in files.items()
        }

    response = await client.post(
        "/",
        files={
            "a": (b"alpha", "a.txt", "text/plain"),
            "b": (io.BytesIO(b"beta"), "b.csv"),
            "c": b"gamma",
            "d": io.BytesIO(b"delta"),
        },
    )
    result = await response.get_json()
    assert result["a"] == ["a.txt", "text/plain", "alpha"]
    assert result["b"][0] == "b.csv" and result["b"][2] == "beta"
    assert result["c"][0] == "c" and result["c"][2] == "gamma"
    assert result["d"][2] == "delta"


async def test_the_cookie_jar_can_be_set_and_cleared_by_hand(app: Quart, client) -> None:
    @app.route("/")
    async def show():
        return dict(request.cookies)

    client.set_cookie("localhost", "flavour", "oat")
    assert await (await client.get("/")).get_json() == {"flavour": "oat"}
    client.set_cookie("elsewhere.example", "other", "x")  # another host's cookie stays there
    assert await (await client.get("/")).get_json() == {"flavour": "oat"}
    client.delete_cookie("localhost", "flavour")
    assert await (await client.get("/")).get_json() == {}

    no_jar = app.test_client(use_cookies=False)
    with pytest.raises(RuntimeError, match="use_cookies"):
        no_jar.set_cookie("localhost", "a", "b")
