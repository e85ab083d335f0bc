"""URL routing: rules, converters, slashes, automatic methods, hosts and subdomains."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.routing import BaseConverter

from quart import Quart, g, request, url_for


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


async def test_route_decorator_with_methods(app, client):
    @app.route("/items", methods=["GET", "POST"])
    async def items():
        return f"items via {request.method}"

    assert await (await client.get("/items")).get_data(as_text=True) == "items via GET"
    assert await (await client.post("/items")).get_data(as_text=True) == "items via POST"
    assert (await client.put("/items")).status_code == 405


async def test_unknown_path_is_404(app, client):
    @app.route("/")
    async def index():
        return "index"

    response = await client.get("/missing")
    assert response.status_code == 404
    assert "Not Found" in await response.get_data(as_text=True)


async def test_add_url_rule(app, client):
    async def view(name):
        return f"hello {name}"

    app.add_url_rule("/hello/<name>", "greet", view, methods=["GET"])

    response = await client.get("/hello/ada")
    assert await response.get_data(as_text=True) == "hello ada"
    assert app.view_functions["greet"] is view
    async with app.test_request_context("/"):
        assert url_for("greet", name="bob") == "/hello/bob"


async def test_add_url_rule_defaults_endpoint_to_function_name(app):
    async def some_view():
        return ""

    app.add_url_rule("/some", view_func=some_view)
    async with app.test_request_context("/"):
        assert url_for("some_view") == "/some"


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
async def test_method_shortcut_decorators(app, client, method):
    getattr(app, method)("/thing")(lambda: f"{request.method} handled")

    response = await client.open("/thing", method=method.upper())
    assert await response.get_data(as_text=True) == f"{method.upper()} handled"
    other = "POST" if method != "post" else "PUT"
    assert (await client.open("/thing", method=other)).status_code == 405


async def test_route_shortcut_rejects_methods_argument(app):
    with pytest.raises(TypeError):
        app.get("/x", methods=["POST"])


async def test_endpoint_decorator(app, client):
    app.add_url_rule("/named", endpoint="named")

    @app.endpoint("named")
    async def named_view():
        return "from endpoint"

    response = await client.get("/named")
    assert await response.get_data(as_text=True) == "from endpoint"


async def test_route_with_explicit_endpoint_name(app, client):
    @app.route("/a", endpoint="alpha")
    async def view():
        return url_for("alpha")

    assert await (await client.get("/a")).get_data(as_text=True) == "/a"


async def test_duplicate_endpoint_with_other_function_is_an_error(app):
    @app.route("/one", endpoint="same")
    async def one():
        return "1"

    with pytest.raises(AssertionError):

        @app.route("/two", endpoint="same")
        async def two():
            return "2"


async def test_route_defaults(app, client):
    @app.route("/page/", defaults={"number": 1})
    @app.route("/page/<int:number>")
    async def page(number):
        return f"page {number}"

    assert await (await client.get("/page/")).get_data(as_text=True) == "page 1"
    assert await (await client.get("/page/7")).get_data(as_text=True) == "page 7"


async def test_int_converter(app, client):
    @app.route("/n/<int:number>")
    async def view(number):
        return {"value": number, "type": type(number).__name__}

    assert await (await client.get("/n/42")).get_json() == {"value": 42, "type": "int"}
    assert (await client.get("/n/abc")).status_code == 404
    assert (await client.get("/n/-1")).status_code == 404  # signed=False by default


async def test_int_converter_arguments(app, client):
    @app.route("/signed/<int(signed=True):number>")
    async def signed(number):
        return str(number * 2)

    @app.route("/bounded/<int(min=1, max=5):number>")
    async def bounded(number):
        return str(number)

    assert await (await client.get("/signed/-4")).get_data(as_text=True) == "-8"
    assert (await client.get("/bounded/3")).status_code == 200
    assert (await client.get("/bounded/9")).status_code == 404


async def test_float_converter(app, client):
    @app.route("/f/<float:value>")
    async def view(value):
        return {"double": value * 2, "type": type(value).__name__}

    assert await (await client.get("/f/1.25")).get_json() == {"double": 2.5, "type": "float"}
    assert (await client.get("/f/3")).status_code == 404  # a float needs a dot


async def test_path_converter_accepts_slashes(app, client):
    @app.route("/files/<path:subpath>")
    async def view(subpath):
        return subpath

    response = await client.get("/files/a/b/c.txt")
    assert await response.get_data(as_text=True) == "a/b/c.txt"


async def test_default_string_converter_rejects_slashes(app, client):
    @app.route("/s/<name>")
    async def view(name):
        return name

    assert await (await client.get("/s/abc")).get_data(as_text=True) == "abc"
    assert (await client.get("/s/a/b")).status_code == 404


async def test_uuid_converter(app, client):
    @app.route("/u/<uuid:ident>")
    async def view(ident):
        assert isinstance(ident, uuid.UUID)
        return ident.hex

    value = uuid.uuid4()
    assert await (await client.get(f"/u/{value}")).get_data(as_text=True) == value.hex
    assert (await client.get("/u/not-a-uuid")).status_code == 404


async def test_any_converter(app, client):
    @app.route("/<any(cats, dogs):kind>")
    async def view(kind):
        return kind

    assert await (await client.get("/dogs")).get_data(as_text=True) == "dogs"
    assert (await client.get("/birds")).status_code == 404


async def test_custom_converter(app, client):
    class ListConverter(BaseConverter):
        def to_python(self, value):
            return value.split(",")

        def to_url(self, value):
            return ",".join(BaseConverter.to_url(self, item) for item in value)

    app.url_map.converters["list"] = ListConverter

    @app.route("/ids/<list:ids>")
    async def view(ids):
        return {"ids": ids, "link": url_for("view", ids=["x", "y"])}

    response = await client.get("/ids/a,b,c")
    assert await response.get_json() == {"ids": ["a", "b", "c"], "link": "/ids/x,y"}


async def test_strict_slashes_redirects_with_308(app, client):
    @app.route("/folder/")
    async def folder():
        return "folder"

    response = await client.get("/folder")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/folder/")
    # The page a browser shows if it does not follow, as in Quart and Flask.
    page = await response.get_data(as_text=True)
    assert "Redirecting..." in page
    assert 'href="http://localhost/folder/"' in page
    assert await (await client.get("/folder/")).get_data(as_text=True) == "folder"


async def test_strict_slashes_redirect_keeps_method_and_query(app, client):
    @app.route("/submit/", methods=["POST"])
    async def submit():
        return f"{request.method} {request.args['x']}"

    response = await client.post("/submit?x=1")
    assert response.status_code == 308  # 308 tells the client to repeat the POST
    assert response.headers["Location"].endswith("/submit/?x=1")

    followed = await client.post("/submit?x=1", follow_redirects=True)
    assert await followed.get_data(as_text=True) == "POST 1"


async def test_rule_without_trailing_slash_does_not_match_with_one(app, client):
    @app.route("/file")
    async def file():
        return "file"

    assert (await client.get("/file")).status_code == 200
    assert (await client.get("/file/")).status_code == 404


async def test_strict_slashes_false(app, client):
    @app.route("/loose/", strict_slashes=False)
    async def loose():
        return "loose"

    response = await client.get("/loose")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "loose"


async def test_automatic_options(app, client):
    called = []

    @app.route("/thing", methods=["GET", "POST"])
    async def thing():
        called.append(request.method)
        return "thing"

    response = await client.options("/thing")
    assert response.status_code == 200
    assert allowed(response) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert await response.get_data() == b""
    assert called == []  # the automatic response does not call the view


async def test_automatic_options_can_be_disabled_per_view(app, client):
    @app.route("/custom", methods=["GET", "OPTIONS"], provide_automatic_options=False)
    async def custom():
        return f"custom {request.method}"

    response = await client.options("/custom")
    assert await response.get_data(as_text=True) == "custom OPTIONS"


async def test_automatic_options_config_switch(app, client):
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.route("/x")
    async def x():
        return "x"

    assert (await client.options("/x")).status_code == 405


async def test_head_is_automatic_and_has_no_body(app, client):
    methods = []

    @app.route("/hello")
    async def hello():
        methods.append(request.method)
        return "hello"

    response = await client.head("/hello")
    assert response.status_code == 200
    assert methods == ["HEAD"]
    assert response.headers["Content-Length"] == "5"  # the length a GET would have
    # Differs from the published Quart 0.20, whose test client returns the body
    # of a HEAD response (it leaves stripping it to the server).
    assert await response.get_data() == b""


async def test_method_not_allowed_lists_allowed_methods(app, client):
    @app.route("/only-get")
    async def only_get():
        return "get"

    @app.route("/only-get", methods=["DELETE"], endpoint="deleter")
    async def deleter():
        return "deleted"

    response = await client.post("/only-get")
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD", "OPTIONS", "DELETE"}
    assert await (await client.delete("/only-get")).get_data(as_text=True) == "deleted"


async def test_host_matching():
    app = Quart(__name__, static_folder=None, host_matching=True)

    @app.route("/", host="api.example.com")
    async def api():
        return "api"

    @app.route("/", host="www.example.com", endpoint="www")
    async def www():
        return "www"

    @app.route("/", host="<user>.users.example.com", endpoint="user")
    async def user(user):
        return f"user {user}"

    client = app.test_client()

    async def body(host):
        return await (await client.get("/", headers={"host": host})).get_data(as_text=True)

    assert await body("api.example.com") == "api"
    assert await body("www.example.com") == "www"
    assert await body("ada.users.example.com") == "user ada"
    assert (await client.get("/", headers={"host": "other.example.com"})).status_code == 404


async def test_host_matching_url_for_external():
    app = Quart(__name__, static_folder=None, host_matching=True)

    @app.route("/path", host="api.example.com")
    async def api():
        return url_for("api", _external=True)

    response = await app.test_client().get("/path", headers={"host": "api.example.com"})
    assert await response.get_data(as_text=True) == "http://api.example.com/path"


async def test_subdomain_routing():
    app = Quart(__name__, static_folder=None, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def root():
        return "root"

    @app.route("/", subdomain="api", endpoint="api")
    async def api():
        return "api"

    @app.route("/", subdomain="<team>", endpoint="team")
    async def team(team):
        return f"team {team}"

    client = app.test_client()

    async def body(host):
        return await (await client.get("/", headers={"host": host})).get_data(as_text=True)

    assert await body("example.com") == "root"
    assert await body("api.example.com") == "api"
    assert await body("red.example.com") == "team red"

    async with app.test_request_context("/"):
        assert url_for("team", team="blue") == "http://blue.example.com/"


async def test_url_value_preprocessor_and_url_defaults(app, client):
    @app.url_value_preprocessor
    def pull_lang(endpoint, values):
        g.lang = values.pop("lang", None) if values else None

    @app.url_defaults
    def add_lang(endpoint, values):
        if "lang" not in values and app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    @app.route("/<lang>/page")
    async def page():
        # the view gets no lang argument: the preprocessor removed it
        return {"lang": g.lang, "self": url_for("page"), "other": url_for("page", lang="de")}

    response = await client.get("/fr/page")
    assert await response.get_json() == {"lang": "fr", "self": "/fr/page", "other": "/de/page"}


async def test_url_for_builds_query_string_from_unknown_arguments(app, client):
    @app.route("/search")
    async def search():
        return url_for("search", q="a b", page=2)

    text = await (await client.get("/search")).get_data(as_text=True)
    assert text.startswith("/search?")
    assert sorted(text.split("?", 1)[1].split("&")) == ["page=2", "q=a+b"]


async def test_request_url_rule_and_view_args(app, client):
    @app.route("/r/<int:ident>")
    async def view(ident):
        return {
            "rule": request.url_rule.rule,
            "endpoint": request.endpoint,
            "view_args": request.view_args,
        }

    response = await client.get("/r/5")
    assert await response.get_json() == {
        "rule": "/r/<int:ident>",
        "endpoint": "view",
        "view_args": {"ident": 5},
    }
