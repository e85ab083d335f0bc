"""The request path caches work that depends only on configuration (encoders, error pages,
async forms of views, server names). These tests change that configuration between requests
and check that what is cached follows."""

from __future__ import annotations

import importlib.metadata

import pytest
from packaging.version import Version
from werkzeug.exceptions import HTTPException, NotFound

from quart import Quart, Response, abort, jsonify, request


async def test_json_settings_changed_after_a_request_take_effect(app: Quart, client) -> None:
    @app.route("/")
    async def data():
        return {"b": 1, "a": [1, 2]}

    assert await (await client.get("/")).get_data(as_text=True) == '{"a":[1,2],"b":1}\n'
    app.json.sort_keys = False  # type: ignore[attr-defined]
    assert await (await client.get("/")).get_data(as_text=True) == '{"b":1,"a":[1,2]}\n'
    app.json.compact = False  # type: ignore[attr-defined]
    text = await (await client.get("/")).get_data(as_text=True)
    assert text == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}\n'


async def test_debug_mode_makes_json_responses_readable(app: Quart, client) -> None:
    @app.route("/")
    async def data():
        return jsonify(a=1)

    app.debug = True
    assert await (await client.get("/")).get_data(as_text=True) == '{\n  "a": 1\n}\n'


async def test_json_dumps_with_arguments_is_not_cached_wrongly(app: Quart) -> None:
    async with app.app_context():
        assert app.json.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
        assert app.json.dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b": 1, "a": 2}'
        assert app.json.dumps({"a": "é"}) == '{"a": "\\u00e9"}'
        assert app.json.dumps({"a": "é"}, ensure_ascii=False) == '{"a": "é"}'


async def test_error_pages_follow_their_description(app: Quart, client) -> None:
    @app.route("/default")
    async def default():
        abort(404)

    @app.route("/custom")
    async def custom():
        abort(404, "No such user.")

    for _ in range(2):  # the second time comes from the cache
        default_page = await (await client.get("/default")).get_data(as_text=True)
        custom_page = await (await client.get("/custom")).get_data(as_text=True)
        assert "No such user." in custom_page
        assert "No such user." not in default_page
        assert "The requested URL was not found" in default_page


async def test_an_error_class_with_its_own_description_is_rendered_each_time(
    app: Quart, client
) -> None:
    counter = {"n": 0}

    class Counted(NotFound):
        def get_description(self, environ=None, scope=None) -> str:
            counter["n"] += 1
            return f"<p>seen {counter['n']}</p>"

    @app.route("/")
    async def view():
        raise Counted()

    first = await (await client.get("/")).get_data(as_text=True)
    second = await (await client.get("/")).get_data(as_text=True)
    assert "seen 1" in first
    assert "seen 2" in second


async def test_method_not_allowed_keeps_its_allow_header(app: Quart, client) -> None:
    @app.route("/", methods=["GET", "PUT"])
    async def view():
        return "ok"

    response = await client.delete("/")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT"}
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Method Not Allowed" in await response.get_data(as_text=True)


async def test_an_http_exception_with_a_response_sends_that_response(app: Quart, client) -> None:
    @app.route("/")
    async def view():
        raise HTTPException(response=Response("teapot", status=418))

    response = await client.get("/")
    assert response.status_code == 418
    assert await response.get_data() == b"teapot"


async def test_a_view_replaced_in_view_functions_is_used(app: Quart, client) -> None:
    @app.route("/")
    async def first():
        return "first"

    assert await (await client.get("/")).get_data() == b"first"

    async def second():
        return "second"

    app.view_functions["first"] = second
    assert await (await client.get("/")).get_data() == b"second"


async def test_hosts_are_given_as_sent(app: Quart, client) -> None:
    @app.route("/")
    async def view():
        return request.host

    response = await client.get("/", headers={"Host": "XN--BCHER-KVA.Example:8080"})
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "XN--BCHER-KVA.Example:8080"


@pytest.mark.skipif(
    Version(importlib.metadata.version("werkzeug")) < Version("3.1.8"),
    reason="Werkzeug < 3.1.8 passes a Host with invalid characters through (3.1.7 refuses it)",
)
async def test_a_host_with_invalid_characters_is_ignored(app: Quart, client) -> None:
    @app.route("/")
    async def view():
        return request.host

    # A Host header with characters no host has is treated as absent (as werkzeug does),
    # and the request is still served.
    response = await client.get("/", headers={"Host": "bad host.example"})
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == ""


async def test_trusted_hosts_refuse_other_hosts(app: Quart, client) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.example"]

    @app.route("/")
    async def view():
        return "ok"

    assert (await client.get("/", headers={"Host": "good.example"})).status_code == 200
    assert (await client.get("/", headers={"Host": "evil.example"})).status_code == 400


async def test_responses_built_directly_have_the_expected_status_and_headers() -> None:
    assert Response("x").status == "200 OK"
    assert Response("x", 201).status == "201 CREATED"
    assert Response("x", 299).status == "299 UNKNOWN"
    assert Response("x", "202 Accepted").status_code == 202
    response = Response("héllo", headers={"X-A": "1"}, mimetype="text/plain")
    assert response.headers["X-A"] == "1"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == str(len("héllo".encode()))
    assert Response(b"\x00", content_type="application/octet-stream").mimetype == (
        "application/octet-stream"
    )
    assert await Response().get_data() == b""
    assert "Content-Length" in Response(b"abc").headers


async def test_an_untouched_permanent_session_is_refreshed(app: Quart, client) -> None:
    # The cookie session is loaded on first use; a request that never uses it must still
    # refresh a permanent session's cookie, as Flask does.
    app.secret_key = "not so secret"

    @app.route("/login")
    async def login():
        from quart import session

        session.permanent = True
        session["user"] = "ann"
        return "in"

    @app.route("/plain")
    async def plain():
        return "plain"

    @app.route("/whoami")
    async def whoami():
        from quart import session

        return session.get("user", "nobody")

    assert (await client.get("/plain")).headers.get("Set-Cookie") is None
    login_response = await client.get("/login")
    assert "Expires=" in login_response.headers["Set-Cookie"]

    refreshed = await client.get("/plain")
    assert refreshed.headers["Set-Cookie"].startswith("session=")
    assert await (await client.get("/whoami")).get_data() == b"ann"

    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert (await client.get("/plain")).headers.get("Set-Cookie") is None


async def test_a_session_read_without_a_secret_key_is_empty(app: Quart, client) -> None:
    @app.route("/")
    async def view():
        from quart import session

        return {"user": session.get("user"), "empty": len(session) == 0}

    response = await client.get("/", headers={"Cookie": "session=garbage"})
    assert await response.get_json() == {"user": None, "empty": True}
    assert response.headers.get("Set-Cookie") is None


async def test_remembered_matches_keep_methods_hosts_and_arguments_apart() -> None:
    app = Quart(__name__, static_folder=None, host_matching=True)

    @app.get("/item/<int:item_id>", host="a.example")
    async def read_a(item_id):
        return {"read": item_id, "host": "a"}

    @app.post("/item/<int:item_id>", host="a.example")
    async def write_a(item_id):
        return {"write": item_id}

    @app.get("/item/<int:item_id>", host="b.example")
    async def read_b(item_id):
        return {"read": item_id, "host": "b"}

    client = app.test_client()
    for _ in range(2):
        a = await client.get("/item/1", headers={"Host": "a.example"})
        assert await a.get_json() == {"read": 1, "host": "a"}
        b = await client.get("/item/1", headers={"Host": "b.example"})
        assert await b.get_json() == {"read": 1, "host": "b"}
        w = await client.post("/item/2", headers={"Host": "a.example"})
        assert await w.get_json() == {"write": 2}
        assert (await client.post("/item/2", headers={"Host": "b.example"})).status_code == 405
        assert (await client.get("/item/x", headers={"Host": "a.example"})).status_code == 404


async def test_view_args_changed_by_a_view_do_not_leak_into_later_requests(
    app: Quart, client
) -> None:
    @app.url_value_preprocessor
    def pop_lang(endpoint, values):
        request.lang = values.pop("lang", None) if values else None  # type: ignore[attr-defined]

    @app.route("/<lang>/page")
    async def page():
        return {"lang": request.lang, "args": request.view_args}  # type: ignore[attr-defined]

    for _ in range(2):
        response = await client.get("/en/page")
        assert await response.get_json() == {"lang": "en", "args": {}}


async def test_custom_converters_run_on_every_request(app: Quart, client) -> None:
    from werkzeug.routing import BaseConverter

    calls = []

    class Lookup(BaseConverter):
        def to_python(self, value):
            calls.append(value)
            return {"id": value, "call": len(calls)}

    app.url_map.converters["lookup"] = Lookup

    @app.route("/thing/<lookup:thing>")
    async def thing(thing):
        return thing

    assert await (await client.get("/thing/7")).get_json() == {"id": "7", "call": 1}
    assert await (await client.get("/thing/7")).get_json() == {"id": "7", "call": 2}


async def test_a_value_a_custom_converter_refused_can_be_accepted_later(app: Quart, client) -> None:
    from werkzeug.routing import BaseConverter, ValidationError

    known: set[str] = set()

    class Known(BaseConverter):
        def to_python(self, value):
            if value not in known:
                raise ValidationError()
            return value

    app.url_map.converters["known"] = Known

    @app.route("/user/<known:name>")
    async def user(name):
        return name

    assert (await client.get("/user/ann")).status_code == 404
    known.add("ann")
    response = await client.get("/user/ann")
    assert response.status_code == 200
    assert await response.get_data() == b"ann"


async def test_remembered_405s_keep_their_allowed_methods(app: Quart, client) -> None:
    @app.route("/thing", methods=["GET", "PATCH"])
    async def thing():
        return "ok"

    for _ in range(2):
        response = await client.delete("/thing")
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PATCH"}


async def test_query_strings_parse_as_parse_qsl_does() -> None:
    from urllib.parse import parse_qsl

    from quart.wrappers.base import parse_query_string

    cases = [
        "",
        "a=1",
        "a=1&b=2",
        "a",
        "a=",
        "=x",
        "a=1&&b=2&",
        "a=1&a=2",
        "a=b=c",
        "&",
        "a=%C3%A9",
        "a+b=c+d",
        "x=%zz",
        "a;b=1",
        "q=hello%20world&p=2",
    ]
    for case in cases:
        expected = parse_qsl(case, keep_blank_values=True, errors="werkzeug.url_quote")
        assert parse_query_string(case.encode()) == expected, case


async def test_query_bytes_that_are_not_utf8_do_not_fail_the_request(app: Quart, client) -> None:
    @app.route("/")
    async def view():
        return {"args": request.args.to_dict(), "full_path": request.full_path}

    response = await client.get("/", scope_base={"query_string": b"x=\xff&y=%C3%A9&z=%FF"})
    assert response.status_code == 200
    assert await response.get_json() == {
        "args": {"x": "%FF", "y": "é", "z": "%FF"},
        "full_path": "/?x=%FF&y=%C3%A9&z=%FF",
    }


async def test_content_length_is_read_as_http_defines_it(app: Quart, client) -> None:
    @app.route("/", methods=["POST"])
    async def view():
        return {"length": request.content_length}

    cases = {"12": 12, " 7 ": 7, "0": 0, "-1": None, "+5": None, "1_0": None, "x": None}
    for header, expected in cases.items():
        response = await client.post("/", headers={"Content-Length": header})
        assert await response.get_json() == {"length": expected}, header
    response = await client.post(
        "/", headers={"Content-Length": "5", "Transfer-Encoding": "Chunked"}
    )
    assert await response.get_json() == {"length": None}


async def test_json_content_types_are_recognised_as_werkzeug_does(app: Quart) -> None:
    from werkzeug.datastructures import Headers
    from werkzeug.sansio.request import Request as SansIORequest

    cases = [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.api+json",
        "application/problem+json;q=1",
        "text/json",
        "application/jsonx",
        "",
        " application/json ",
        "text/plain",
        "application/+json",
    ]
    for content_type in cases:
        async with app.test_request_context("/", headers={"Content-Type": content_type}):
            expected = SansIORequest(
                "GET", "http", None, "", "/", b"", Headers({"Content-Type": content_type}), None
            ).is_json
            assert request.is_json == expected, content_type


async def test_finished_requests_are_freed_without_the_garbage_collector(app: Quart) -> None:
    """Reference cycles would leave every request to the garbage collector, which then
    runs often under load. Errors are the usual culprits: a raised exception's traceback
    holds the frames that hold the request."""
    import gc
    import weakref

    seen: list[weakref.ref[object]] = []

    @app.before_request
    async def remember() -> None:
        seen.append(weakref.ref(request._get_current_object()))

    @app.get("/ok")
    async def ok() -> str:
        return "ok"

    @app.get("/aborted")
    async def aborted() -> str:
        abort(403)

    async def send_message(message: dict) -> None:
        pass

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    gc.collect()
    gc.disable()
    try:
        for path, method in [
            ("/ok", "GET"),
            ("/missing", "GET"),
            ("/ok", "POST"),
            ("/aborted", "GET"),
        ]:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": method,
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": [(b"host", b"localhost")],
                "client": ("127.0.0.1", 5000),
                "server": ("127.0.0.1", 80),
            }
            await app(scope, receive, send_message)
        assert len(seen) == 4
        assert [ref() is None for ref in seen] == [True] * 4
    finally:
        gc.enable()


async def test_query_arguments_are_shared_only_while_immutable(app: Quart, client) -> None:
    from werkzeug.datastructures import ImmutableMultiDict, MultiDict

    from quart import Request

    seen: list[object] = []

    @app.get("/")
    async def view() -> dict[str, object]:
        seen.append(request.args)
        if isinstance(request.args, ImmutableMultiDict):
            with pytest.raises(TypeError):
                request.args["b"] = "changed"  # type: ignore[index]
        else:
            request.args["b"] = "changed"
        return request.args.to_dict(flat=False)

    first = await (await client.get("/?a=1&a=2")).get_json()
    second = await (await client.get("/?a=1&a=2")).get_json()
    assert first == second == {"a": ["1", "2"]}
    assert seen[0] is seen[1]  # one parsed object for the same query string

    class MutableArgsRequest(Request):
        parameter_storage_class = MultiDict  # type: ignore[assignment]

    app.request_class = MutableArgsRequest
    assert await (await client.get("/?a=1")).get_json() == {"a": ["1"], "b": ["changed"]}
    assert await (await client.get("/?a=1")).get_json() == {"a": ["1"], "b": ["changed"]}
    assert seen[2] is not seen[3]
