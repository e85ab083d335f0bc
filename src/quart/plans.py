"""Plans: what handling a connection to one endpoint involves, decided once.

Every request and websocket runs the same pipeline (preprocess, view, process the
response, teardown), and for most endpoints most steps have nothing to do: an app
without ``before_request`` hooks has nothing to preprocess. A plan records, for one kind
of connection and one endpoint, the hooks that apply (the app's and its blueprints', in
calling order and async form), the view and its route limits, and so which steps the
pipeline may skip. The app makes a plan on first use and forgets them all whenever
something is registered: Quart lets routes and hooks be added while the app serves.

A step the app's class (or the app itself) overrides is never skipped: the override is
called as it would be without plans.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .limits import LIMITS_ATTRIBUTE

if TYPE_CHECKING:
    from .app import Quart

AsyncCallable = Callable[..., Awaitable[Any]]
HookRegistry = Mapping[str | None, list[Callable[..., Any]]]
UrlValuePreprocessor = Callable[[str | None, dict[str, Any] | None], None]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One kind of connection: its hook registries, and the app methods that are the
    steps a plan may skip (the methods as ``Quart`` defines them)."""

    before: HookRegistry
    after: HookRegistry
    teardown: HookRegistry
    preprocess_step: Callable[..., Any]
    dispatch_step: Callable[..., Any]
    response_step: Callable[..., Any]
    postprocess_step: Callable[..., Any]
    teardown_step: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """How a connection to one endpoint (None: no rule matched) is handled."""

    #: The view as registered, and its async form (None without an endpoint).
    view: Callable[..., Any] | None
    call_view: AsyncCallable | None
    #: The body limits the view set with ``route_limits``.
    limits: Mapping[str, Any]
    url_value_preprocessors: tuple[UrlValuePreprocessor, ...]
    before: tuple[AsyncCallable, ...]
    after: tuple[AsyncCallable, ...]
    teardown: tuple[AsyncCallable, ...]
    #: Whether each step has something to do whatever the connection does (hooks, or an
    #: override). ``after_this_request`` functions, the session and signal receivers are
    #: looked at per connection.
    preprocess: bool
    postprocess: bool
    tear_down: bool
    #: Whether the app overrides the dispatch step (``dispatch_request`` or
    #: ``dispatch_websocket``) or ``make_response``: an override is called, where the
    #: plain path calls the view, or makes the response, itself.
    dispatches: bool
    makes_responses: bool


def make_plan(app: Quart, pipeline: Pipeline, endpoint: str | None, blueprint: str | None) -> Plan:
    """The plan for ``endpoint`` (of ``blueprint``) in ``pipeline``, from the app's
    set-up as it is now."""
    blueprints = _blueprints_inner_first(blueprint)
    url_value_preprocessors = tuple(
        func
        for name in [None, *reversed(blueprints)]
        for func in app.url_value_preprocessors.get(name, ())
    )
    before = _chain(app, pipeline.before, [None, *reversed(blueprints)], reverse=False)
    after = _chain(app, pipeline.after, [*blueprints, None], reverse=True)
    teardown = _chain(app, pipeline.teardown, [*blueprints, None], reverse=True)
    view = None if endpoint is None else app.view_functions.get(endpoint)
    return Plan(
        view=view,
        call_view=None if view is None else app.ensure_async(view),
        limits=getattr(view, LIMITS_ATTRIBUTE, None) or {},
        url_value_preprocessors=url_value_preprocessors,
        before=before,
        after=after,
        teardown=teardown,
        preprocess=bool(url_value_preprocessors or before)
        or overrides(app, pipeline.preprocess_step),
        postprocess=bool(after) or overrides(app, pipeline.postprocess_step),
        tear_down=bool(teardown) or overrides(app, pipeline.teardown_step),
        dispatches=overrides(app, pipeline.dispatch_step),
        makes_responses=overrides(app, pipeline.response_step),
    )


def overrides(app: Quart, method: Callable[..., Any]) -> bool:
    """Whether ``app`` replaces ``method`` (a method as ``Quart`` defines it), in its
    class or on the instance itself."""
    name = method.__name__
    return name in vars(app) or getattr(type(app), name) is not method


def _blueprints_inner_first(blueprint: str | None) -> list[str]:
    """``a.b.c`` gives ``a.b.c``, ``a.b``, ``a``: a nested blueprint's hooks apply with
    those of the blueprints it is registered in."""
    if blueprint is None:
        return []
    parts = blueprint.split(".")
    return [".".join(parts[:index]) for index in range(len(parts), 0, -1)]


def _chain(
    app: Quart, registry: HookRegistry, names: list[str | None], reverse: bool
) -> tuple[AsyncCallable, ...]:
    """The hooks registered under ``names``, in that order, each name's in registration
    order (reversed for after and teardown hooks, which run last-registered first)."""
    funcs: list[Callable[..., Any]] = []
    for name in names:
        registered = registry.get(name, ())
        funcs.extend(reversed(registered) if reverse else registered)
    return tuple(app.ensure_async(func) for func in funcs)
