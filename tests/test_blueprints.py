"""Blueprints: prefixes, subdomains, nesting, scoped hooks and error handlers."""

from __future__ import annotations

from quart import Blueprint, Quart, abort, g, request, url_for


def describe_request():
    return {
        "blueprint": request.blueprint,
        "blueprints": request.blueprints,
        "endpoint": request.endpoint,
        "view_args": request.view_args,
    }


async def test_url_prefix(app, client):
    bp = Blueprint("admin", __name__, url_prefix="/admin")

    @bp.route("/users/<int:uid>")
    async def user(uid):
        return describe_request()

    app.register_blueprint(bp)

    response = await client.get("/admin/users/3")
    assert await response.get_json() == {
        "blueprint": "admin",
        "blueprints": ["admin"],
        "endpoint": "admin.user",
        "view_args": {"uid": 3},
    }
    assert (await client.get("/users/3")).status_code == 404


async def test_url_prefix_given_at_registration(app, client):
    bp = Blueprint("api", __name__)

    @bp.get("/ping")
    async def ping():
        return "pong"

    app.register_blueprint(bp, url_prefix="/v2")
    assert await (await client.get("/v2/ping")).get_data(as_text=True) == "pong"


async def test_blueprint_registered_twice_with_a_new_name(app, client):
    bp = Blueprint("items", __name__)

    @bp.route("/")
    async def index():
        return request.endpoint

    app.register_blueprint(bp, url_prefix="/a")
    app.register_blueprint(bp, url_prefix="/b", name="items_b")
    assert await (await client.get("/a/")).get_data(as_text=True) == "items.index"
    assert await (await client.get("/b/")).get_data(as_text=True) == "items_b.index"


async def test_subdomain_blueprint():
    app = Quart(__name__, static_folder=None, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"
    bp = Blueprint("api", __name__, subdomain="api")

    @bp.route("/")
    async def index():
        return "api index"

    @app.route("/")
    async def root():
        return "main index"

    app.register_blueprint(bp)
    client = app.test_client()

    response = await client.get("/", headers={"host": "api.example.com"})
    assert await response.get_data(as_text=True) == "api index"
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "main index"


async def test_nested_blueprints(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")

    @child.route("/leaf/<name>")
    async def leaf(name):
        return {**describe_request(), "url": url_for(".leaf", name="x")}

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    response = await client.get("/parent/child/leaf/y")
    assert await response.get_json() == {
        "blueprint": "parent.child",
        "blueprints": ["parent.child", "parent"],
        "endpoint": "parent.child.leaf",
        "view_args": {"name": "y"},
        "url": "/parent/child/leaf/x",
    }


async def test_nested_blueprint_hooks_run_outer_first_and_inner_last(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    order = []

    @app.before_request
    async def app_before():
        order.append("app before")

    @parent.before_request
    async def parent_before():
        order.append("parent before")

    @child.before_request
    async def child_before():
        order.append("child before")

    @app.after_request
    async def app_after(response):
        order.append("app after")
        return response

    @parent.after_request
    async def parent_after(response):
        order.append("parent after")
        return response

    @child.after_request
    async def child_after(response):
        order.append("child after")
        return response

    @child.route("/")
    async def view():
        order.append("view")
        return ""

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    await client.get("/p/c/")
    assert order == [
        "app before",
        "parent before",
        "child before",
        "view",
        "child after",
        "parent after",
        "app after",
    ]


async def test_blueprint_hooks_only_run_for_its_routes(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    calls = []

    @bp.before_request
    async def before():
        calls.append("before")

    @bp.after_request
    async def after(response):
        response.headers["X-Bp"] = "yes"
        return response

    @bp.teardown_request
    async def teardown(exc):
        calls.append(("teardown", exc))

    @bp.route("/")
    async def bp_view():
        return "bp"

    @app.route("/")
    async def app_view():
        return "app"

    app.register_blueprint(bp)

    response = await client.get("/")
    assert "X-Bp" not in response.headers
    assert calls == []

    response = await client.get("/bp/")
    assert response.headers["X-Bp"] == "yes"
    assert calls == ["before", ("teardown", None)]


async def test_blueprint_before_request_short_circuits(app, client):
    bp = Blueprint("guarded", __name__)

    @bp.before_request
    async def guard():
        return "guarded", 401

    @bp.route("/guarded")
    async def view():
        return "secret"

    app.register_blueprint(bp)
    response = await client.get("/guarded")
    assert response.status_code == 401
    assert await response.get_data(as_text=True) == "guarded"


async def test_before_app_request_and_after_app_request(app, client):
    bp = Blueprint("bp", __name__)

    @bp.before_app_request
    async def before_all():
        g.tag = "set by blueprint"

    @bp.after_app_request
    async def after_all(response):
        response.headers["X-App-Wide"] = "yes"
        return response

    @bp.teardown_app_request
    async def teardown_all(exc):
        pass

    @app.route("/outside")
    async def outside():
        return g.tag

    app.register_blueprint(bp)

    response = await client.get("/outside")
    assert await response.get_data(as_text=True) == "set by blueprint"
    assert response.headers["X-App-Wide"] == "yes"


async def test_blueprint_errorhandler_is_scoped(app, client):
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(ValueError)
    async def bp_value_error(error):
        return "blueprint handler", 400

    @bp.route("/")
    async def bp_view():
        raise ValueError()

    @app.route("/")
    async def app_view():
        raise ValueError()

    app.register_blueprint(bp)

    response = await client.get("/bp/")
    assert await response.get_data(as_text=True) == "blueprint handler"
    assert (await client.get("/")).status_code == 500


async def test_blueprint_errorhandler_beats_app_handler(app, client):
    bp = Blueprint("bp", __name__)

    @app.errorhandler(403)
    async def app_forbidden(error):
        return "app handler", 403

    @bp.errorhandler(403)
    async def bp_forbidden(error):
        return "blueprint handler", 403

    @bp.route("/bp")
    async def bp_view():
        abort(403)

    @app.route("/app")
    async def app_view():
        abort(403)

    app.register_blueprint(bp)
    assert await (await client.get("/bp")).get_data(as_text=True) == "blueprint handler"
    assert await (await client.get("/app")).get_data(as_text=True) == "app handler"


async def test_app_errorhandler(app, client):
    bp = Blueprint("bp", __name__)

    @bp.app_errorhandler(404)
    async def everywhere(error):
        return "registered from blueprint", 404

    app.register_blueprint(bp)
    response = await client.get("/missing")
    assert response.status_code == 404
    assert await response.get_data(as_text=True) == "registered from blueprint"


async def test_url_for_relative_to_the_current_blueprint(app, client):
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    blog = Blueprint("blog", __name__, url_prefix="/blog")

    @shop.route("/")
    async def index():
        return {
            "relative": url_for(".item", ident=1),
            "absolute": url_for("blog.index"),
            "app": url_for("home"),
        }

    @shop.route("/item/<int:ident>")
    async def item(ident):
        return ""

    @blog.route("/", endpoint="index")
    async def blog_index():
        return ""

    @app.route("/")
    async def home():
        return ""

    app.register_blueprint(shop)
    app.register_blueprint(blog)

    assert await (await client.get("/shop/")).get_json() == {
        "relative": "/shop/item/1",
        "absolute": "/blog/",
        "app": "/",
    }


async def test_blueprint_url_value_preprocessor_and_defaults(app, client):
    bp = Blueprint("lang", __name__, url_prefix="/<lang_code>")

    @bp.url_value_preprocessor
    def pull(endpoint, values):
        g.lang_code = values.pop("lang_code")

    @bp.url_defaults
    def add(endpoint, values):
        values.setdefault("lang_code", g.lang_code)

    @bp.route("/about")
    async def about():
        return {"lang": g.lang_code, "link": url_for(".about")}

    app.register_blueprint(bp)
    assert await (await client.get("/nl/about")).get_json() == {
        "lang": "nl",
        "link": "/nl/about",
    }


async def test_app_request_outside_blueprint_has_no_blueprint(app, client):
    @app.route("/")
    async def index():
        return describe_request()

    assert await (await client.get("/")).get_json() == {
        "blueprint": None,
        "blueprints": [],
        "endpoint": "index",
        "view_args": {},
    }
