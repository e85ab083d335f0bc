"""The ``quart`` command in-process (click's runner): finding the app in every form
``--app``/``QUART_APP`` take and every way that fails, debug mode, ``routes``, ``shell``,
app and blueprint commands with and without an app context, ``.env`` files, ``--version``
and ``app.test_cli_runner()``. tests/server/test_cli_command.py runs the installed command."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import platform
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from quart import Blueprint, Quart, current_app, g, has_app_context
from quart.cli import (
    AppGroup,
    QuartGroup,
    ScriptInfo,
    cli,
    locate_app,
    pass_script_info,
    routes_command,
    shell_command,
    with_appcontext,
)
from quart.testing import QuartCliRunner

# Each app module registers `which`, printing the app's name, so a test sees which app
# the command found.
HEADER = """
from quart import Quart, current_app

def _with_which(app):
    @app.cli.command("which")
    def which():
        print(f"app={current_app.name} debug={current_app.debug}")
    return app
"""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty project folder, with no QUART_* variables; the environment and
    ``sys.path`` are restored afterwards, and the project's modules forgotten."""
    saved_environ = dict(os.environ)
    saved_modules = set(sys.modules)
    for name in list(os.environ):
        if name.startswith("QUART_") or name == "PYTHONSTARTUP":
            del os.environ[name]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    os.environ.clear()
    os.environ.update(saved_environ)
    for name in set(sys.modules) - saved_modules:
        location = getattr(sys.modules[name], "__file__", None) or ""
        if location.startswith(str(tmp_path)):
            del sys.modules[name]


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return path


def write_module(path: Path, body: str) -> Path:
    return write(path, HEADER + textwrap.dedent(body))


def quart(*args: str, **kwargs: object) -> Result:
    return CliRunner().invoke(cli, list(args), **kwargs)  # type: ignore[arg-type]


def assert_usage_error(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------- finding the app


def test_app_py_in_the_current_directory(isolated: Path) -> None:
    write_module(isolated / "app.py", 'app = _with_which(Quart("from_app_py"))')
    result = quart("which")
    assert result.exit_code == 0, result.output
    assert "app=from_app_py" in result.output


def test_asgi_py_then_wsgi_py_then_app_py(isolated: Path) -> None:
    write_module(isolated / "app.py", 'app = _with_which(Quart("from_app_py"))')
    write_module(isolated / "wsgi.py", 'app = _with_which(Quart("from_wsgi_py"))')
    assert "app=from_wsgi_py" in quart("which").output
    write_module(isolated / "asgi.py", 'app = _with_which(Quart("from_asgi_py"))')
    for name in ("app", "wsgi"):
        sys.modules.pop(name, None)
    assert "app=from_asgi_py" in quart("which").output


def test_app_package_in_the_current_directory(isolated: Path) -> None:
    write_module(isolated / "app" / "__init__.py", 'app = _with_which(Quart("package"))')
    assert "app=package" in quart("which").output


def test_nothing_to_find(isolated: Path) -> None:
    assert_usage_error(quart("which"), "Could not locate a Quart application.")


def test_quart_app_variable_with_a_name(isolated: Path) -> None:
    write_module(
        isolated / "named.py",
        """
        web = _with_which(Quart("web"))
        other = Quart("other")
        """,
    )
    result = quart("which", env={"QUART_APP": "named:web"})
    assert "app=web" in result.output


def test_app_option_wins_over_the_variable(isolated: Path) -> None:
    write_module(isolated / "first.py", 'app = _with_which(Quart("first"))')
    write_module(isolated / "second.py", 'app = _with_which(Quart("second"))')
    result = quart("--app", "second", "which", env={"QUART_APP": "first"})
    assert "app=second" in result.output


def test_factory_call(isolated: Path) -> None:
    write_module(
        isolated / "factory.py",
        """
        def create_app():
            return _with_which(Quart("made"))
        """,
    )
    assert "app=made" in quart("--app", "factory:create_app()", "which").output


def test_factory_call_with_literal_arguments(isolated: Path) -> None:
    write_module(
        isolated / "factory.py",
        """
        def build(mode, *, flags=()):
            return _with_which(Quart(f"{mode}-{'+'.join(flags)}"))
        """,
    )
    result = quart("--app", "factory:build('dev', flags=['a', 'b'])", "which")
    assert "app=dev-a+b" in result.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("factory:build(os.getcwd())", "Failed to parse arguments as literal values"),
        ("factory:build(**{'mode': 'x'})", "Failed to parse arguments as literal values"),
        ("factory:tools.build()", "Function reference must be a simple name"),
        ("factory:build(", "Failed to parse 'build(' as an attribute name or function call"),
        ("factory:app[0]", "Failed to parse 'app[0]' as an attribute name or function call"),
    ],
)
def test_unparsable_names(isolated: Path, target: str, message: str) -> None:
    write_module(
        isolated / "factory.py",
        """
        def build(mode):
            return _with_which(Quart(mode))
        """,
    )
    assert_usage_error(quart("--app", target, "which"), message)


def test_factory_called_with_wrong_arguments(isolated: Path) -> None:
    write_module(
        isolated / "factory.py",
        """
        def build(mode):
            return _with_which(Quart(mode))
        """,
    )
    assert_usage_error(
        quart("--app", "factory:build('a', 'b')", "which"),
        "The factory \"build('a', 'b')\" in module 'factory' could not be called",
    )


def test_type_error_inside_a_factory_is_not_hidden(isolated: Path) -> None:
    write_module(
        isolated / "factory.py",
        """
        def create_app():
            return len(3)
        """,
    )
    result = quart("--app", "factory:create_app()", "which")
    assert isinstance(result.exception, TypeError)
    result = quart("--app", "factory", "which")
    assert isinstance(result.exception, TypeError)


def test_package_init_path(isolated: Path) -> None:
    write_module(isolated / "pkg" / "__init__.py", 'app = _with_which(Quart("init"))')
    assert "app=init" in quart("--app", "pkg/__init__.py", "which").output


def test_locate_app_may_return_nothing_for_a_missing_module() -> None:
    assert locate_app("missing_module_xyz", None, raise_if_not_found=False) is None


def test_dotted_module(isolated: Path) -> None:
    write(isolated / "pkg" / "__init__.py", "")
    write_module(isolated / "pkg" / "web.py", 'app = _with_which(Quart("dotted"))')
    assert "app=dotted" in quart("--app", "pkg.web", "which").output


def test_file_path_in_a_package(isolated: Path) -> None:
    write(isolated / "pkg" / "__init__.py", "")
    write_module(isolated / "pkg" / "web.py", 'app = _with_which(Quart("by_path"))')
    result = quart("--app", "pkg/web.py:app", "which")
    assert "app=by_path" in result.output
    assert "pkg.web" in sys.modules  # imported under its package


def test_file_path_in_another_folder(isolated: Path) -> None:
    write(isolated / "elsewhere" / "helper.py", "VALUE = 'helped'")
    write_module(
        isolated / "elsewhere" / "service.py",
        """
        from helper import VALUE  # the file's folder is importable
        app = _with_which(Quart(VALUE))
        """,
    )
    assert "app=helped" in quart("--app", "elsewhere/service.py", "which").output


def test_only_instance_under_any_name(isolated: Path) -> None:
    write_module(isolated / "single.py", 'service = _with_which(Quart("single"))')
    assert "app=single" in quart("--app", "single", "which").output


def test_app_and_application_are_preferred(isolated: Path) -> None:
    write_module(
        isolated / "several.py",
        """
        first = Quart("first")
        application = _with_which(Quart("preferred"))
        """,
    )
    assert "app=preferred" in quart("--app", "several", "which").output


def test_several_instances(isolated: Path) -> None:
    write_module(isolated / "several.py", 'one = Quart("one")\ntwo = Quart("two")')
    assert_usage_error(
        quart("--app", "several", "which"),
        "Detected multiple Quart applications in module 'several'.",
    )


@pytest.mark.parametrize("factory", ["create_app", "make_app"])
def test_factory_found_by_name(isolated: Path, factory: str) -> None:
    write_module(
        isolated / "made.py",
        f"""
        def {factory}():
            return _with_which(Quart("{factory}"))
        """,
    )
    assert f"app={factory}" in quart("--app", "made", "which").output


def test_factory_returning_something_else(isolated: Path) -> None:
    write(isolated / "made.py", "def create_app():\n    return 'not an app'\n")
    assert_usage_error(
        quart("--app", "made", "which"),
        "Failed to find a Quart application or factory in module 'made'.",
    )


def test_factory_needing_arguments(isolated: Path) -> None:
    write_module(
        isolated / "made.py",
        """
        def create_app(config):
            return Quart(config)
        """,
    )
    assert_usage_error(
        quart("--app", "made", "which"),
        "Detected factory 'create_app' in module 'made', but it cannot be called without",
    )


def test_module_without_an_app(isolated: Path) -> None:
    write(isolated / "empty.py", "VALUE = 1")
    assert_usage_error(
        quart("--app", "empty", "which"),
        "Failed to find a Quart application or factory in module 'empty'.",
    )


def test_name_that_does_not_exist(isolated: Path) -> None:
    write_module(isolated / "named.py", 'app = Quart("x")')
    assert_usage_error(
        quart("--app", "named:nope", "which"), "Failed to find attribute 'nope' in 'named'."
    )


def test_name_that_is_not_an_app(isolated: Path) -> None:
    write_module(isolated / "named.py", "VALUE = 3\ndef helper():\n    return 4\n")
    assert_usage_error(
        quart("--app", "named:VALUE", "which"),
        "A valid Quart application was not obtained from 'named:VALUE'.",
    )
    assert_usage_error(
        quart("--app", "named:helper()", "which"),
        "A valid Quart application was not obtained from 'named:helper()'.",
    )
    assert_usage_error(quart("--app", "named:VALUE()", "which"), "is not a function")


@pytest.mark.parametrize("target", ["missing_module", "missing_package.web", "nowhere/gone.py"])
def test_module_that_does_not_exist(isolated: Path, target: str) -> None:
    name = target.removesuffix(".py").replace("nowhere/", "")
    assert_usage_error(quart("--app", target, "which"), f"Could not import '{name}'.")


def test_import_error_inside_the_module_shows_its_traceback(isolated: Path) -> None:
    write(isolated / "broken.py", "import not_installed_anywhere_xyz\n")
    result = quart("--app", "broken", "which")
    assert result.exit_code == 2
    assert "While importing 'broken', an ImportError was raised" in result.output
    assert "Traceback (most recent call last)" in result.output
    assert 'broken.py", line 1' in result.output
    assert "No module named 'not_installed_anywhere_xyz'" in result.output


def test_default_file_with_a_broken_import_is_reported(isolated: Path) -> None:
    write(isolated / "app.py", "import not_installed_anywhere_xyz\n")
    result = quart("which")
    assert "While importing 'app', an ImportError was raised" in result.output


def test_help_works_when_the_app_fails_to_load(isolated: Path) -> None:
    result = quart("--app", "missing_module", "--help")
    assert result.exit_code == 0
    assert "Error: Could not import 'missing_module'." in result.output
    for command in ("routes", "run", "shell"):
        assert command in result.output
    assert quart("--app", "missing_module", "run", "--help").exit_code == 0


def test_help_lists_the_apps_commands(isolated: Path) -> None:
    write_module(isolated / "app.py", 'app = _with_which(Quart("listed"))')
    result = quart("--help")
    assert result.exit_code == 0
    assert "which" in result.output
    assert "Error" not in result.output


def test_other_errors_while_listing_show_a_traceback(isolated: Path) -> None:
    write(isolated / "app.py", "1 / 0\n")
    result = quart("--help")
    assert "ZeroDivisionError" in result.output
    assert "routes" in result.output


def test_script_info_loads_once(isolated: Path) -> None:
    made: list[Quart] = []

    def create() -> Quart:
        made.append(Quart("once"))
        return made[-1]

    info = ScriptInfo(create_app=create)
    assert info.load_app() is info.load_app() is made[0]
    assert len(made) == 1


def test_script_info_sets_debug_from_the_environment(isolated: Path) -> None:
    app = Quart("debugged")
    app.debug = True
    os.environ["QUART_DEBUG"] = "0"
    assert ScriptInfo(create_app=lambda: app).load_app().debug is False
    os.environ["QUART_DEBUG"] = "1"
    assert ScriptInfo(create_app=lambda: app).load_app().debug is True
    app.debug = False
    assert ScriptInfo(create_app=lambda: app, set_debug_flag=False).load_app().debug is False


def test_app_run_while_the_command_imports_the_app_does_nothing(isolated: Path) -> None:
    write_module(
        isolated / "app.py",
        """
        app = _with_which(Quart("runner"))
        app.run(port=1)  # would block the command, and fail: port 1 is privileged
        """,
    )
    result = quart("which")
    assert result.exit_code == 0, result.output
    assert "Ignoring a call to 'app.run()'" in result.output
    assert "app=runner" in result.output


# ------------------------------------------------------------------------- debug mode


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        ((), {}, False),
        (("--debug",), {}, True),
        ((), {"QUART_DEBUG": "1"}, True),
        (("--no-debug",), {"QUART_DEBUG": "1"}, False),
        ((), {"QUART_DEBUG": "false"}, False),
    ],
)
def test_debug_mode(
    isolated: Path, args: tuple[str, ...], environ: dict[str, str], expected: bool
) -> None:
    write(
        isolated / "app.py",
        """
        from quart import Quart, current_app

        app = Quart("debugging")

        @app.cli.command()
        def show():
            print(f"debug={current_app.debug} reload={current_app.jinja_env.auto_reload}")
        """,
    )
    os.environ.update(environ)
    result = quart(*args, "show")
    assert f"debug={expected} reload={expected}" in result.output


def test_debug_is_set_before_a_factory_runs(isolated: Path) -> None:
    write(
        isolated / "app.py",
        """
        import os
        from quart import Quart

        def create_app():
            app = Quart("factory")
            app.config["SEEN"] = os.environ.get("QUART_DEBUG")

            @app.cli.command()
            def seen():
                print(f"seen={app.config['SEEN']}")

            return app
        """,
    )
    assert "seen=1" in quart("--debug", "seen").output


# ----------------------------------------------------------------------------- routes


@pytest.fixture
def routed(app: Quart) -> Quart:
    @app.route("/")
    async def zeta() -> str:
        return ""

    @app.route("/z", methods=["GET", "POST"])
    async def alpha() -> str:
        return ""

    @app.websocket("/m")
    async def mid() -> None:
        return None

    return app


def routes(app: Quart, *args: str) -> list[str]:
    result = app.test_cli_runner().invoke(routes_command, list(args))
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_routes_table(routed: Quart) -> None:
    assert routes(routed) == [
        "Endpoint  Methods    Rule",
        "--------  ---------  ----",
        "alpha     GET, POST  /z",
        "mid       WEBSOCKET  /m",
        "zeta      GET        /",
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("endpoint", ["alpha", "mid", "zeta"]),
        ("rule", ["zeta", "mid", "alpha"]),
        ("methods", ["zeta", "alpha", "mid"]),
        ("match", ["zeta", "alpha", "mid"]),
    ],
)
def test_routes_sorted(routed: Quart, sort: str, order: list[str]) -> None:
    lines = routes(routed, "--sort", sort)
    assert [line.split()[0] for line in lines[2:]] == order


def test_routes_sorted_by_rule_differs_from_match_order(routed: Quart) -> None:
    @routed.route("/a")
    async def late() -> str:
        return ""

    assert [line.split()[0] for line in routes(routed, "-s", "rule")[2:]][:2] == ["zeta", "late"]
    assert [line.split()[0] for line in routes(routed, "-s", "match")[2:]][-1] == "late"


def test_routes_with_all_methods(routed: Quart) -> None:
    lines = routes(routed, "--all-methods")
    assert "alpha     GET, HEAD, OPTIONS, POST  /z" in lines
    assert any(line.startswith("mid       WEBSOCKET ") for line in lines)


def test_routes_with_subdomains(app: Quart) -> None:
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/", subdomain="api")
    async def api() -> str:
        return ""

    @app.route("/")
    async def home() -> str:
        return ""

    assert routes(app, "--sort", "domain") == [
        "Endpoint  Methods  Subdomain  Rule",
        "--------  -------  ---------  ----",
        "home      GET                 /",
        "api       GET      api        /",
    ]


def test_routes_include_static_files() -> None:
    app = Quart(__name__)
    assert routes(app)[2].split() == ["static", "GET", "/static/<path:filename>"]


def test_no_routes(app: Quart) -> None:
    assert routes(app) == ["No routes were registered."]


def test_routes_through_the_quart_command(isolated: Path) -> None:
    write(
        isolated / "app.py",
        """
        from quart import Quart
        app = Quart(__name__, static_folder=None)

        @app.get("/hello")
        async def hello():
            return "hi"
        """,
    )
    result = quart("routes")
    assert result.output.splitlines()[2].split() == ["hello", "GET", "/hello"]


# ------------------------------------------------------------------------------ shell


def test_shell(app: Quart) -> None:
    @app.shell_context_processor
    def extra() -> dict[str, int]:
        return {"answer": 42}

    app.config["GREETING"] = "hi"
    script = (
        "from quart import current_app\n"
        "print('result', app is current_app._get_current_object(), answer, g is not None)\n"
        "print('config', current_app.config['GREETING'])\n"
    )
    result = app.test_cli_runner().invoke(shell_command, input=script)
    assert result.exit_code == 0, result.output
    assert "result True 42 True" in result.output
    assert "config hi" in result.output
    assert f"App: {app.import_name}" in result.output
    assert f"Instance: {app.instance_path}" in result.output
    assert f"Python {sys.version}" in result.output


def test_shell_runs_pythonstartup_first(app: Quart, isolated: Path) -> None:
    startup = write(isolated / "startup.py", "started = 'yes'\napp = 'replaced'\n")
    result = app.test_cli_runner().invoke(
        shell_command,
        input="print('started', started, isinstance(app, str))\n",
        env={"PYTHONSTARTUP": str(startup)},
    )
    # The startup file runs first; the app's shell context is laid over it.
    assert "started yes False" in result.output


def test_shell_through_the_quart_command(isolated: Path) -> None:
    write_module(isolated / "app.py", 'app = _with_which(Quart("shelled"))')
    result = quart("shell", input="print('name', app.name)\n")
    assert "name shelled" in result.output


# -------------------------------------------------------------- app and group commands


def test_commands_run_in_the_app_context(app: Quart) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_appcontext
    def teardown(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.cli.command()
    def inside() -> None:
        g.value = "set"
        click.echo(f"{current_app.name} {g.value}")

    result = app.test_cli_runner().invoke(args=["inside"])
    assert result.output == f"{app.name} set\n"
    assert torn_down == [None]
    assert not has_app_context()  # popped afterwards


def test_a_failing_command_reaches_teardown(app: Quart) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_appcontext
    def teardown(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.cli.command()
    def fails() -> None:
        raise RuntimeError("boom")

    result = app.test_cli_runner().invoke(args=["fails"])
    assert isinstance(result.exception, RuntimeError)
    assert torn_down == [result.exception]


def test_command_without_the_app_context(app: Quart) -> None:
    @app.cli.command(with_appcontext=False)
    def outside() -> None:
        click.echo(f"context={has_app_context()}")

    assert app.test_cli_runner().invoke(args=["outside"]).output == "context=False\n"


def test_async_commands(app: Quart) -> None:
    @app.cli.command()
    async def inside() -> None:
        await asyncio.sleep(0)
        click.echo(f"inside {current_app.name}")

    @app.cli.command(with_appcontext=False)
    async def outside() -> None:
        await asyncio.sleep(0)
        click.echo(f"outside context={has_app_context()}")

    runner = app.test_cli_runner()
    assert runner.invoke(args=["inside"]).output == f"inside {app.name}\n"
    assert runner.invoke(args=["outside"]).output == "outside context=False\n"


def test_a_command_may_run_its_own_event_loop(app: Quart) -> None:
    @app.cli.command()
    def loop() -> None:
        async def name() -> str:
            return current_app.name

        click.echo(asyncio.run(name()))

    result = app.test_cli_runner().invoke(args=["loop"])
    assert result.output == f"{app.name}\n", result.output


async def test_the_runner_works_inside_a_running_loop(app: Quart) -> None:
    @app.cli.command()
    def sync() -> None:
        click.echo(current_app.name)

    @app.cli.command()
    async def coro() -> None:
        click.echo(current_app.name)

    runner = app.test_cli_runner()
    assert runner.invoke(args=["sync"]).output == f"{app.name}\n"
    assert runner.invoke(args=["coro"]).output == f"{app.name}\n"


async def test_an_active_app_context_is_used_as_it_is(app: Quart) -> None:
    @app.cli.command()
    def marker() -> None:
        click.echo(g.get("marker", "fresh context"))

    async with app.app_context():
        g.marker = "the test's context"
        result = app.test_cli_runner().invoke(args=["marker"])
    assert result.output == "the test's context\n"


def test_commands_without_parentheses(app: Quart) -> None:
    @app.cli.command
    def bare() -> None:
        click.echo(current_app.name)

    @app.cli.group
    def tools() -> None:
        pass

    @tools.command
    def nested() -> None:
        click.echo(f"nested {current_app.name}")

    runner = app.test_cli_runner()
    assert isinstance(tools, AppGroup)
    assert runner.invoke(args=["bare"]).output == f"{app.name}\n"
    assert runner.invoke(args=["tools", "nested"]).output == f"nested {app.name}\n"


def test_groups(app: Quart) -> None:
    @app.cli.group()
    def db() -> None:
        click.echo(f"group context={has_app_context()}")

    @db.command()
    @click.option("--name", default="main")
    def create(name: str) -> None:
        click.echo(f"create {name} in {current_app.name}")

    @app.cli.group(with_appcontext=False)
    def plain() -> None:
        click.echo(f"plain context={has_app_context()}")

    @plain.command(with_appcontext=False)
    def sub() -> None:
        click.echo(f"sub context={has_app_context()}")

    runner = app.test_cli_runner()
    assert isinstance(db, AppGroup)
    assert runner.invoke(args=["db", "create", "--name", "x"]).output == (
        f"group context=True\ncreate x in {app.name}\n"
    )
    assert runner.invoke(args=["plain", "sub"]).output == "plain context=False\nsub context=False\n"


def test_with_appcontext_on_a_plain_click_command(isolated: Path) -> None:
    write_module(isolated / "app.py", 'app = _with_which(Quart("plain"))')

    @click.command()
    @with_appcontext
    def plain() -> None:
        click.echo(f"plain {current_app.name}")

    @click.command()
    @with_appcontext()
    def called() -> None:
        click.echo(f"called {current_app.name}")

    group = QuartGroup()
    group.add_command(plain)
    group.add_command(called)
    assert CliRunner().invoke(group, ["plain"]).output == "plain plain\n"
    assert CliRunner().invoke(group, ["called"]).output == "called plain\n"


def test_a_bare_quart_group(app: Quart) -> None:
    group = QuartGroup(add_default_commands=False, add_version_option=False)
    result = CliRunner().invoke(group, ["--help"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0
    assert "--version" not in result.output
    assert "routes" not in result.output


def test_pass_script_info(app: Quart) -> None:
    @app.cli.command(with_appcontext=False)
    @pass_script_info
    def info(script_info: ScriptInfo) -> None:
        script_info.data["seen"] = True
        click.echo(f"{script_info.load_app() is app} {script_info.data}")

    assert app.test_cli_runner().invoke(args=["info"]).output == "True {'seen': True}\n"


def test_test_cli_runner(app: Quart) -> None:
    app.debug = True

    @app.cli.command()
    @click.argument("word")
    def echo(word: str) -> None:
        click.echo(f"{word} debug={current_app.debug}")

    os.environ["QUART_DEBUG"] = "0"
    runner = app.test_cli_runner()
    assert isinstance(runner, QuartCliRunner)
    assert runner.invoke(args=["echo", "hi"]).output == "hi debug=True\n"


def test_test_cli_runner_class_is_swappable(app: Quart) -> None:
    class Runner(QuartCliRunner):
        pass

    app.test_cli_runner_class = Runner
    assert isinstance(app.test_cli_runner(), Runner)


def test_plugin_commands(isolated: Path) -> None:
    write(
        isolated / "quart_plugin_xyz.py",
        """
        import click

        @click.command()
        def plugged():
            click.echo("from a plugin")
        """,
    )
    dist_info = isolated / "quart_plugin_xyz-1.0.dist-info"
    write(dist_info / "METADATA", "Metadata-Version: 2.1\nName: quart-plugin-xyz\nVersion: 1.0\n")
    write(dist_info / "entry_points.txt", "[quart.commands]\nplugged = quart_plugin_xyz:plugged\n")
    group = QuartGroup()
    result = CliRunner().invoke(group, ["plugged"])
    assert result.output == "from a plugin\n"
    assert "plugged" in CliRunner().invoke(group, ["--help"]).output


# -------------------------------------------------------------------- blueprint groups


def _blueprint_with_command(name: str = "admin", **options: str | None) -> Blueprint:
    bp = Blueprint(name, __name__, **options)  # type: ignore[arg-type]

    @bp.cli.command()
    def hello() -> None:
        click.echo(f"hello from {current_app.name}")

    return bp


def test_blueprint_commands_under_the_blueprints_name(app: Quart) -> None:
    app.register_blueprint(_blueprint_with_command())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["admin", "hello"]).output == f"hello from {app.name}\n"
    assert runner.invoke(args=["hello"]).exit_code != 0


def test_blueprint_commands_at_the_top_level(app: Quart) -> None:
    app.register_blueprint(_blueprint_with_command(cli_group=None))
    assert app.test_cli_runner().invoke(args=["hello"]).output == f"hello from {app.name}\n"


def test_blueprint_commands_under_a_custom_group(app: Quart) -> None:
    app.register_blueprint(_blueprint_with_command(cli_group="users"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "hello"]).output == f"hello from {app.name}\n"
    assert runner.invoke(args=["admin", "hello"]).exit_code != 0


def test_blueprint_group_chosen_at_registration(app: Quart) -> None:
    app.register_blueprint(_blueprint_with_command(), cli_group="ops")
    assert app.test_cli_runner().invoke(args=["ops", "hello"]).output == (
        f"hello from {app.name}\n"
    )


def test_blueprint_cli_is_an_app_group() -> None:
    assert isinstance(Blueprint("bp", __name__).cli, AppGroup)
    assert isinstance(Quart(__name__).cli, AppGroup)


# ------------------------------------------------------------------------- .env files

ENV_APP = """
import os
from quart import Quart

app = Quart("envapp")

@app.cli.command()
def env():
    for name in ("FIRST", "SECOND", "THIRD"):
        print(f"{name}={os.environ.get('CLI_TEST_' + name)}")
    print(f"cwd={os.getcwd()}")
"""


def env_lines(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    pairs = (line.split("=", 1) for line in result.output.splitlines() if "=" in line)
    return dict(pairs)  # type: ignore[arg-type]


def test_env_file_names_the_app(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "QUART_APP=service\nCLI_TEST_FIRST=from-env\n")
    assert env_lines(quart("env"))["FIRST"] == "from-env"
    assert "env" in quart("--help").output


def test_env_wins_over_quartenv_and_the_environment_over_both(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(
        isolated / ".quartenv",
        "QUART_APP=service\nCLI_TEST_FIRST=quartenv\nCLI_TEST_SECOND=quartenv\n"
        "CLI_TEST_THIRD=quartenv\n",
    )
    write(isolated / ".env", "CLI_TEST_FIRST=env\nCLI_TEST_SECOND=env\n")
    os.environ["CLI_TEST_FIRST"] = "environment"
    assert env_lines(quart("env")) | {"cwd": ""} == {
        "FIRST": "environment",
        "SECOND": "env",
        "THIRD": "quartenv",
        "cwd": "",
    }


def test_env_files_are_found_upwards_without_changing_directory(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "CLI_TEST_FIRST=above\n")
    below = isolated / "a" / "b"
    below.mkdir(parents=True)
    os.chdir(below)
    lines = env_lines(quart("--app", str(isolated / "service.py"), "env"))
    assert lines["FIRST"] == "above"
    assert lines["cwd"] == str(below)


def test_skip_dotenv(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "CLI_TEST_FIRST=env\n")
    os.environ["QUART_SKIP_DOTENV"] = "1"
    assert env_lines(quart("--app", "service", "env"))["FIRST"] == "None"


def test_env_file_option(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "CLI_TEST_FIRST=env\nCLI_TEST_SECOND=env\n")
    write(isolated / "custom.env", "QUART_APP=service\nCLI_TEST_FIRST=custom\nCLI_TEST_THIRD=c\n")
    os.environ["CLI_TEST_THIRD"] = "environment"
    lines = env_lines(quart("-e", "custom.env", "env"))
    assert (lines["FIRST"], lines["SECOND"], lines["THIRD"]) == ("custom", "env", "environment")


def test_env_file_option_loads_even_when_defaults_are_skipped(isolated: Path) -> None:
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "CLI_TEST_FIRST=env\n")
    write(isolated / "custom.env", "CLI_TEST_SECOND=custom\n")
    os.environ["QUART_SKIP_DOTENV"] = "1"
    lines = env_lines(quart("--env-file", "custom.env", "--app", "service", "env"))
    assert (lines["FIRST"], lines["SECOND"]) == ("None", "custom")


def test_env_file_option_needs_an_existing_file(isolated: Path) -> None:
    result = quart("-e", "nope.env", "routes")
    assert result.exit_code == 2
    assert "'nope.env' does not exist" in result.output


def test_without_python_dotenv(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)  # importing it fails
    write(isolated / "service.py", ENV_APP)
    write(isolated / ".env", "CLI_TEST_FIRST=env\n")
    result = quart("--app", "service", "env")
    assert "Tip: There are .env or .quartenv files present." in result.output
    assert env_lines(result)["FIRST"] == "None"
    result = quart("-e", ".env", "--app", "service", "env")
    assert result.exit_code == 2
    assert "python-dotenv must be installed to load an env file." in result.output


def test_run_options_from_the_environment(isolated: Path) -> None:
    write(isolated / ".env", "QUART_RUN_PORT=notaport\n")
    result = quart("--app", "missing_module", "run")
    assert result.exit_code == 2
    assert "'notaport' is not a valid integer" in result.output


# ---------------------------------------------------------------------------- version


def test_version() -> None:
    result = quart("--version")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"Python {platform.python_version()}",
        f"Quart {importlib.metadata.version('quart')}",
        f"Werkzeug {importlib.metadata.version('werkzeug')}",
    ]
