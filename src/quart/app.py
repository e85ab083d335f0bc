"""The application: Flask's sans-IO app, served over ASGI, async throughout."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from datetime import timedelta
from inspect import isasyncgen, isgenerator
from types import AsyncGeneratorType, TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import quote

from flask.sansio.app import App
from flask.sansio.scaffold import setupmethod
from werkzeug.datastructures import Authorization, Headers, ImmutableDict
from werkzeug.exceptions import BadRequestKeyError, HTTPException, InternalServerError
from werkzeug.routing import BuildError, MapAdapter, RequestRedirect, RoutingException
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.utils import cached_property
from werkzeug.utils import redirect as _redirect

from . import globals as _globals
from . import serving
from .asgi import ASGIHTTPConnection, ASGILifespan, ASGIWebsocketConnection
from .asgi_headers import check_header_names
from .background import cancel_background_tasks, finish_background_tasks, start_background_task
from .cli import AppGroup
from .concurrency import is_async_callable, run_async, run_sync
from .config import Config
from .ctx import AppContext, RequestContext, WebsocketContext
from .debug import traceback_response
from .globals import current_connection_context, request_ctx
from .helpers import get_debug_flag
from .json.provider import DefaultJSONProvider
from .logging import create_logger
from .plans import Pipeline, Plan, make_plan, overrides
from .registries import WatchedList, WatchedRegistry
from .routing import QuartMap, QuartRule
from .scaffold import WebsocketScaffold
from .sessions import SecureCookieSessionInterface, SessionInterface
from .shortcuts import set_known_status
from .signals import (
    appcontext_tearing_down,
    got_background_exception,
    got_request_exception,
    got_serving_exception,
    got_websocket_exception,
    request_finished,
    request_started,
    request_tearing_down,
    websocket_finished,
    websocket_started,
    websocket_tearing_down,
)
from .templating import Environment, create_environment, update_template_context
from .testing import (
    QuartClient,
    QuartCliRunner,
    TestApp,
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
    no_op_push,
    sentinel,
)
from .typing import (
    AfterServingCallable,
    AfterWebsocketCallable,
    BeforeServingCallable,
    BeforeWebsocketCallable,
    HeadersValue,
    ResponseReturnValue,
    ShellContextProcessorCallable,
    TeardownCallable,
    TemplateFilterCallable,
    TemplateGlobalCallable,
    TemplateTestCallable,
    WebsocketCallable,
    WhileServingCallable,
)
from .wrappers import BaseRequestWebsocket, Request, Response, Websocket
from .wrappers import response as _response_module

if TYPE_CHECKING:
    import logging

    from .typing import Scope

# Assigned, not imported: see the note in quart/globals.py.
_STATUS_LINES = _response_module._STATUS_LINES
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket

# Quart's module has this name: asyncio's, or inspect's from Python 3.14 (which deprecated
# asyncio's).
if sys.version_info >= (3, 14):  # pragma: no cover - not the Python tests run on
    from inspect import iscoroutinefunction as iscoroutinefunction
else:
    from asyncio import iscoroutinefunction as iscoroutinefunction

T = TypeVar("T")
P = ParamSpec("P")
#: What hook and handler registries are keyed by: None for the app, else a blueprint name.
AppOrBlueprintKey = str | None
T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_before_websocket = TypeVar("T_before_websocket", bound=BeforeWebsocketCallable)
T_shell_context_processor = TypeVar(
    "T_shell_context_processor", bound=ShellContextProcessorCallable
)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_template_filter = TypeVar("T_template_filter", bound=TemplateFilterCallable)
T_template_global = TypeVar("T_template_global", bound=TemplateGlobalCallable)
T_template_test = TypeVar("T_template_test", bound=TemplateTestCallable)
T_websocket = TypeVar("T_websocket", bound=WebsocketCallable)
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"
#: What a Location may hold as it is: URL syntax and escapes (see RFC 3986).
_LOCATION_SAFE = "%!#$&'()*+,/:;=?@[]~"
AsyncCallable = Callable[..., Awaitable[Any]]
T_after_serving = TypeVar("T_after_serving", bound=AfterServingCallable)
T_before_serving = TypeVar("T_before_serving", bound=BeforeServingCallable)
T_while_serving = TypeVar("T_while_serving", bound=WhileServingCallable)


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class Quart(WebsocketScaffold, App):
    """A web application with Flask's API, served over ASGI.

    Create one per project (``app = Quart(__name__)``), register views and hooks with the
    decorators, and serve it with ``app.run()``, ``quart run`` or any ASGI server.
    Sync views and hooks run in a thread pool; async ones run in the event loop.
    """

    asgi_http_class = ASGIHTTPConnection
    asgi_lifespan_class = ASGILifespan
    asgi_websocket_class = ASGIWebsocketConnection
    config_class = Config
    #: The event class of ``shutdown_event``, and the lock class the app hands out.
    event_class = asyncio.Event
    lock_class = asyncio.Lock
    jinja_environment = Environment
    json_provider_class = DefaultJSONProvider
    request_class = Request
    response_class = Response
    websocket_class = Websocket
    session_interface: SessionInterface = SecureCookieSessionInterface()
    test_app_class = TestApp
    test_cli_runner_class = QuartCliRunner  # type: ignore[assignment]
    test_client_class = QuartClient  # type: ignore[assignment]
    url_map_class = QuartMap
    url_rule_class = QuartRule  # type: ignore[assignment]
    #: Read each request's body (parse it, if a form) before its hooks and view run, so
    #: that code that cannot await finds it ready. ``quart.flask_patch`` sets it, for
    #: Flask extensions and views that read ``flask.request.form`` or ``get_json()``.
    _read_body_first = False
    #: Set when the app starts shutting down (made at startup, an ``event_class``), so
    #: that long-running background tasks know to stop: ``await app.shutdown_event.wait()``.
    shutdown_event: asyncio.Event
    #: Whether the class overrides ``sync_to_async`` (quart-trio's runs sync code in
    #: trio's threads): then the file threads of ``send_file`` are left for it. Set by
    #: ``__init_subclass__``.
    _own_sync_to_async = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Look once at what a subclass overrides, so that the request path never asks:
        a ``handle_request(request)`` written for Quart (quart-trio's) is wrapped to take
        our ``send_response`` too (see ``_sending_after``); an own ``sync_to_async`` sets
        ``_own_sync_to_async``."""
        super().__init_subclass__(**kwargs)
        handle = cls.__dict__.get("handle_request")
        if handle is not None and "send_response" not in inspect.signature(handle).parameters:
            cls.handle_request = _sending_after(handle)  # type: ignore[method-assign,assignment]
        cls._own_sync_to_async = cls.sync_to_async is not Quart.sync_to_async

    default_config = ImmutableDict(
        {
            "APPLICATION_ROOT": "/",
            "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,  # seconds
            "BODY_TIMEOUT": 60,  # seconds
            "DEBUG": None,
            "ENV": None,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # 16 MiB
            "MAX_COOKIE_SIZE": 4093,
            "MAX_FORM_MEMORY_SIZE": 500_000,
            "MAX_FORM_PARTS": 1_000,
            "MAX_WEBSOCKET_MESSAGE_SIZE": 16 * 1024 * 1024,  # 16 MiB
            "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
            "PREFER_SECURE_URLS": False,  # https/wss when building external URLs
            "PRESERVE_CONTEXT_ON_EXCEPTION": None,
            "PROPAGATE_EXCEPTIONS": None,
            "PROVIDE_AUTOMATIC_OPTIONS": True,
            "RESPONSE_TIMEOUT": 60,  # seconds
            "SECRET_KEY": None,
            "SECRET_KEY_FALLBACKS": None,
            "SEND_FILE_MAX_AGE_DEFAULT": timedelta(hours=12),
            "SERVER_NAME": None,
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_COOKIE_PATH": None,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_REFRESH_EACH_REQUEST": True,
            "TEMPLATES_AUTO_RELOAD": None,
            "TESTING": False,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "TRUSTED_HOSTS": None,
        }
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name,
            static_url_path,
            static_folder,
            static_host,
            host_matching,
            subdomain_matching,
            template_folder,
            instance_path,
            instance_relative_config,
            root_path,
        )
        self.cli = AppGroup(self.name)
        self.before_serving_funcs: list[Callable[[], Awaitable[None]]] = []
        self.after_serving_funcs: list[Callable[[], Awaitable[None]]] = []
        # As in Quart, the generators of the while_serving functions, made when they
        # are registered, run by startup and shutdown (quart-trio's shutdown runs them
        # too). They are made again from the functions for each serving, so that an app
        # can be served more than once (tests start one several times).
        self.while_serving_gens: list[AsyncGenerator[None, None]] = []
        self._while_serving_funcs: list[WhileServingCallable] = []
        self._serving_gens: list[AsyncGenerator[None, None]] = []  # started, not finished
        # The hook registries the plans are made from report every change, also one an
        # extension makes directly rather than through a decorator (see quart.registries).
        changed = self._registries_changed
        self.before_request_funcs = WatchedRegistry(changed, self.before_request_funcs)
        self.after_request_funcs = WatchedRegistry(changed, self.after_request_funcs)
        self.teardown_request_funcs = WatchedRegistry(changed, self.teardown_request_funcs)
        self.url_value_preprocessors = WatchedRegistry(changed, self.url_value_preprocessors)
        self.teardown_appcontext_funcs = WatchedList(changed, self.teardown_appcontext_funcs)
        self.before_websocket_funcs: dict[str | None, list[BeforeWebsocketCallable]] = (
            WatchedRegistry(changed)
        )
        self.after_websocket_funcs: dict[str | None, list[AfterWebsocketCallable]] = (
            WatchedRegistry(changed)
        )
        self.teardown_websocket_funcs: dict[str | None, list[TeardownCallable]] = WatchedRegistry(
            changed
        )
        self.background_tasks: set[asyncio.Task[None]] = set()
        # The websockets being handled, which the embedded server closes with 1001 (going
        # away) when it shuts down (see serving.close_websockets).
        self._open_websockets: set[ASGIWebsocketConnection] = set()
        self._preserved_context: RequestContext | None = None  # for `async with client:`
        # Per-configuration caches (see _check_setup_finished): the plans of requests and
        # websockets by endpoint (see quart.plans), and error handlers by exception type.
        self._request_plans: dict[str | None, Plan] = {}
        self._websocket_plans: dict[str | None, Plan] = {}
        # Error handlers in async form (``ensure_async``), by kind of error and blueprints.
        self._async_error_handlers: dict[tuple[type[BaseException], tuple[str, ...]], Any] = {}
        self._appcontext_teardown: bool | None = None  # see _tears_down_appcontext

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise ValueError("static_host is required with host_matching=True, and only then.")
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self.send_static_file,
            )

    # ----------------------------------------------------------------- set-up

    def _check_setup_finished(self, f_name: str) -> None:
        """Every set-up method calls this first. As in Quart (unlike Flask), routes, hooks,
        handlers and blueprints may be added while the app serves: forget everything
        computed from the set-up so far, so that the next request sees the change."""
        self._request_plans.clear()
        self._websocket_plans.clear()
        self._async_error_handlers.clear()
        self._appcontext_teardown = None

    def _registries_changed(self) -> None:
        self._check_setup_finished("hooks")

    @cached_property
    def logger(self) -> logging.Logger:
        """The app's logger, named after the app (see ``quart.logging``)."""
        return create_logger(self)

    def make_config(self, instance_relative: bool = False) -> Config:
        """The config, Quart's defaults first; ``QUART_DEBUG`` sets ``DEBUG``."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def create_jinja_environment(self) -> Environment:
        """The template environment (``jinja_env``), created on first use from
        ``jinja_options`` and the config."""
        return create_environment(self)

    async def update_template_context(self, context: dict[str, Any]) -> None:
        """Add ``g``, ``request``, ``session`` and the context processors' values to a
        template's ``context`` (explicit values win); override to change what every
        template sees."""
        await update_template_context(self, context)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Connect a URL rule to a view (or a websocket handler with ``is_websocket``).

        ``options`` are Flask's and werkzeug's rule options: ``methods``, ``defaults``,
        ``host``, ``subdomain``, ``strict_slashes``, ``merge_slashes``, ``redirect_to``...
        """
        is_websocket = bool(options.pop("is_websocket", False))
        if options.pop("websocket", False):
            is_websocket = True
        if is_websocket:
            methods = options.get("methods")
            if methods is not None and set(methods) - {"GET"}:
                raise ValueError("Websocket routes accept only the GET method.")
            options["methods"] = {"GET"}
            provide_automatic_options = False
        super().add_url_rule(
            rule,
            endpoint,
            view_func,
            provide_automatic_options=provide_automatic_options,
            websocket=is_websocket,
            **options,
        )

    @setupmethod
    def before_serving(self, func: T_before_serving) -> T_before_serving:
        """Run ``func`` once the server starts, before it accepts requests."""
        self.before_serving_funcs.append(self.ensure_async(func))
        return func

    @setupmethod
    def after_serving(self, func: T_after_serving) -> T_after_serving:
        """Run ``func`` when the server shuts down, after the last request."""
        self.after_serving_funcs.append(self.ensure_async(func))
        return func

    @setupmethod
    def while_serving(self, func: T_while_serving) -> T_while_serving:
        """Register an async generator function: the code before its ``yield`` runs at
        startup, the code after it at shutdown."""
        self._while_serving_funcs.append(func)
        self.while_serving_gens.append(func())
        return func

    # ------------------------------------------------------ sync and async

    def ensure_async(self, func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        """``func`` itself if it is async, else a wrapper running it in a thread."""
        if is_async_callable(func):
            return func
        return self.sync_to_async(func)

    def sync_to_async(self, func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        """Run a sync callable in the thread pool when awaited (override to change how)."""
        return run_sync(func)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself if it is sync, else a sync wrapper that runs it on the event
        loop and waits for its result.

        Flask extensions call it from sync code, which runs in a worker thread here (a
        sync view, hook or decorator): Flask-Login's ``login_required`` calls
        ``current_app.ensure_sync(view)(...)``, and the view may be async. Called on the
        event loop's thread, the wrapper raises a RuntimeError (waiting there would
        block the loop): await the function instead.

        .. versionadded:: 0.20
        """
        if is_async_callable(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(self, func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
        """A sync wrapper for an async callable (see ``ensure_sync``; override to change
        how).

        .. versionadded:: 0.20
        """
        return run_async(func)

    def _plan(self, connection: BaseRequestWebsocket, websocket: bool) -> Plan:
        """The plan for ``connection``'s endpoint (see ``quart.plans``): made on first
        use, and again if the view was replaced in ``view_functions`` directly."""
        rule = connection.url_rule
        endpoint = None if rule is None else rule.endpoint
        plans = self._websocket_plans if websocket else self._request_plans
        plan = plans.get(endpoint)
        if plan is None or (
            endpoint is not None and plan.view is not self.view_functions.get(endpoint)
        ):
            pipeline = self._websocket_pipeline() if websocket else self._request_pipeline()
            plan = plans[endpoint] = make_plan(self, pipeline, endpoint, connection.blueprint)
        return plan

    def _tears_down_appcontext(self) -> bool:
        """Whether popping an app context has teardown work whatever the signal's
        receivers: teardown_appcontext functions, or an override of the step."""
        needed = self._appcontext_teardown
        if needed is None:
            needed = self._appcontext_teardown = bool(self.teardown_appcontext_funcs) or overrides(
                self, Quart.do_teardown_appcontext
            )
        return needed

    def _request_pipeline(self) -> Pipeline:
        return Pipeline(
            self.before_request_funcs,
            self.after_request_funcs,
            self.teardown_request_funcs,
            Quart.preprocess_request,
            Quart.dispatch_request,
            Quart.make_response,
            Quart.process_response,
            Quart.do_teardown_request,
        )

    def _websocket_pipeline(self) -> Pipeline:
        return Pipeline(
            self.before_websocket_funcs,
            self.after_websocket_funcs,
            self.teardown_websocket_funcs,
            Quart.preprocess_websocket,
            Quart.dispatch_websocket,
            Quart.make_response,
            Quart.postprocess_websocket,
            Quart.do_teardown_websocket,
        )

    # ------------------------------------------------------------ contexts

    def app_context(self) -> AppContext:
        """A context for this app: ``async with app.app_context(): ...``."""
        return AppContext(self)

    def request_context(self, request: Request) -> RequestContext:
        """A context for handling ``request``."""
        return RequestContext(self, request)

    def websocket_context(self, websocket: Websocket) -> WebsocketContext:
        """A context for handling ``websocket``."""
        return WebsocketContext(self, websocket)

    def test_request_context(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        query_string: dict[str, Any] | None = None,
        scheme: str = "http",
        send_push_promise: Callable[[str, Headers], Awaitable[None]] = no_op_push,
        data: str | bytes | None = None,
        form: dict[str, str] | None = None,
        json: Any = sentinel,
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
        subdomain: str | None = None,
    ) -> RequestContext:
        """A request context for a made-up request, to test code that needs one.

        ``async with app.test_request_context("/path", method="POST", json={...}):``
        """
        headers, path, query = make_test_headers_path_and_query_string(
            self, path, headers, query_string, auth, subdomain
        )
        body, body_headers = make_test_body_with_headers(data=data, form=form, json=json)
        headers.update(body_headers)
        scope = make_test_scope(
            "http", path, method, headers, query, scheme, root_path, http_version, scope_base
        )
        request = self.request_class(
            method,
            scheme,
            path,
            query,
            headers,
            root_path,
            http_version,
            scope,
            max_content_length=self.config["MAX_CONTENT_LENGTH"],
            body_timeout=self.config["BODY_TIMEOUT"],
            send_push_promise=send_push_promise,
        )
        request.body = request.body_class.from_data(body)
        return self.request_context(request)

    def test_app(self) -> TestApp:
        """The app with its lifespan run around a block: ``async with app.test_app():``."""
        return self.test_app_class(self)

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> QuartClient:
        """A client that sends requests to this app through the ASGI interface."""
        return self.test_client_class(self, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: Any) -> QuartCliRunner:
        """A click runner that invokes ``app.cli`` commands with this app loaded
        (keyword arguments go to ``click.testing.CliRunner``)."""
        return self.test_cli_runner_class(self, **kwargs)

    def create_url_adapter(self, request: BaseRequestWebsocket | None) -> MapAdapter | None:
        """The URL adapter for ``request``, or for building URLs without one (needs
        SERVER_NAME)."""
        if request is not None:
            if self.config["TRUSTED_HOSTS"] is not None:
                request.trusted_hosts = self.config["TRUSTED_HOSTS"]
            # As in Quart: unless a default subdomain is fixed (and subdomain matching is
            # off), the subdomain is what the host has in front of SERVER_NAME, so that
            # subdomain rules match with SERVER_NAME alone.
            subdomain = None
            if not self.subdomain_matching:
                subdomain = self.url_map.default_subdomain or None
            server_name = None if self.url_map.host_matching else self.config["SERVER_NAME"]
            return self.url_map.bind_to_request(request, subdomain, server_name)  # type: ignore[attr-defined,no-any-return]
        if self.config["SERVER_NAME"] is not None:
            scheme = "https" if self.config["PREFER_SECURE_URLS"] else "http"
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=scheme,
            )
        return None

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _external: bool | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        **values: Any,
    ) -> str:
        """The URL of ``endpoint`` with ``values`` (see ``quart.url_for``)."""
        ctx = current_connection_context()
        url_adapter: MapAdapter | None
        if ctx is not None:
            url_adapter = ctx.bound_url_adapter()
            blueprint = ctx.connection.blueprint
            if endpoint[:1] == ".":
                endpoint = f"{blueprint}{endpoint}" if blueprint is not None else endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None and app_ctx.app is self:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request without SERVER_NAME"
                    " configured. Also configure APPLICATION_ROOT and PREFER_SECURE_URLS"
                    " as needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        # Websocket rules are always built as full ws:// or wss:// URLs (werkzeug does it).
        self.inject_url_defaults(endpoint, values)
        try:
            url: str = url_adapter.build(
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _external=_external, _method=_method, _scheme=_scheme)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            url += "#" + quote(_anchor, safe=_ANCHOR_SAFE)
        return url

    # ---------------------------------------------------------- dispatching

    async def handle_request(
        self,
        request: Request,
        send_response: Callable[[Response], Awaitable[None]] | None = None,
    ) -> Response:
        """Handle ``request`` from start to end and return its response.

        The ASGI layer passes ``send_response``: the response is sent while the request
        context is still active (a streamed body can use ``request``) and before teardown,
        so the client never waits for teardown work.
        """
        ctx = self.request_context(request)
        await ctx.push()
        error: BaseException | None = None  # what teardown functions are given
        try:
            try:
                response = await self.full_dispatch_request(ctx)
            except asyncio.CancelledError:
                raise  # the client went away, or the server is stopping
            except Exception as unhandled:
                error = unhandled
                response = await self._answer_unhandled(unhandled, self.handle_exception)
            if not isinstance(response, Response):
                response = self._sendable(response)
            if send_response is not None:
                await send_response(response)
            if request.scope.get("_quart._preserve_context", False):
                self._preserved_context = ctx.copy()
            return response
        except BaseException as failure:
            error = failure
            raise
        finally:
            await ctx.pop(error)

    async def full_dispatch_request(
        self, request_context: RequestContext | None = None
    ) -> Response:
        """Hooks, view and error handling for the current request; the final response."""
        self._got_first_request = True
        ctx = request_context or _cv_request.get()
        request: Any = ctx.connection
        try:
            if request_started.receivers:
                await request_started.send_async(self)
            ctx._plan = plan = self._plan(request, websocket=False)
            if plan.limits:  # the view's own body limits (quart.limits)
                for name, value in plan.limits.items():
                    setattr(request, name, value)
            if self._read_body_first:
                await request._read_ahead()
            result: Any = await self.preprocess_request(ctx) if plan.preprocess else None
            if result is None:
                if plan.dispatches:
                    result = await self.dispatch_request(ctx)
                else:
                    result = await self._view_call(request, plan)
        except Exception as error:
            result = await self._handle_dispatch_error(error)
        return await self.finalize_request(result, ctx)

    async def _handle_dispatch_error(self, error: Exception) -> Any:
        """``handle_user_exception`` for an error raised while dispatching. A handled HTTP
        error drops its traceback: a routing error stays on the connection, and the
        traceback's frames hold the connection (a reference cycle per error response)."""
        result = await self.handle_user_exception(error)
        if isinstance(error, HTTPException):
            error.__traceback__ = None
        return result

    async def preprocess_request(
        self, request_context: RequestContext | None = None
    ) -> ResponseReturnValue | None:
        """URL value preprocessors, then before_request hooks; a hook's return value
        stops the request and becomes the response."""
        ctx = request_context or _cv_request.get()
        plan = ctx._plan
        if plan is None:
            plan = await self._begin_dispatch(ctx, websocket=False)
        return await self._preprocess(ctx.connection, plan)  # type: ignore[no-any-return]

    async def _begin_dispatch(
        self, ctx: RequestContext | WebsocketContext, websocket: bool
    ) -> Plan:
        """What our ``full_dispatch_request`` (or ``full_dispatch_websocket``) does before
        the hooks, for a Quart-shaped override of it that calls ``preprocess_request``
        first without it (quart-trio's): the plan, the view's route limits, the body read
        first for ``quart.flask_patch``."""
        self._got_first_request = True
        connection: Any = ctx.connection
        ctx._plan = plan = self._plan(connection, websocket)
        if not websocket:
            for name, value in plan.limits.items():
                setattr(connection, name, value)
            if self._read_body_first:
                await connection._read_ahead()
        return plan

    async def _preprocess(self, connection: BaseRequestWebsocket, plan: Plan) -> Any:
        """URL value preprocessors, then the before_request (or before_websocket) hooks
        of ``plan``; the first hook that returns a value ends the chain."""
        for func in plan.url_value_preprocessors:
            func(connection.endpoint, connection.view_args)
        for hook in plan.before:
            result = await hook()
            if result is not None:
                return result
        return None

    async def dispatch_request(self, request_context: RequestContext | None = None) -> Any:
        """Call the view the URL matched (or answer OPTIONS automatically)."""
        ctx = request_context or _cv_request.get()
        request = ctx.connection
        return await self._view_call(request, ctx._plan or self._plan(request, websocket=False))

    def _view_call(self, connection: BaseRequestWebsocket, plan: Plan) -> Awaitable[Any]:
        """What dispatching ``connection`` awaits: the view (or websocket handler) the
        URL matched, called with the URL's values, or the automatic answer to OPTIONS.
        Raises the routing error if the URL matched nothing."""
        if connection.routing_exception is not None:
            self.raise_routing_exception(connection)
        if connection.method == "OPTIONS" and getattr(
            connection.url_rule, "provide_automatic_options", False
        ):
            return self.make_default_options_response()
        assert plan.call_view is not None
        return plan.call_view(**(connection.view_args or {}))

    def raise_routing_exception(self, request: BaseRequestWebsocket) -> NoReturn:
        """Raise the error (404, 405 or redirect) that URL matching found."""
        raise request.routing_exception  # type: ignore[misc]

    async def make_default_options_response(self) -> Response:
        """The response to an automatic OPTIONS request: empty, with ``Allow``."""
        adapter = request_ctx.url_adapter
        assert adapter is not None
        response = self.response_class("")
        response.allow.update(adapter.allowed_methods())
        return response

    async def finalize_request(
        self,
        result: Any,
        request_context: RequestContext | None = None,
        from_error_handler: bool = False,
    ) -> Response:
        """Turn the view's result into a response and run the after_request processing."""
        ctx = request_context or _cv_request.get()
        plan = ctx._plan
        if plan is None or plan.makes_responses:
            response = await self.make_response(result)
        else:
            response = self._response_for(result)
        try:
            if self._must_postprocess(ctx, websocket=False):
                response = await self.process_response(response, ctx)
            if request_finished.receivers:
                await request_finished.send_async(self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def _must_postprocess(self, ctx: RequestContext | WebsocketContext, websocket: bool) -> bool:
        """Whether a response has to go through ``process_response`` (or
        ``postprocess_websocket``): the plan has after hooks or the step is overridden,
        the view added an ``after_this_*`` function, or there is a session to save."""
        plan = ctx._plan or self._plan(ctx.connection, websocket)
        return plan.postprocess or bool(ctx.after_functions) or ctx._session_to_save() is not None

    async def process_response(
        self, response: Response, request_context: RequestContext | None = None
    ) -> Response:
        """after_this_request functions, after_request hooks, then the session is saved."""
        ctx = request_context or _cv_request.get()
        plan = ctx._plan or self._plan(ctx.connection, websocket=False)
        return await self._postprocess(ctx, response, plan)  # type: ignore[no-any-return]

    async def _postprocess(
        self, ctx: RequestContext | WebsocketContext, response: Response | None, plan: Plan
    ) -> Any:
        """``after_this_*`` functions, the after_request (or after_websocket) hooks of
        ``plan``, then the session is saved."""
        for func in ctx.after_functions:
            response = await self.ensure_async(func)(response)
        for hook in plan.after:
            response = await hook(response)
        session = ctx._session_to_save()
        if session is not None:
            interface = self.session_interface
            if not interface.is_null_session(session):
                save: Callable[..., Awaitable[Any]] = interface.save_session  # the instance's
                if getattr(save, "__func__", None) is not _STOCK_SAVE:
                    save = self.ensure_async(save)  # any interface's, sync or async
                await save(self, session, response)
        return response

    async def make_response(self, result: Any) -> Response:
        """Make a response from what a view returned (see the Flask docs for the forms).

        A tuple gives ``(body, status)``, ``(body, headers)`` or ``(body, status,
        headers)``; the body may be a response, text, bytes, a dict or list (as JSON), a
        sync or async iterable or generator (streamed), or an HTTP exception.
        """
        return self._response_for(result)

    def _response_for(self, result: Any) -> Response:
        """All of ``make_response``, which needs no ``await``: the request path calls
        this directly unless the app overrides ``make_response``."""
        status: Any = None
        headers: HeadersValue | None = None
        value = result
        if isinstance(result, tuple):
            if len(result) == 3:
                value, status, headers = result
            elif len(result) == 2:
                value, second = result
                if isinstance(second, (Headers, dict, list)):
                    headers = second
                else:
                    status = second
            else:
                raise TypeError(
                    "A view returned a tuple of the wrong size. It must be (body, status),"
                    " (body, headers) or (body, status, headers)."
                )
        if value is None:
            raise TypeError(
                f"The response value returned by the view for endpoint"
                f" {self._current_endpoint()!r} cannot be None (did it end without a return"
                " statement?). It must return a response, text, bytes, a dict or list, a"
                " generator, or a tuple."
            )

        response: Any
        if isinstance(value, (str, bytes, bytearray)):
            response = self.response_class(value)
        elif isinstance(value, SansIOResponse):
            # The very object, as in Quart (a werkzeug response included: it is turned
            # into one of ours only when sent, after the after_request hooks saw it).
            response = value
        elif isgenerator(value) or isasyncgen(value):
            response = self.response_class(value)
        elif isinstance(value, (dict, list)):
            response = self.json.response(value)
        elif isinstance(value, HTTPException):
            response = self._response_from_http_exception(value)
        elif _is_stream(value):
            response = self.response_class(value)
        else:
            raise TypeError(
                f"The view for endpoint {self._current_endpoint()!r} returned a"
                f" {type(value).__name__}, which is not a valid response. It must return a"
                " response, text, bytes, a dict or list, a generator, or a tuple."
            )

        if status is not None:
            if isinstance(status, (str, bytes)):
                response.status = status.decode() if isinstance(status, bytes) else status
            else:
                code = int(status)
                line = _STATUS_LINES.get(code)
                if line is None:
                    response.status_code = code
                else:
                    set_known_status(response, line, code)
        if headers:
            headers = Headers(headers)
            check_header_names(headers)
            response.headers.update(headers)
        return response  # type: ignore[no-any-return]

    def _current_endpoint(self) -> str | None:
        ctx = current_connection_context()
        return None if ctx is None else ctx.connection.endpoint

    def _response_from_http_exception(self, error: HTTPException) -> Response:
        """The response an HTTP error stands for, built as our response class."""
        if error.response is not None:
            return error.response  # type: ignore[return-value]  # sent as ours (see _sendable)
        if isinstance(error, RequestRedirect):
            return self.redirect(_escaped_location(error.new_url), error.code)
        response = self.response_class(_error_page(error), error.code)
        for name, value in error.get_headers():
            if name.lower() != "content-type":  # the page is HTML, as the response says
                response.headers.add(name, value)
        return response

    def _sendable(self, response: Response) -> Response:
        """``response`` if it is ours, else one of ours with the status, headers and
        body of the werkzeug response a view or handler returned (a WSGI response's body
        is in memory or an iterable; a sans-IO one has none)."""
        if isinstance(response, Response):
            return response  # checked by callers on the request path too, to save a call
        other: Any = response
        body: Any = b""
        if getattr(other, "is_streamed", False):
            body = other.iter_encoded()
        elif hasattr(other, "get_data"):
            body = other.get_data()
        return self.response_class(body, other.status, Headers(other.headers))

    # --------------------------------------------------------------- errors

    def _async_error_handler(self, error: BaseException) -> Callable[..., Awaitable[Any]] | None:
        """Flask's ``_find_error_handler`` for the current blueprints, in async form,
        looked up once per kind of error and blueprint path."""
        blueprints = _current_blueprints()
        key = (type(error), tuple(blueprints))
        try:
            return self._async_error_handlers[key]  # type: ignore[no-any-return]
        except KeyError:
            handler = self._find_error_handler(error, blueprints)  # type: ignore[arg-type]
            async_handler = None if handler is None else self.ensure_async(handler)
            self._async_error_handlers[key] = async_handler
            return async_handler

    async def handle_http_exception(self, error: HTTPException) -> HTTPException | Response:
        """The response for an HTTP error: its error handler's, or the error's own page."""
        if error.code is None or isinstance(error, RoutingException):
            return error
        handler = self._async_error_handler(error)
        if handler is None:
            return error
        return await handler(error)  # type: ignore[no-any-return]

    async def handle_user_exception(self, error: Exception) -> Any:
        """Pass an exception from a view or hook to its handler; re-raise if none."""
        if isinstance(error, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            error.show_exception = True
        if isinstance(error, HTTPException) and not self.trap_http_exception(error):
            return await self.handle_http_exception(error)
        handler = self._async_error_handler(error)
        if handler is None:
            if sys.exc_info()[1] is error:
                raise
            raise error  # called outside its except block (quart-trio's, for a group)
        return await handler(error)

    def _propagate_exceptions(self) -> bool:
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            return bool(self.testing or self.debug)
        return bool(propagate)

    async def handle_exception(self, error: Exception) -> Response:
        """An unhandled exception in a request: signal it, then re-raise (testing, debug)
        or log it and answer 500 through the 500 handler."""
        server_error = await self._handle_unhandled(error, got_request_exception)
        return await self.finalize_request(server_error, from_error_handler=True)

    async def handle_websocket_exception(self, error: Exception) -> Response | None:
        """An unhandled exception in a websocket handler: as ``handle_exception``."""
        server_error = await self._handle_unhandled(error, got_websocket_exception)
        return await self.finalize_websocket(server_error, from_error_handler=True)

    async def _handle_unhandled(self, error: Exception, signal: Any) -> Any:
        exc_info = sys.exc_info()
        if signal.receivers:
            await signal.send_async(self, exception=error)
        if self._propagate_exceptions():
            if exc_info[1] is error:
                raise
            raise error
        self.log_exception(exc_info if exc_info[1] is error else _exc_info_of(error))
        server_error: Any = InternalServerError(original_exception=error)
        handler = self._async_error_handler(server_error)
        if handler is not None:
            server_error = await handler(server_error)
        return server_error

    async def _answer_unhandled(
        self, error: Exception, handle: Callable[[Exception], Awaitable[T]]
    ) -> T | Response:
        """``handle(error)`` (``handle_exception`` or ``handle_websocket_exception``); what
        it propagates becomes, in debug mode (not testing), a logged traceback page for the
        developer to read. In testing it goes on to the test, and without debug to the
        server."""
        caught_at = error.__traceback__
        try:
            return await handle(error)
        except Exception as propagated:
            if not self.debug or self.testing:
                raise
            if propagated is error:  # as caught: the view's frames, not the re-raise's
                propagated.with_traceback(caught_at)
            self.log_exception(_exc_info_of(propagated))
            return await traceback_response(propagated)

    def log_exception(
        self,
        exception_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception (``sys.exc_info()``) with the request or websocket
        it happened in."""
        ctx = current_connection_context()
        where = "" if ctx is None else f" on {ctx.connection.method} {ctx.connection.path}"
        self.logger.error(f"Exception{where}", exc_info=exception_info)

    # ------------------------------------------------------------- teardown

    async def do_teardown_request(
        self, exc: BaseException | None, request_context: RequestContext | None = None
    ) -> None:
        """teardown_request functions (inner blueprints first), then the signal."""
        ctx = request_context or _cv_request.get()
        plan = ctx._plan or self._plan(ctx.connection, websocket=False)
        await self._teardown(plan, exc, request_tearing_down)

    async def _teardown(self, plan: Plan, exc: BaseException | None, signal: Any) -> None:
        """The teardown functions of ``plan`` (inner blueprints first), then ``signal``."""
        for func in plan.teardown:
            await func(exc)
        if signal.receivers:
            await signal.send_async(self, exc=exc)

    async def do_teardown_websocket(
        self, exc: BaseException | None, websocket_context: WebsocketContext | None = None
    ) -> None:
        """teardown_websocket functions (inner blueprints first), then the signal."""
        ctx = websocket_context or _cv_websocket.get()
        plan = ctx._plan or self._plan(ctx.connection, websocket=True)
        await self._teardown(plan, exc, websocket_tearing_down)

    async def do_teardown_appcontext(self, exc: BaseException | None) -> None:
        """teardown_appcontext functions (last registered first), then the signal."""
        for func in reversed(self.teardown_appcontext_funcs):
            await self.ensure_async(func)(exc)
        if appcontext_tearing_down.receivers:
            await appcontext_tearing_down.send_async(self, exc=exc)

    # ------------------------------------------------------------ websockets

    async def handle_websocket(self, websocket: Websocket) -> Response | None:
        """Handle a websocket connection from start to end.

        Returns a response to send instead of accepting (a refusal), or None.
        """
        ctx = self.websocket_context(websocket)
        await ctx.push()
        error: BaseException | None = None  # what teardown functions are given
        try:
            try:
                response = await self.full_dispatch_websocket(ctx)
            except asyncio.CancelledError:
                raise
            except Exception as unhandled:
                error = unhandled
                response = await self._answer_unhandled(unhandled, self.handle_websocket_exception)
            return None if response is None else self._sendable(response)
        except BaseException as failure:
            error = failure
            raise
        finally:
            await ctx.pop(error)

    async def full_dispatch_websocket(
        self, websocket_context: WebsocketContext | None = None
    ) -> Response | None:
        """Hooks, handler and error handling for the current websocket."""
        self._got_first_request = True
        ctx = websocket_context or _cv_websocket.get()
        websocket = ctx.websocket
        result: Any = None
        try:
            if websocket_started.receivers:
                await websocket_started.send_async(self)
            ctx._plan = plan = self._plan(websocket, websocket=True)
            async with websocket._handling():  # a client leaving ends this part normally
                if plan.preprocess:
                    result = await self.preprocess_websocket(ctx)
                if result is None:
                    result = await self.dispatch_websocket(ctx)
        except Exception as error:
            result = await self._handle_dispatch_error(error)
        return await self.finalize_websocket(result, ctx)

    async def preprocess_websocket(
        self, websocket_context: WebsocketContext | None = None
    ) -> ResponseReturnValue | None:
        """URL value preprocessors, then before_websocket hooks."""
        ctx = websocket_context or _cv_websocket.get()
        plan = ctx._plan
        if plan is None:  # see preprocess_request
            plan = await self._begin_dispatch(ctx, websocket=True)
        return await self._preprocess(ctx.connection, plan)  # type: ignore[no-any-return]

    async def dispatch_websocket(
        self, websocket_context: WebsocketContext | None = None
    ) -> ResponseReturnValue | None:
        """Call the websocket handler the URL matched."""
        ctx = websocket_context or _cv_websocket.get()
        plan = ctx._plan or self._plan(ctx.connection, websocket=True)
        return await self._view_call(ctx.connection, plan)  # type: ignore[no-any-return]

    async def finalize_websocket(
        self,
        result: ResponseReturnValue | None,
        websocket_context: WebsocketContext | None = None,
        from_error_handler: bool = False,
    ) -> Response | None:
        """Make a response from the handler's result (if any) and post-process it."""
        response = None if result is None else await self.make_response(result)
        ctx = websocket_context or _cv_websocket.get()
        try:
            if self._must_postprocess(ctx, websocket=True):
                response = await self.postprocess_websocket(response, ctx)
            if websocket_finished.receivers:
                await websocket_finished.send_async(self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Websocket finalizing failed with an error")
        return response

    async def postprocess_websocket(
        self, response: Response | None, websocket_context: WebsocketContext | None = None
    ) -> Response | None:
        """after_this_websocket functions, after_websocket hooks, session save."""
        ctx = websocket_context or _cv_websocket.get()
        plan = ctx._plan or self._plan(ctx.connection, websocket=True)
        return await self._postprocess(ctx, response, plan)  # type: ignore[no-any-return]

    # -------------------------------------------------------------- serving

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """The ASGI entry point; calls ``self.asgi_app`` so that middleware can wrap it."""
        await self.asgi_app(scope, receive, send)

    async def asgi_app(self, scope: Scope, receive: Any, send: Any) -> None:
        """The ASGI application proper: ``app.asgi_app = Middleware(app.asgi_app)``."""
        kind = scope["type"]
        if kind == "http":
            await self.asgi_http_class(self, scope)(receive, send)
        elif kind == "websocket":
            await self.asgi_websocket_class(self, scope)(receive, send)
        elif kind == "lifespan":
            await self.asgi_lifespan_class(self, scope)(receive, send)
        else:
            raise RuntimeError(f"The ASGI scope type {kind!r} is not supported.")

    async def startup(self) -> None:
        """Run before_serving functions and the first half of while_serving generators."""
        self.shutdown_event = self.event_class()
        try:
            async with self.app_context():
                for func in self.before_serving_funcs:
                    await func()
                if any(_finished(gen) for gen in self.while_serving_gens):
                    self._renew_serving_gens()  # finished by a shutdown that kept them
                for gen in self.while_serving_gens:
                    await gen.__anext__()
                    self._serving_gens.append(gen)
        except Exception as error:
            self._renew_serving_gens()
            await cancel_background_tasks(self)  # the app will not serve: stop what it began
            await self._serving_failed(error)
            raise

    async def shutdown(self) -> None:
        """Set ``shutdown_event``, wait for background tasks (see
        ``finish_background_tasks``), then run the rest of the while_serving generators
        (last registered first) and the after_serving functions, as Quart does, so tasks
        can still use what those close; then wait for tasks that code added."""
        shutdown_event = getattr(self, "shutdown_event", None)
        if shutdown_event is not None:
            shutdown_event.set()
        try:
            await finish_background_tasks(self)
            async with self.app_context():
                gens, self._serving_gens = self._serving_gens, []
                self._renew_serving_gens()
                for gen in reversed(gens):
                    try:
                        await gen.__anext__()
                    except StopAsyncIteration:
                        continue
                    await gen.aclose()
                    raise RuntimeError(
                        "A while_serving generator yielded more than once; it must yield"
                        " exactly once."
                    )
                for func in self.after_serving_funcs:
                    await func()
            await finish_background_tasks(self)
        except Exception as error:
            await self._serving_failed(error)
            raise

    def _renew_serving_gens(self) -> None:
        """Fresh generators of the while_serving functions, for the next serving."""
        self.while_serving_gens = [func() for func in self._while_serving_funcs]

    async def _serving_failed(self, error: Exception) -> None:
        if got_serving_exception.receivers:
            await got_serving_exception.send_async(self, exception=error)
        self.log_exception(_exc_info_of(error))

    def add_background_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` in the background, in a copy of the current app
        context (no request context: pass what it needs as arguments). A sync ``func``
        runs in a thread. The task is kept in ``background_tasks`` until it ends, and
        shutdown waits ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds for it before
        cancelling it. An exception it raises goes to ``handle_background_exception``.
        Needs a running event loop."""
        start_background_task(self, func, args, kwargs)

    async def handle_background_exception(self, error: Exception) -> None:
        """A background task raised: send ``got_background_exception`` and log it; the
        app goes on serving."""
        self.log_exception(_exc_info_of(error))
        if got_background_exception.receivers:
            await got_background_exception.send_async(self, exception=error)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        use_reloader: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
        ca_certs: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Serve the app with hypercorn until interrupted (for development).

        ``use_reloader`` restarts the process when a loaded module's file changes. In
        production run an ASGI server (hypercorn, uvicorn, granian) directly.
        """
        if kwargs:
            warnings.warn(
                f"app.run() ignores these arguments: {', '.join(kwargs)}. Configure hypercorn"
                " directly for them.",
                stacklevel=2,
            )
        serving.run(self, host, port, debug, use_reloader, loop, ca_certs, certfile, keyfile)

    def run_task(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        debug: bool | None = None,
        ca_certs: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        shutdown_trigger: Callable[..., Awaitable[None]] | None = None,
    ) -> Coroutine[None, None, None]:
        """A coroutine that serves the app with hypercorn when awaited."""
        if debug is not None:
            self.debug = debug
        return serving.serve_app(self, host, port, ca_certs, certfile, keyfile, shutdown_trigger)

    # ------------------------------------------------------------ files

    def redirect(self, location: str, code: int = 302) -> Response:  # type: ignore[override]
        """A redirect to ``location``, as this app's ``response_class`` (what
        ``quart.redirect`` returns, so a view typed ``-> Response`` may return it)."""
        return _redirect(location, code, Response=self.response_class)  # type: ignore[arg-type,return-value]

    async def open_instance_resource(self, path: str, mode: str = "rb") -> Any:
        """Open a file relative to the app's instance folder, in a thread."""
        full = os.path.join(self.instance_path, path)
        return await run_sync(open)(full, mode)

    def make_shell_context(self) -> dict[str, Any]:
        """The names ``quart shell`` starts with: app, g and the shell context processors'."""
        from .globals import g

        context: dict[str, Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            context.update(processor())
        return context


_STOCK_SAVE = SecureCookieSessionInterface.save_session

_ERROR_PAGES: dict[tuple[type[HTTPException], str | None], str] = {}


def _error_page(error: HTTPException) -> str:
    """The HTML page of an HTTP error. A page that depends only on the error's class and
    description (werkzeug's own rendering) is made once and reused."""
    error_class = type(error)
    if (
        error_class.get_body is not HTTPException.get_body
        or error_class.get_description is not HTTPException.get_description
    ):
        return error.get_body()
    key = (error_class, error.description)
    page = _ERROR_PAGES.get(key)
    if page is None:
        page = error.get_body()
        if len(_ERROR_PAGES) < 256:
            _ERROR_PAGES[key] = page
    return page


def _sending_after(
    handle: Callable[[Any, Request], Awaitable[Any]],
) -> Callable[..., Awaitable[Response]]:
    """A subclass's ``handle_request(request)``, written for Quart (which sends the
    response after it returns), as ours: given ``send_response`` (our ASGI connection
    gives it), the response it returns is sent, after its context is gone, as Quart's
    connection would send it."""

    @functools.wraps(handle)
    async def handle_request(
        self: Quart,
        request: Request,
        send_response: Callable[[Response], Awaitable[None]] | None = None,
    ) -> Any:
        response = await handle(self, request)
        if send_response is not None:
            response = self._sendable(response)
            await send_response(response)
        return response

    return handle_request


def _finished(gen: AsyncGenerator[None, None]) -> bool:
    """Whether an async generator has run to its end (or was closed)."""
    return isinstance(gen, AsyncGeneratorType) and gen.ag_frame is None


def _current_blueprints() -> list[str]:
    ctx = current_connection_context()
    return [] if ctx is None else ctx.connection.blueprints


def _exc_info_of(
    error: BaseException,
) -> tuple[type[BaseException], BaseException, TracebackType]:
    return (type(error), error, error.__traceback__)  # type: ignore[return-value]


def _escaped_location(url: str) -> str:
    """A routing redirect's URL, which repeats the client's query string (as werkzeug
    decoded it, from latin-1) and so may hold anything a server let through, a line
    break included: percent-encoded, byte for byte, it is a safe Location."""
    base, mark, query = url.partition("?")
    return (
        quote(base, safe=_LOCATION_SAFE)
        + mark
        + quote(query, safe=_LOCATION_SAFE, encoding="latin-1")
    )


def _is_stream(value: Any) -> bool:
    """Iterables a view may return as a streamed body (not dicts, lists or text)."""
    return hasattr(value, "__aiter__") or (
        hasattr(value, "__iter__") and not isinstance(value, (dict, list, str, bytes, tuple))
    )


__all__ = ["Quart"]
