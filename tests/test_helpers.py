"""abort, redirect, url_for and JSON helpers."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid

import pytest
from werkzeug.routing import BuildError

from quart import Response, abort, jsonify, make_response, redirect, request, url_for


async def test_abort_with_a_code(app, client):
    @app.route("/")
    async def view():
        abort(404)

    response = await client.get("/")
    assert response.status_code == 404
    assert "Not Found" in await response.get_data(as_text=True)


async def test_abort_with_a_description(app, client):
    @app.route("/")
    async def view():
        abort(403, description="members only")

    response = await client.get("/")
    assert response.status_code == 403
    assert "members only" in await response.get_data(as_text=True)


async def test_abort_with_a_response(app, client):
    @app.route("/")
    async def view():
        abort(Response("custom abort", status=409, headers={"X-Abort": "1"}))

    response = await client.get("/")
    assert response.status_code == 409
    assert response.headers["X-Abort"] == "1"
    assert await response.get_data(as_text=True) == "custom abort"


async def test_abort_stops_the_view(app, client):
    reached = []

    @app.route("/")
    async def view():
        abort(400)
        reached.append(True)

    assert (await client.get("/")).status_code == 400
    assert reached == []


def test_abort_with_an_unknown_code_is_a_lookup_error():
    with pytest.raises(LookupError):
        abort(799)


async def test_redirect_is_the_apps_response_class(app):
    class AppResponse(Response):
        pass

    app.response_class = AppResponse
    async with app.app_context():
        response = redirect("/elsewhere", 303)
    assert type(response) is AppResponse
    assert response.status_code == 303
    assert response.headers["Location"] == "/elsewhere"


async def test_redirect_defaults_to_302(app, client):
    @app.route("/old")
    async def old():
        return redirect("/new")

    @app.route("/new")
    async def new():
        return "new page"

    response = await client.get("/old")
    assert response.status_code == 302
    assert response.headers["Location"] == "/new"
    assert "/new" in await response.get_data(as_text=True)

    followed = await client.get("/old", follow_redirects=True)
    assert await followed.get_data(as_text=True) == "new page"


@pytest.mark.parametrize("code", [301, 303, 307, 308])
async def test_redirect_with_a_code(app, client, code):
    @app.route("/")
    async def view():
        return redirect("https://example.com/target", code=code)

    response = await client.get("/")
    assert response.status_code == code
    assert response.headers["Location"] == "https://example.com/target"


async def test_redirect_with_url_for(app, client):
    @app.route("/login")
    async def login():
        return "login"

    @app.route("/private")
    async def private():
        return redirect(url_for("login", next=request.path))

    response = await client.get("/private")
    assert response.headers["Location"] == "/login?next=/private"


async def test_url_for(app):
    @app.route("/user/<name>")
    async def user(name):
        return name

    async with app.test_request_context("/"):
        assert url_for("user", name="ada") == "/user/ada"
        assert url_for("user", name="a b") == "/user/a%20b"
        assert url_for("user", name="ada", _anchor="top") == "/user/ada#top"
        assert url_for("user", name="ada", _external=True) == "http://localhost/user/ada"
        assert (
            url_for("user", name="ada", _external=True, _scheme="https")
            == "https://localhost/user/ada"
        )


async def test_url_for_uses_the_request_host_and_root_path(app, client):
    @app.route("/target")
    async def target():
        return url_for("target", _external=True)

    response = await client.get(
        "/mount/target", root_path="/mount", headers={"host": "shop.example"}
    )
    assert await response.get_data(as_text=True) == "http://shop.example/mount/target"


async def test_url_for_with_method(app):
    async def item():
        return ""

    app.add_url_rule("/item", "item", item, methods=["GET"])
    app.add_url_rule("/item/create", "item", item, methods=["POST"])

    async with app.test_request_context("/"):
        assert url_for("item", _method="GET") == "/item"
        assert url_for("item", _method="POST") == "/item/create"


async def test_url_for_in_app_context_uses_server_name(app):
    app.config["SERVER_NAME"] = "api.example.com"

    @app.route("/status")
    async def status():
        return ""

    async with app.app_context():
        assert url_for("status") == "http://api.example.com/status"


async def test_url_for_scheme_requires_external(app):
    @app.route("/")
    async def index():
        return ""

    async with app.test_request_context("/"):
        with pytest.raises(ValueError):
            url_for("index", _scheme="https", _external=False)


async def test_url_for_unknown_endpoint_raises_build_error(app):
    async with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("does_not_exist")


async def test_url_for_missing_argument_raises_build_error(app):
    @app.route("/user/<name>")
    async def user(name):
        return name

    async with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("user")


async def test_url_build_error_handlers(app):
    def external_fallback(error, endpoint, values):
        if endpoint == "docs":
            return "https://docs.example.com/"
        raise error

    app.url_build_error_handlers.append(external_fallback)

    async with app.test_request_context("/"):
        assert url_for("docs") == "https://docs.example.com/"
        with pytest.raises(BuildError):
            url_for("still_unknown")


@dataclasses.dataclass
class Point:
    x: int
    y: int


async def test_jsonify_special_types(app, client):
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")

    @app.route("/")
    async def view():
        return jsonify(
            point=Point(1, 2),
            price=decimal.Decimal("9.99"),
            day=datetime.date(2024, 1, 31),
            moment=datetime.datetime(2024, 1, 31, 12, 30, 5, tzinfo=datetime.UTC),
            ident=ident,
        )

    assert await (await client.get("/")).get_json() == {
        "point": {"x": 1, "y": 2},
        "price": "9.99",
        "day": "Wed, 31 Jan 2024 00:00:00 GMT",
        "moment": "Wed, 31 Jan 2024 12:30:05 GMT",
        "ident": str(ident),
    }


async def test_jsonify_unserialisable_is_a_type_error(app):
    async with app.app_context():
        with pytest.raises(TypeError):
            jsonify(value=object())


async def test_json_sort_keys(app, client):
    @app.route("/")
    async def view():
        return {"b": 1, "a": 2, "c": {"z": 1, "y": 2}}

    text = await (await client.get("/")).get_data(as_text=True)
    assert text.index('"a"') < text.index('"b"') < text.index('"c"')
    assert text.index('"y"') < text.index('"z"')

    app.json.sort_keys = False
    text = await (await client.get("/")).get_data(as_text=True)
    assert text.index('"b"') < text.index('"a"') < text.index('"c"')


async def test_json_compact(app, client):
    @app.route("/")
    async def view():
        return jsonify(a=1, b=[1, 2])

    compact = await (await client.get("/")).get_data(as_text=True)
    assert compact.strip() == '{"a":1,"b":[1,2]}'

    app.json.compact = False
    pretty = await (await client.get("/")).get_data(as_text=True)
    assert pretty.strip() == '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'


async def test_app_json_dumps_and_loads(app):
    assert app.json.loads('{"a": [1]}') == {"a": [1]}
    assert app.json.dumps({"b": 1, "a": decimal.Decimal("1.5")}) == '{"a": "1.5", "b": 1}'


async def test_make_response_in_an_app_context(app):
    async with app.app_context():
        response = await make_response("text", 201, {"X-H": "h"})
    assert response.status_code == 201
    assert response.headers["X-H"] == "h"
    assert await response.get_data(as_text=True) == "text"
