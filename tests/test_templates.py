"""Templates: loaders, default context, context processors, filters/globals/tests,
autoescaping, auto-reload, signals, streaming, get_template_attribute and errors.

Each test writes its templates under ``tmp_path``: the app's root is ``tmp_path`` (so
its folder is ``tmp_path/templates``) and blueprints get folders of their own there.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound, TemplateSyntaxError

from quart import (
    Blueprint,
    Markup,
    Quart,
    before_render_template,
    flash,
    g,
    get_template_attribute,
    helpers,
    render_template,
    render_template_string,
    request,
    session,
    stream_template,
    stream_template_string,
    template_rendered,
    websocket,
)
from quart.json.provider import DefaultJSONProvider
from quart.templating import Environment


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def app(tmp_path: Path) -> Quart:
    return Quart(__name__, static_folder=None, root_path=str(tmp_path))


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return tmp_path / "templates"


async def body(response: Any) -> str:
    return await response.get_data(as_text=True)


# ----------------------------------------------------------------------- loaders


async def test_render_template_from_the_app_folder(app, client, templates):
    write(templates / "hello.html", "Hello {{ name }}!")

    @app.route("/")
    async def index():
        return await render_template("hello.html", name="World")

    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert await body(response) == "Hello World!"


async def test_templates_in_subfolders(app, client, templates):
    write(templates / "pages" / "about.html", "about {{ who }}")

    @app.route("/")
    async def index():
        return await render_template("pages/about.html", who="us")

    assert await body(await client.get("/")) == "about us"


async def test_blueprint_only_template_is_found(app, client, tmp_path):
    write(tmp_path / "shop" / "templates" / "shop" / "cart.html", "cart of {{ owner }}")
    shop = Blueprint(
        "shop", __name__, root_path=str(tmp_path / "shop"), template_folder="templates"
    )

    @shop.route("/cart")
    async def cart():
        return await render_template("shop/cart.html", owner="ann")

    app.register_blueprint(shop)
    assert await body(await client.get("/cart")) == "cart of ann"


async def test_app_template_wins_over_a_blueprint_template(app, client, templates, tmp_path):
    write(templates / "page.html", "from the app")
    write(tmp_path / "bp_templates" / "page.html", "from the blueprint")
    blueprint = Blueprint("bp", __name__, template_folder=str(tmp_path / "bp_templates"))

    @blueprint.route("/page")
    async def page():
        return await render_template("page.html")

    app.register_blueprint(blueprint)
    assert await body(await client.get("/page")) == "from the app"


async def test_blueprints_are_searched_in_registration_order(app, tmp_path):
    write(tmp_path / "one" / "same.html", "one")
    write(tmp_path / "two" / "same.html", "two")
    app.register_blueprint(Blueprint("one", __name__, template_folder=str(tmp_path / "one")))
    app.register_blueprint(Blueprint("two", __name__, template_folder=str(tmp_path / "two")))

    async with app.app_context():
        assert await render_template("same.html") == "one"


async def test_extends_and_include_across_app_and_blueprint_folders(
    app, client, templates, tmp_path
):
    write(
        templates / "base.html",
        "<main>{% block content %}{% endblock %}</main>{% include 'footer.html' %}",
    )
    write(tmp_path / "bp" / "footer.html", "<footer>bp footer</footer>")
    write(
        tmp_path / "bp" / "child.html",
        "{% extends 'base.html' %}{% block content %}child {{ n }}{% endblock %}",
    )
    app.register_blueprint(Blueprint("bp", __name__, template_folder=str(tmp_path / "bp")))

    @app.route("/")
    async def index():
        return await render_template("child.html", n=3)

    assert await body(await client.get("/")) == ("<main>child 3</main><footer>bp footer</footer>")


async def test_a_list_of_names_renders_the_first_that_exists(app, templates):
    write(templates / "second.html", "second")
    write(templates / "third.html", "third")

    async with app.app_context():
        rendered = await render_template(["first.html", "second.html", "third.html"])
    assert rendered == "second"


async def test_list_templates_sees_app_and_blueprint_folders(app, templates, tmp_path):
    write(templates / "a.html", "")
    write(tmp_path / "bp" / "b.html", "")
    app.register_blueprint(Blueprint("bp", __name__, template_folder=str(tmp_path / "bp")))

    assert sorted(app.jinja_env.list_templates()) == ["a.html", "b.html"]


async def test_explain_template_loading_logs_the_attempts(app, templates, tmp_path, caplog):
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    write(tmp_path / "bp" / "only_bp.html", "found")
    app.register_blueprint(Blueprint("bp", __name__, template_folder=str(tmp_path / "bp")))

    with caplog.at_level(logging.INFO, logger=app.logger.name):
        async with app.app_context():
            assert await render_template("only_bp.html") == "found"
    [message] = [record.getMessage() for record in caplog.records]
    assert "Locating template 'only_bp.html'" in message
    assert "1: trying loader of application" in message
    assert "2: trying loader of <Blueprint 'bp'>" in message
    assert str(tmp_path / "bp" / "only_bp.html") in message


async def test_jinja_options_configure_the_environment(tmp_path, templates):
    class App(Quart):
        jinja_options = {"trim_blocks": True, "enable_async": False}

    app = App(__name__, static_folder=None, root_path=str(tmp_path))
    write(templates / "list.txt", "{% for n in numbers %}\n{{ n }}{% endfor %}")

    async with app.app_context():
        # Async mode stays on (templates render with await) whatever the options say.
        assert await render_template("list.txt", numbers=[1, 2]) == "12"
    assert app.jinja_env.is_async


async def test_a_custom_environment_class(app):
    class CustomEnvironment(Environment):
        def __init__(self, app: Quart, **options: Any) -> None:
            super().__init__(app, **options)
            self.globals["custom"] = "yes"

    app.jinja_environment = CustomEnvironment

    async with app.app_context():
        assert await render_template_string("{{ custom }} {{ config.DEBUG }}") == "yes False"
    assert isinstance(app.jinja_env, CustomEnvironment)


async def test_update_template_context_can_be_overridden(tmp_path):
    class App(Quart):
        async def update_template_context(self, context: dict[str, Any]) -> None:
            await super().update_template_context(context)
            context["extra"] = f"extra for {context['request'].path}"

    app = App(__name__, static_folder=None, root_path=str(tmp_path))

    @app.context_processor
    def processor() -> dict[str, Any]:
        return {"processed": "yes"}

    async with app.test_request_context("/here"):
        assert await render_template_string("{{ extra }} {{ processed }}") == (
            "extra for /here yes"
        )
        context: dict[str, Any] = {"processed": "mine"}
        await app.update_template_context(context)
    assert context["processed"] == "mine"
    assert context["extra"] == "extra for /here"
    assert set(context) >= {"g", "request", "session"}


# --------------------------------------------------------------- default context


async def test_default_context_in_a_request(app, client):
    app.secret_key = "not so secret"
    app.config["SITE_NAME"] = "Example"

    @app.route("/set")
    async def set_values():
        session["user"] = "ann"
        await flash("saved", "info")
        return ""

    @app.route("/items/<int:item_id>")
    async def item(item_id: int):
        g.colour = "blue"
        return await render_template_string(
            "{{ request.path }}|{{ request.args['q'] }}|{{ session['user'] }}|{{ g.colour }}"
            "|{{ config['SITE_NAME'] }}|{{ url_for('item', item_id=7, x=1) }}"
            "|{{ get_flashed_messages(with_categories=true) }}"
        )

    await client.get("/set")
    response = await client.get("/items/3?q=find")
    assert await body(response) == (
        "/items/3|find|ann|blue|Example|/items/7?x=1|[(&#39;info&#39;, &#39;saved&#39;)]"
    )
    # Flashed messages are shown once.
    assert (await body(await client.get("/items/3?q=again"))).endswith("|[]")


async def test_default_context_in_a_websocket(app, client):
    app.config["GREETING"] = "hi"
    app.add_url_rule("/rooms/<room>", "room_page", lambda room: room)

    @app.websocket("/ws/<room>")
    async def room(room: str):
        g.room = room
        await websocket.send(
            await render_template_string(
                "{{ websocket.path }} {{ g.room }} {{ config.GREETING }} "
                "{{ url_for('room_page', room=g.room) }} {{ url_for('room', room='x') }}"
            )
        )

    async with client.websocket("/ws/lobby") as ws:
        # Websocket rules always build full ws:// URLs.
        assert await ws.receive() == "/ws/lobby lobby hi /rooms/lobby ws://localhost/ws/x"


async def test_outside_a_request_config_and_g_work(app):
    app.config["NAME"] = "offline"

    async with app.app_context():
        g.count = 2
        rendered = await render_template_string(
            "{{ config.NAME }} {{ g.count }} {{ 'with' if request else 'without' }} request"
        )
    assert rendered == "offline 2 without request"


async def test_using_request_outside_a_request_is_an_error(app):
    async with app.app_context():
        with pytest.raises(RuntimeError, match="request context"):
            await render_template_string("{{ request.path }}")


async def test_rendering_needs_an_app_context():
    with pytest.raises(RuntimeError, match="application context"):
        await render_template_string("text")


async def test_jinja_env_globals_are_visible(app, client):
    app.jinja_env.globals["version"] = "1.2"
    app.jinja_env.globals["double"] = lambda value: value * 2

    @app.route("/")
    async def index():
        return await render_template_string("{{ version }} {{ double(21) }}")

    assert await body(await client.get("/")) == "1.2 42"


async def test_tojson_uses_the_app_json_provider(app, client):
    @app.route("/")
    async def index():
        return await render_template_string(
            "<script>var data = {{ data|tojson }};</script>",
            data={"b": 1, "a": "</script><b>&'"},
        )

    text = await body(await client.get("/"))
    # Keys sorted as the provider sorts them; <, >, & and ' made safe for a <script>.
    assert text == (
        '<script>var data = {"a": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u0027", '
        '"b": 1};</script>'
    )
    payload = text.removeprefix("<script>var data = ").removesuffix(";</script>")
    assert json.loads(payload) == {"a": "</script><b>&'", "b": 1}


async def test_tojson_converts_with_the_app_json_provider(app):
    class Provider(DefaultJSONProvider):
        @staticmethod
        def default(o: Any) -> Any:
            if isinstance(o, set):
                return sorted(o)
            return DefaultJSONProvider.default(o)

    app.json = Provider(app)

    async with app.app_context():
        rendered = await render_template_string(
            "{{ data|tojson }}", data={"day": datetime.date(2024, 1, 2), "tags": {"b", "a"}}
        )
    assert json.loads(rendered) == {"day": "Tue, 02 Jan 2024 00:00:00 GMT", "tags": ["a", "b"]}


# ------------------------------------------------------------- context processors


async def test_app_context_processors_sync_and_async(app, client):
    @app.context_processor
    def sync_processor() -> dict[str, Any]:
        return {"sync_value": "s", "shared": "from sync"}

    @app.context_processor
    async def async_processor() -> dict[str, Any]:
        return {"async_value": request.path, "shared": "from async"}

    @app.route("/here")
    async def index():
        return await render_template_string("{{ sync_value }} {{ async_value }} {{ shared }}")

    # Processors run in registration order; a later one overrides an earlier one.
    assert await body(await client.get("/here")) == "s /here from async"


async def test_explicit_arguments_win_over_processors(app, client):
    @app.context_processor
    async def processor() -> dict[str, Any]:
        return {"title": "from processor", "g": "not g"}

    @app.route("/")
    async def index():
        return await render_template_string("{{ title }}", title="explicit")

    assert await body(await client.get("/")) == "explicit"


async def test_blueprint_context_processor_only_for_its_requests(app, client):
    blueprint = Blueprint("admin", __name__, url_prefix="/admin")

    @blueprint.context_processor
    def admin_processor() -> dict[str, Any]:
        return {"area": "admin"}

    @blueprint.app_context_processor
    async def everywhere() -> dict[str, Any]:
        return {"brand": "acme"}

    template = "{{ brand }}:{{ area | default('public') }}"

    @blueprint.route("/")
    async def admin_index():
        return await render_template_string(template)

    @app.route("/")
    async def index():
        return await render_template_string(template)

    app.register_blueprint(blueprint)
    assert await body(await client.get("/admin/")) == "acme:admin"
    assert await body(await client.get("/")) == "acme:public"


async def test_nested_blueprint_sees_its_parents_processors(app, client):
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")

    @parent.context_processor
    def parent_processor() -> dict[str, Any]:
        return {"level": "parent", "from_parent": "yes"}

    @child.context_processor
    def child_processor() -> dict[str, Any]:
        return {"level": "child"}

    @child.route("/")
    async def view():
        return await render_template_string("{{ level }} {{ from_parent }}")

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    # The innermost blueprint's processor runs last, so it wins.
    assert await body(await client.get("/parent/child/")) == "child yes"


async def test_context_processors_run_in_app_context_outside_requests(app):
    @app.context_processor
    def processor() -> dict[str, Any]:
        return {"answer": 42}

    async with app.app_context():
        assert await render_template_string("{{ answer }}") == "42"


# ------------------------------------------------------ filters, globals and tests


async def test_template_filter_decorators(app):
    @app.template_filter()
    def reverse(value: str) -> str:
        return value[::-1]

    @app.template_filter("shout")
    def make_loud(value: str) -> str:
        return value.upper() + "!"

    def strip_vowels(value: str) -> str:
        return "".join(letter for letter in value if letter not in "aeiou")

    app.add_template_filter(strip_vowels)
    app.add_template_filter(len, "count")

    async with app.app_context():
        rendered = await render_template_string(
            "{{ 'abc'|reverse }} {{ 'hey'|shout }} {{ 'banana'|strip_vowels }} {{ 'four'|count }}"
        )
    assert rendered == "cba HEY! bnn 4"
    assert "make_loud" not in app.jinja_env.filters


async def test_template_global_decorators(app):
    @app.template_global()
    def answer() -> int:
        return 42

    @app.template_global("pi")
    def get_pi() -> float:
        return 3.14

    app.add_template_global(lambda: "added", "added")

    async with app.app_context():
        assert await render_template_string("{{ answer() }} {{ pi() }} {{ added() }}") == (
            "42 3.14 added"
        )


async def test_template_test_decorators(app):
    @app.template_test()
    def even(value: int) -> bool:
        return value % 2 == 0

    @app.template_test("short")
    def is_short(value: str) -> bool:
        return len(value) < 4

    app.add_template_test(lambda value: value == 7, "lucky")

    async with app.app_context():
        rendered = await render_template_string(
            "{{ 4 is even }} {{ 3 is even }} {{ 'abc' is short }} {{ 7 is lucky }}"
        )
    assert rendered == "True False True True"


async def test_blueprint_app_template_filters_globals_and_tests(app, client):
    blueprint = Blueprint("tools", __name__)

    @blueprint.app_template_filter()
    def twice(value: str) -> str:
        return value * 2

    @blueprint.app_template_filter("bang")
    def add_bang(value: str) -> str:
        return value + "!"

    @blueprint.app_template_global()
    def site() -> str:
        return "acme"

    @blueprint.app_template_test("positive")
    def is_positive(value: int) -> bool:
        return value > 0

    blueprint.add_app_template_filter(str.title, "title_case")
    blueprint.add_app_template_global(lambda: 2024, "year")
    blueprint.add_app_template_test(lambda value: value == 0, "zero")
    app.register_blueprint(blueprint)

    # Registered on the app: usable from the app's own views too.
    @app.route("/")
    async def index():
        return await render_template_string(
            "{{ 'ab'|twice }} {{ 'hi'|bang }} {{ site() }} {{ 3 is positive }} "
            "{{ 'the end'|title_case }} {{ year() }} {{ 0 is zero }}"
        )

    assert await body(await client.get("/")) == "abab hi! acme True The End 2024 True"


# --------------------------------------------------------------------- autoescape


@pytest.mark.parametrize("name", ["page.html", "page.htm", "page.xml", "page.xhtml", "page.svg"])
async def test_autoescape_for_markup_files(app, templates, name):
    write(templates / name, "{{ value }}")

    async with app.app_context():
        rendered = await render_template(name, value="<script>alert('x')</script>")
    assert rendered == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


async def test_no_autoescape_for_text_files(app, templates):
    write(templates / "mail.txt", "{{ value }}")

    async with app.app_context():
        assert await render_template("mail.txt", value="<b>&</b>") == "<b>&</b>"


async def test_template_strings_are_autoescaped(app):
    async with app.app_context():
        assert await render_template_string("{{ value }}", value="<i>") == "&lt;i&gt;"


async def test_markup_passes_through(app, templates):
    write(templates / "page.html", "{{ trusted }} {{ untrusted }}")

    async with app.app_context():
        rendered = await render_template(
            "page.html", trusted=Markup("<em>ok</em>"), untrusted="<em>no</em>"
        )
    assert rendered == "<em>ok</em> &lt;em&gt;no&lt;/em&gt;"


async def test_autoescape_can_be_turned_off_in_the_template(app, templates):
    write(
        templates / "page.html",
        "{% autoescape false %}{{ value }}{% endautoescape %} {{ value }} {{ value|safe }}",
    )

    async with app.app_context():
        rendered = await render_template("page.html", value="<b>")
    assert rendered == "<b> &lt;b&gt; <b>"


# -------------------------------------------------------------------- auto-reload


def edit(path: Path, text: str) -> None:
    """Rewrite ``path`` and move its modification time on, as a later edit would."""
    mtime = path.stat().st_mtime
    path.write_text(text)
    os.utime(path, (mtime + 10, mtime + 10))


async def test_auto_reload_sees_edited_templates(app, templates):
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    page = write(templates / "page.html", "version 1")

    async with app.app_context():
        assert await render_template("page.html") == "version 1"
        edit(page, "version 2")
        assert await render_template("page.html") == "version 2"


async def test_without_auto_reload_the_cached_template_stays(app, templates):
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    app.debug = False
    page = write(templates / "page.html", "version 1")

    async with app.app_context():
        assert await render_template("page.html") == "version 1"
        edit(page, "version 2")
        assert await render_template("page.html") == "version 1"


async def test_auto_reload_follows_debug_when_unset(app, templates):
    app.debug = True
    page = write(templates / "page.html", "version 1")

    async with app.app_context():
        assert await render_template("page.html") == "version 1"
        edit(page, "version 2")
        assert await render_template("page.html") == "version 2"
        app.debug = False
        edit(page, "version 3")
        assert await render_template("page.html") == "version 2"


async def test_auto_reload_setting_wins_over_debug(app, templates):
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    app.debug = True
    page = write(templates / "page.html", "version 1")

    async with app.app_context():
        assert await render_template("page.html") == "version 1"
        edit(page, "version 2")
        assert await render_template("page.html") == "version 1"


# ------------------------------------------------------------------------ signals


async def test_before_render_template_receivers_can_add_to_the_context(app, client, templates):
    write(templates / "page.html", "{{ from_sync }} {{ from_async }} {{ name }}")
    seen: list[tuple[str | None, str]] = []

    def sync_receiver(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        seen.append((template.name, context["name"]))
        context["from_sync"] = "sync"

    async def async_receiver(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        assert context["request"].path == "/"
        context["from_async"] = "async"

    @app.route("/")
    async def index():
        return await render_template("page.html", name="page")

    with (
        before_render_template.connected_to(sync_receiver, app),
        before_render_template.connected_to(async_receiver, app),
    ):
        text = await body(await client.get("/"))
    assert text == "sync async page"
    assert seen == [("page.html", "page")]


async def test_template_rendered_fires_after_rendering_with_the_final_context(app):
    events: list[str] = []
    contexts: list[dict[str, Any]] = []

    def before(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        events.append("before")
        context["added"] = "by receiver"

    def rendered(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        events.append("rendered")
        contexts.append(context)

    def mark() -> str:
        events.append("rendering")
        return ""

    app.jinja_env.globals["mark"] = mark
    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(rendered, app),
    ):
        async with app.app_context():
            g.marker = "present"
            result = await render_template_string("{{ mark() }}{{ added }}", value=1)

    assert result == "by receiver"
    assert events == ["before", "rendering", "rendered"]
    [context] = contexts
    assert context["added"] == "by receiver"
    assert context["value"] == 1
    assert context["g"].marker == "present"


async def test_signals_are_sent_only_for_their_app(app):
    other = Quart("other")
    calls: list[Any] = []

    with template_rendered.connected_to(lambda sender, **kwargs: calls.append(sender), other):
        async with app.app_context():
            await render_template_string("x")
        async with other.app_context():
            await render_template_string("x")
    assert calls == [other]


async def test_template_rendered_fires_when_a_stream_ends(app):
    events: list[str] = []

    def before(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        events.append("before")

    def rendered(sender: Quart, template: Any, context: dict[str, Any]) -> None:
        events.append("rendered")

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(rendered, app),
    ):
        async with app.test_request_context("/"):
            stream = await stream_template_string("one{% for n in [1, 2] %} {{ n }}{% endfor %}")
            assert events == ["before"]
            first = await anext(stream)
            assert events == ["before"]
            rest = [chunk async for chunk in stream]
    assert first + "".join(rest) == "one 1 2"
    assert events == ["before", "rendered"]


# ---------------------------------------------------------------------- streaming


async def test_stream_template_from_a_view(app, client, templates):
    write(
        templates / "list.html",
        "<ul>{% for item in items %}<li>{{ item }} {{ request.args.x }}</li>{% endfor %}</ul>",
    )

    @app.route("/")
    async def index():
        return await stream_template("list.html", items=["a", "<b>"])

    response = await client.get("/?x=42")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert await body(response) == "<ul><li>a 42</li><li>&lt;b&gt; 42</li></ul>"


async def test_stream_template_string_from_a_view(app, client):
    @app.context_processor
    async def processor() -> dict[str, Any]:
        return {"site": "acme"}

    @app.route("/")
    async def index():
        async def numbers() -> AsyncIterator[int]:
            for number in range(3):
                yield number

        return await stream_template_string(
            "{{ site }}{% for n in numbers %},{{ n }}{% endfor %} {{ request.path }}",
            numbers=numbers(),
        )

    assert await body(await client.get("/")) == "acme,0,1,2 /"


async def test_a_stream_read_later_runs_in_the_contexts_it_was_made_in(app):
    @app.route("/")
    async def index():
        return ""

    def current() -> str:
        # Through the proxies, not the context the template was given.
        return f"{request.args['x']}-{g.value}"

    app.jinja_env.globals["current"] = current
    async with app.test_request_context("/page?x=1"):
        g.value = "kept"
        stream = await stream_template_string(
            "{{ url_for('index') }} {% if true %}{{ current() }}{% endif %}"
        )
    assert "".join([chunk async for chunk in stream]) == "/ 1-kept"
    # Reading it set nothing in the reader's own context.
    with pytest.raises(RuntimeError):
        request.args  # noqa: B018


async def test_a_streamed_template_tears_down_once(app, client):
    teardowns: list[BaseException | None] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.route("/")
    async def index():
        return await stream_template_string("{% for n in range(3) %}{{ n }}{% endfor %}")

    assert await body(await client.get("/")) == "012"
    assert teardowns == [None]


async def test_stream_template_outside_a_request(app):
    async with app.app_context():
        stream = await stream_template_string("{{ config.DEBUG }}")
        assert "".join([chunk async for chunk in stream]) == "False"


# -------------------------------------------------------------- get_template_attribute


async def test_get_template_attribute_calls_a_macro(app, templates):
    assert helpers.get_template_attribute is get_template_attribute
    write(
        templates / "macros.html",
        "{% set title = 'Macros' %}{% macro greet(name) %}Hello {{ name }}!{% endmacro %}",
    )

    async with app.app_context():
        greet = await get_template_attribute("macros.html", "greet")
        title = await get_template_attribute("macros.html", "title")
        assert await greet("<World>") == "Hello &lt;World&gt;!"
    assert title == "Macros"


async def test_get_template_attribute_of_a_missing_name(app, templates):
    write(templates / "macros.html", "{% macro greet() %}hi{% endmacro %}")

    async with app.app_context():
        with pytest.raises(AttributeError):
            await get_template_attribute("macros.html", "missing")
        with pytest.raises(TemplateNotFound):
            await get_template_attribute("nowhere.html", "greet")


# ------------------------------------------------------------------------- errors


async def test_missing_template_raises_template_not_found(app):
    async with app.app_context():
        with pytest.raises(TemplateNotFound, match=r"nowhere\.html"):
            await render_template("nowhere.html")


async def test_missing_template_is_a_logged_500(app, client, caplog):
    @app.route("/")
    async def index():
        return await render_template("nowhere.html")

    with caplog.at_level(logging.ERROR):
        response = await client.get("/")
    assert response.status_code == 500
    text = await body(response)
    assert "Traceback" not in text
    assert "nowhere.html" not in text
    [record] = [record for record in caplog.records if record.exc_info]
    assert isinstance(record.exc_info[1], TemplateNotFound)


async def test_syntax_error_raises_template_syntax_error(app, templates):
    write(templates / "broken.html", "line one\n{% if %}")

    async with app.app_context():
        with pytest.raises(TemplateSyntaxError) as info:
            await render_template("broken.html")
        with pytest.raises(TemplateSyntaxError):
            await render_template_string("{{ unclosed ")
    assert info.value.lineno == 2
    assert info.value.name == "broken.html"


async def test_syntax_error_is_a_500_without_a_traceback(app, client, templates, caplog):
    write(templates / "broken.html", "{% for %}")

    @app.route("/")
    async def index():
        return await render_template("broken.html")

    with caplog.at_level(logging.ERROR):
        response = await client.get("/")
    assert response.status_code == 500
    text = await body(response)
    assert "Traceback" not in text
    assert "broken.html" not in text
    assert any(
        isinstance(r.exc_info and r.exc_info[1], TemplateSyntaxError) for r in caplog.records
    )


async def test_error_while_streaming_a_template_is_raised_to_the_reader(app):
    async with app.test_request_context("/"):
        stream = await stream_template_string("start {{ 1 // zero }}", zero=0)
        assert await anext(stream) == "start "
        with pytest.raises(ZeroDivisionError):
            await anext(stream)
