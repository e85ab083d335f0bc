"""Templates: Jinja2 in async mode, with Flask's loaders, globals and context."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from flask.templating import DispatchingJinjaLoader
from flask.templating import Environment as FlaskEnvironment
from flask.templating import _default_template_ctx_processor as _flask_default_processor
from jinja2 import Template

from . import globals as _globals
from .globals import current_app, current_connection_context, g, request, session, websocket
from .helpers import _current_contexts, _in_contexts, get_flashed_messages, url_for
from .signals import before_render_template, template_rendered

if TYPE_CHECKING:
    from flask.sansio.app import App

    from .app import Quart

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

TemplateNames = str | Template | list[str | Template]


class Environment(FlaskEnvironment):
    """A Jinja environment in async mode that loads templates from the app and its
    blueprints (app first).

    Async mode is always on: templates render with ``await`` so that they can iterate
    async generators and call async functions without blocking the event loop."""

    def __init__(self, app: App, **options: Any) -> None:
        options["enable_async"] = True
        super().__init__(app, **options)


def create_environment(app: Quart) -> Environment:
    """The environment ``app.jinja_env`` holds: an ``app.jinja_environment`` made from
    ``app.jinja_options`` and the config, with the framework's globals."""
    options = dict(app.jinja_options)
    options.setdefault("autoescape", app.select_jinja_autoescape)
    if "auto_reload" not in options:
        auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
        options["auto_reload"] = app.debug if auto_reload is None else auto_reload
    env: Environment = app.jinja_environment(app, **options)
    env.globals.update(
        url_for=url_for,
        get_flashed_messages=get_flashed_messages,
        config=app.config,
        request=request,
        session=session,
        g=g,
        websocket=websocket,
    )
    env.policies["json.dumps_function"] = app.json.dumps
    return env


def _default_context() -> dict[str, Any]:
    """``g`` and ``request``/``websocket`` as the objects themselves, not proxies, so
    that a stream read later still sees the connection it was made for. ``session`` is
    the proxy, so that a cookie session is loaded only if the template uses it."""
    context: dict[str, Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        context["g"] = app_ctx.g
    request_ctx = _cv_request.get(None)
    if request_ctx is not None:
        context["request"] = request_ctx.request
        context["session"] = session
    websocket_ctx = _cv_websocket.get(None)
    if websocket_ctx is not None:
        context["websocket"] = websocket_ctx.websocket
        context["session"] = session
    return context


async def update_template_context(app: Quart, context: dict[str, Any]) -> None:
    """Add the default context and the context processors' values (the app's, then each
    blueprint's from the outermost in) to ``context``; values given explicitly win."""
    original = context.copy()
    context.update(_default_context())
    names: list[str | None] = [None]
    ctx = current_connection_context()
    if ctx is not None:
        names.extend(reversed(ctx.connection.blueprints))
    processors = app.template_context_processors
    for name in names:
        for processor in processors.get(name, ()):
            # Flask's scaffolds register its own default processor, which reads Flask's
            # context variables; _default_context above does that job for ours.
            if processor is not _flask_default_processor:
                context.update(await app.ensure_async(processor)())
    context.update(original)


async def _prepare(template: Template, context: dict[str, Any], app: Quart) -> None:
    await app.update_template_context(context)
    if before_render_template.receivers:
        await before_render_template.send_async(app, template=template, context=context)


async def _render(template: Template, context: dict[str, Any]) -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    await _prepare(template, context, app)
    rendered = await template.render_async(context)
    if template_rendered.receivers:
        await template_rendered.send_async(app, template=template, context=context)
    return rendered


async def _stream(template: Template, context: dict[str, Any]) -> AsyncIterator[str]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    await _prepare(template, context, app)

    async def generate() -> AsyncGenerator[str, None]:
        async for chunk in template.generate_async(context):
            yield chunk
        if template_rendered.receivers:
            await template_rendered.send_async(app, template=template, context=context)

    return _with_current_contexts(generate())


def _with_current_contexts(chunks: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    """``chunks`` made to run each step with the app, request and websocket contexts
    current now, however late (or wherever) the stream is read, as
    ``stream_with_context`` does."""
    captured = _current_contexts()
    if not captured:
        return chunks
    return _in_contexts(captured, chunks)


async def render_template(template_name_or_list: TemplateNames, **context: Any) -> str:
    """Render a template from the templates folders (or the first of a list that
    exists) with ``context``."""
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)
    return await _render(template, context)


async def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as a string (autoescaped, as ``.html`` files are)."""
    template = current_app.jinja_env.from_string(source)
    return await _render(template, context)


async def stream_template(
    template_name_or_list: TemplateNames, **context: Any
) -> AsyncIterator[str]:
    """Render a template chunk by chunk as it is read: return the result from a view to
    stream the response. The request stays usable in the template while it streams."""
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)
    return await _stream(template, context)


async def stream_template_string(source: str, **context: Any) -> AsyncIterator[str]:
    """Render a template string chunk by chunk as it is read (see ``stream_template``)."""
    template = current_app.jinja_env.from_string(source)
    return await _stream(template, context)
