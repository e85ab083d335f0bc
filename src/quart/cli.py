"""The ``quart`` command: finding the app, ``run``, ``routes``, ``shell`` and the app's own
commands (``@app.cli.command()``), with ``.env`` files loaded first."""

from __future__ import annotations

import ast
import asyncio
import code
import contextvars
import functools
import importlib
import inspect
import os
import platform
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points, version
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import click
from click.core import ParameterSource

from . import globals as _globals
from . import serving
from .helpers import get_debug_flag, get_load_dotenv
from .reloader import is_library_file, restart, wait_for_change

if TYPE_CHECKING:
    from .app import Quart

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "AppGroup",
    "NoAppException",
    "QuartGroup",
    "ScriptInfo",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]


class NoAppException(click.UsageError):
    """The app could not be found or loaded; shown as a usage error, without a traceback."""


# ----------------------------------------------------------------------- finding the app


def _quart_class() -> type[Quart]:
    from .app import Quart  # here, not at the top: the app module imports this one

    return Quart


def _failed_calling(func: Callable[..., Any], error: BaseException) -> bool:
    """Whether ``error`` came from the call itself (wrong arguments) rather than from
    the code inside ``func``: its traceback never reached ``func``'s frame."""
    frame = error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code is getattr(func, "__code__", None):
            return False
        frame = frame.tb_next
    return True


def find_best_app(module: ModuleType) -> Quart:
    """The app in ``module``: ``app`` or ``application``, else the only ``Quart`` instance,
    else what ``create_app()`` or ``make_app()`` returns."""
    quart_class = _quart_class()
    for name in ("app", "application"):
        candidate = getattr(module, name, None)
        if isinstance(candidate, quart_class):
            return candidate

    found = [value for value in vars(module).values() if isinstance(value, quart_class)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NoAppException(
            f"Detected multiple Quart applications in module '{module.__name__}'."
            f" Use '{module.__name__}:name' to pick one."
        )

    for name in ("create_app", "make_app"):
        factory = getattr(module, name, None)
        if not inspect.isfunction(factory):
            continue
        try:
            candidate = factory()
        except TypeError as error:
            if not _failed_calling(factory, error):
                raise
            raise NoAppException(
                f"Detected factory '{name}' in module '{module.__name__}', but it cannot be"
                f" called without arguments. Use '{module.__name__}:{name}(args)' to give"
                " them."
            ) from error
        if isinstance(candidate, quart_class):
            return candidate

    raise NoAppException(
        f"Failed to find a Quart application or factory in module '{module.__name__}'."
        f" Use '{module.__name__}:name' to name one."
    )


def _parse_app_name(app_name: str) -> tuple[str, list[Any], dict[str, Any], bool]:
    """``name`` or ``name(literal, key=literal)``: the name, the arguments and whether it
    is a call. Arguments are parsed as literals, never evaluated."""
    try:
        expression = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None
    if isinstance(expression, ast.Name):
        return expression.id, [], {}, False
    if not isinstance(expression, ast.Call):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")
    if not isinstance(expression.func, ast.Name):
        raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
    try:
        args = [ast.literal_eval(arg) for arg in expression.args]
        kwargs: dict[str, Any] = {}
        for keyword in expression.keywords:
            if keyword.arg is None:  # **mapping
                raise ValueError(keyword)
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except ValueError:
        raise NoAppException(
            f"Failed to parse arguments as literal values: {app_name!r}."
        ) from None
    return expression.func.id, args, kwargs, True


def find_app_by_string(module: ModuleType, app_name: str) -> Quart:
    """The app named by ``app_name`` in ``module``: an attribute, or a factory called
    with the literal arguments given (``create_app('dev', debug=True)``)."""
    name, args, kwargs, is_call = _parse_app_name(app_name)
    try:
        target = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from None

    candidate: Any = target
    if inspect.isfunction(target):
        try:
            candidate = target(*args, **kwargs)
        except TypeError as error:
            if not _failed_calling(target, error):
                raise
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not be"
                " called with the arguments given."
            ) from error
    elif is_call:
        raise NoAppException(
            f"{name!r} in {module.__name__!r} is not a function, so it cannot be called."
        )

    if isinstance(candidate, _quart_class()):
        return candidate
    raise NoAppException(
        f"A valid Quart application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """The module name to import for ``path`` (a ``.py`` file, a package folder or a
    dotted name), with the folder it is found from put first on ``sys.path``."""
    location = os.path.realpath(path)
    stem, extension = os.path.splitext(location)
    if extension == ".py":
        location = stem
    if os.path.basename(location) == "__init__":
        location = os.path.dirname(location)

    names: list[str] = []
    while True:  # climb out of the package the file is in
        location, name = os.path.split(location)
        names.append(name)
        if not os.path.exists(os.path.join(location, "__init__.py")):
            break

    if sys.path[0] != location:
        sys.path.insert(0, location)
    return ".".join(reversed(names))


def _is_missing(module_name: str, error: ImportError) -> bool:
    """Whether the import failed because ``module_name`` itself (or a package above it)
    does not exist, rather than because of an import inside it."""
    missing = error.name if isinstance(error, ModuleNotFoundError) else None
    return missing is not None and (module_name == missing or module_name.startswith(f"{missing}."))


@overload
def locate_app(module_name: str, app_name: str | None) -> Quart: ...
@overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool
) -> Quart | None: ...
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Quart | None:
    """Import ``module_name`` and find the app in it (``app_name`` or the best guess).

    An ``ImportError`` raised by the module's own imports is shown with its traceback; a
    module that does not exist is ``None`` unless ``raise_if_not_found``."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if not _is_missing(module_name, error):
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:\n\n"
                f"{traceback.format_exc()}"
            ) from None
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None
        return None
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


_DEFAULT_APP_FILES = ("asgi.py", "wsgi.py", "app.py")


class ScriptInfo:
    """What the ``quart`` command knows about the app it works with, handed to commands
    through click's context object (``@pass_script_info``).

    ``app_import_path`` comes from ``--app`` or ``QUART_APP``; ``create_app`` (a callable
    taking no arguments) replaces the search when given. ``data`` is free for commands to
    share values in.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[..., Quart] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.data: dict[Any, Any] = {}
        self.set_debug_flag = set_debug_flag
        #: Whether ``.env`` and ``.quartenv`` are loaded (``QUART_SKIP_DOTENV`` says no).
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Quart | None = None

    def load_app(self) -> Quart:
        """The app, found and loaded on the first call and the same object afterwards.

        With ``set_debug_flag``, ``app.debug`` follows ``QUART_DEBUG`` (``--debug``)."""
        if self._loaded_app is not None:
            return self._loaded_app
        app: Quart | None = None
        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            # A drive letter (C:\...) is part of the path, not the separator.
            path, *name = re.split(r":(?![\\/])", self.app_import_path, maxsplit=1)
            app = locate_app(prepare_import(path), name[0] if name and name[0] else None)
        else:
            for filename in _DEFAULT_APP_FILES:  # the first that exists, module or package
                if os.path.isfile(filename) or os.path.isfile(f"{filename[:-3]}/__init__.py"):
                    app = locate_app(prepare_import(filename), None)
                    break
        if app is None:
            raise NoAppException(
                "Could not locate a Quart application. Use the 'quart --app' option, the"
                " 'QUART_APP' environment variable, or an 'asgi.py', 'wsgi.py' or 'app.py'"
                " file in the current directory."
            )
        if self.set_debug_flag:
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


# ------------------------------------------------------------------- the app context


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _call_in_app_context(app: Quart | None, call: Callable[[], Any]) -> Any:
    """Run a command callback, with ``app``'s context pushed when an app is given, and
    await what it returns if that is awaitable (an ``async def`` command).

    The context is pushed and popped by an event loop that is idle while a sync callback
    runs, so the callback may start its own loop (``asyncio.run``) and still see
    ``current_app``. When a loop is already running in this thread (the CLI runner used
    from an async test), all of it happens in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            copied = contextvars.copy_context()
            return pool.submit(copied.run, _call_in_app_context, app, call).result()

    context = contextvars.copy_context()
    with asyncio.Runner() as runner:
        app_context = None if app is None else app.app_context()
        if app_context is not None:
            runner.run(app_context.push(), context=context)
        try:
            result = context.run(call)
            if inspect.isawaitable(result):
                result = runner.run(_awaited(result), context=context)
        except BaseException as error:
            if app_context is not None:
                ended = None if isinstance(error, click.exceptions.Exit) else error
                runner.run(app_context.pop(ended), context=context)
            raise
        if app_context is not None:
            runner.run(app_context.pop(None), context=context)
    return result


@overload
def with_appcontext(fn: F) -> F: ...
@overload
def with_appcontext(fn: None = None) -> Callable[[F], F]: ...
def with_appcontext(fn: F | None = None) -> F | Callable[[F], F]:
    """Run a click callback with the app's context pushed (the app loaded through the
    ``ScriptInfo``), unless an app context is already active.

    The callback may be ``async def``: it is run to completion in that context.
    ``@with_appcontext`` and ``@with_appcontext()`` both work.
    """
    if fn is None:
        return with_appcontext
    callback = fn

    @click.pass_context
    def in_app_context(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        app = None if _cv_app.get(None) is not None else ctx.ensure_object(ScriptInfo).load_app()
        return _call_in_app_context(app, functools.partial(ctx.invoke, callback, *args, **kwargs))

    return functools.update_wrapper(in_app_context, fn)


def _run_to_completion(f: F) -> F:
    """A callback that runs an ``async def`` callback to completion, without an app
    context (``with_appcontext=False``)."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        return _call_in_app_context(None, functools.partial(f, *args, **kwargs))

    return run  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose ``command()`` and ``group()`` run their callbacks in the app's
    context (``with_appcontext``) unless given ``with_appcontext=False``. ``app.cli`` and
    ``blueprint.cli`` are ``AppGroup``s. Callbacks may be ``async def``.
    """

    def _wrap(self, wrap: bool, f: F) -> F:
        if wrap:
            return with_appcontext(f)
        if inspect.iscoroutinefunction(f):
            return _run_to_completion(f)
        return f

    def command(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command] | click.Command:
        """Like ``click.Group.command``, with ``with_appcontext=True`` by default."""
        wrap = kwargs.pop("with_appcontext", True)
        bare = len(args) == 1 and callable(args[0]) and not kwargs  # no parentheses
        options = () if bare else args

        def decorator(f: Callable[..., Any]) -> click.Command:
            made = click.Group.command(self, *options, **kwargs)(self._wrap(wrap, f))
            return cast(click.Command, made)

        return decorator(args[0]) if bare else decorator

    def group(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Group] | click.Group:
        """Like ``click.Group.group``, making an ``AppGroup`` by default, with
        ``with_appcontext=True`` by default."""
        wrap = kwargs.pop("with_appcontext", True)
        bare = len(args) == 1 and callable(args[0]) and not kwargs  # no parentheses
        options = () if bare else args
        kwargs.setdefault("cls", AppGroup)

        def decorator(f: Callable[..., Any]) -> click.Group:
            made = click.Group.group(self, *options, **kwargs)(self._wrap(wrap, f))
            return cast(click.Group, made)

        return decorator(args[0]) if bare else decorator


# -------------------------------------------------------------- the group's options


def get_version(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """``--version``: the versions of Python, Quart and Werkzeug."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(
        f"Python {platform.python_version()}\n"
        f"Quart {version('quart')}\n"
        f"Werkzeug {version('werkzeug')}",
        color=ctx.color,
    )
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the Python, Quart and Werkzeug versions.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


# Eager, so that the app is known when --help lists its commands.
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help=(
        "The Quart application or factory to load, as 'module:name'. The module is a"
        " dotted import or a file path; the name may be left out when it is 'app',"
        " 'application', 'create_app' or 'make_app', and may be 'name(args)' to pass"
        " literal arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None  # not given: QUART_DEBUG decides
    # Through the environment, so that an app factory sees it too.
    os.environ["QUART_DEBUG"] = "1" if value else "0"
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"],
    help="Set debug mode (app.debug, the reloader by default).",
    expose_value=False,
    callback=_set_debug,
)


def _load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file.", ctx=ctx, param=param
            ) from None
    defaults = ctx.ensure_object(ScriptInfo).load_dotenv_defaults
    if value is not None or defaults:
        load_dotenv(value, load_defaults=defaults)
    return value


# Eager and first, so that the variables it sets are there for --app and the others.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, over those of '.env' and"
        " '.quartenv'. Variables already in the environment win. Needs python-dotenv."
    ),
    is_eager=True,
    expose_value=False,
    callback=_load_env_file,
)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Set environment variables from dotenv files: ``path`` over ``.env`` over
    ``.quartenv`` (``.env`` and ``.quartenv`` searched from the current directory
    upwards). A variable already in the environment is never changed, and the current
    directory stays as it is. True if a file set anything.

    Without python-dotenv nothing is loaded; a tip is printed if such files exist.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".quartenv"):
            click.secho(
                " * Tip: There are .env or .quartenv files present. Install python-dotenv"
                " to use them.",
                fg="yellow",
                err=True,
            )
        return False

    values: dict[str, str | None] = {}
    if load_defaults:
        for name in (".quartenv", ".env"):  # later files win
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                values.update(dotenv.dotenv_values(found, encoding="utf-8"))
    if path is not None and os.path.isfile(path):
        values.update(dotenv.dotenv_values(path, encoding="utf-8"))

    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return bool(values)


class QuartGroup(AppGroup):
    """The ``quart`` command group: ``--app``, ``--debug``, ``--env-file`` and
    ``--version``, the ``run``, ``shell`` and ``routes`` commands, commands installed
    under the ``quart.commands`` entry point group, and the app's ``cli`` commands.

    Make one to write a project's own command script (``create_app`` gives the app
    directly). The app is loaded only when an app command is looked up, so ``--help``
    and ``run --help`` work, with the loading error shown, when the app is broken.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[..., Quart] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        extra.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "QUART")
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        for point in entry_points(group="quart.commands"):
            self.add_command(point.load(), point.name)
        self._plugins_loaded = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as error:
            click.secho(f"Error: {error.format_message()}\n", err=True, fg="red")
            return None
        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))
        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except NoAppException as error:
            click.secho(f"Error: {error.format_message()}\n", err=True, fg="red")
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # An `app.run()` outside a __main__ guard would block every command: make it a no-op.
        os.environ["QUART_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # Help is shown before the options are processed: load the env files and
            # find the app now, so that the help lists the app's commands.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])
        return super().parse_args(ctx, args)


# --------------------------------------------------------------------------- commands


def _split_paths(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    """``--extra-files a.cfg:b.cfg`` as its paths (``;`` between them on Windows)."""
    return tuple(path for path in (value or "").split(os.pathsep) if path)


@click.command("run", short_help="Run a development server.")
@click.option(
    "--host", "-h", default="127.0.0.1", show_default=True, help="The interface to bind to."
)
@click.option("--port", "-p", default=5000, show_default=True, help="The port to bind to.")
@click.option(
    "--certfile",
    "--cert",
    type=click.Path(exists=True, dir_okay=False),
    help="A certificate file, to serve HTTPS.",
)
@click.option(
    "--keyfile",
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    help="The key file of the certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart when a loaded source file changes (on by default in debug mode).",
)
@click.option(
    "--extra-files",
    default=None,
    callback=_split_paths,
    help=f"Files whose change restarts the server too, separated by {os.pathsep!r}.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    reload: bool | None,
    extra_files: tuple[str, ...],
) -> None:
    """Serve the app with the embedded server (hypercorn), for development.

    In production run an ASGI server (hypercorn, uvicorn, granian) directly.
    """
    use_reloader = get_debug_flag() if reload is None else reload
    try:
        app = info.load_app()
    except Exception as error:
        if not use_reloader:
            raise
        _wait_for_a_fix(error, extra_files)
        return
    # Through app.run(), with the arguments Quart's command gives it, so that an app class
    # that overrides run() is honoured.
    token = serving.cli_run.set(True)
    extra_token = serving.reload_extra_files.set(extra_files)
    try:
        app.run(
            debug=get_debug_flag() if info.set_debug_flag else None,
            host=host,
            port=port,
            certfile=certfile,
            keyfile=keyfile,
            use_reloader=use_reloader,
        )
    finally:
        serving.reload_extra_files.reset(extra_token)
        serving.cli_run.reset(token)


def _wait_for_a_fix(error: Exception, extra_files: tuple[str, ...]) -> None:
    """With the reloader on, an app that fails to load (a typo saved mid-edit) is
    reported, and the command starts again once a file changes, instead of ending."""
    if isinstance(error, click.ClickException):
        click.secho(f"Error: {error.format_message()}", err=True, fg="red")
    else:
        traceback.print_exception(error)
    files = list(extra_files)
    failure: BaseException | None = error
    while failure is not None:  # the failing module is not loaded: watch its file too
        if isinstance(failure, SyntaxError) and failure.filename:
            files.append(failure.filename)
        files.extend(frame.filename for frame in traceback.extract_tb(failure.__traceback__))
        failure = failure.__cause__ or failure.__context__
    files = [name for name in files if name in extra_files or _is_app_file(name)]

    def waiting() -> None:
        click.echo(" * Waiting for a file to change to try again (CTRL + C to quit)", err=True)

    try:
        changed = wait_for_change(files, ready=waiting)
    except KeyboardInterrupt:
        return
    click.echo(f" * Detected a change in {changed!r}, restarting", err=True)
    restart()


def _is_app_file(filename: str) -> bool:
    """A file of a traceback that is the app's (not ``<frozen ...>``, not a library's)."""
    return os.path.isfile(filename) and not is_library_file(filename)


run_command.params.insert(0, _debug_option)


@click.command("shell", short_help="Run a Python shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell in the app's context, its namespace filled by
    ``app.make_shell_context()`` (``app``, ``g`` and the shell context processors'
    names). ``PYTHONSTARTUP`` runs first, as in the plain interpreter.
    """
    app = _cv_app.get().app
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {app.instance_path}"
    )
    namespace: dict[str, Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as file:
            exec(compile(file.read(), startup, "exec"), namespace)
    namespace.update(app.make_shell_context())

    # Readline (completion, history) only for a person at a terminal.
    hook = getattr(sys, "__interactivehook__", None)
    if hook is not None and sys.stdin.isatty():
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            readline.set_completer(Completer(namespace).complete)
        hook()

    code.interact(banner=banner, local=namespace)


@click.command("routes", short_help="Show the app's routes.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    show_default=True,
    help="The column to sort by; 'match' keeps the order the rules were added in.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show the URL rules: endpoint, methods (WEBSOCKET for websocket rules) and rule."""
    url_map = _cv_app.get().app.url_map
    rules = list(url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return

    hidden = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = url_map.host_matching
    domains = [(rule.host if host_matching else rule.subdomain) or "" for rule in rules]
    headers = ["Endpoint", "Methods"]
    columns = ["endpoint", "methods"]
    if any(domains):
        headers.append("Host" if host_matching else "Subdomain")
        columns.append("domain")
    headers.append("Rule")
    columns.append("rule")

    rows = []
    for rule, domain in zip(rules, domains, strict=True):
        methods = (
            "WEBSOCKET" if rule.websocket else ", ".join(sorted((rule.methods or set()) - hidden))
        )
        row = [rule.endpoint, methods]
        if any(domains):
            row.append(domain)
        row.append(rule.rule)
        rows.append(row)
    if sort in columns:
        index = columns.index(sort)
        rows.sort(key=lambda row: row[index])

    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * width for width in widths], *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


cli = QuartGroup(
    name="quart",
    help="""\
A command line for Quart applications.

The app to work with is given by the '--app' option, the 'QUART_APP'
environment variable, or an 'asgi.py', 'wsgi.py' or 'app.py' file in the
current directory.
""",
)


def main() -> None:
    """The ``quart`` console script and ``python -m quart``."""
    cli.main()
