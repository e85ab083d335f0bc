"""Templates: Jinja2 in async mode, with Flask's loaders, globals and context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from flask.templating import DispatchingJinjaLoader
from jinja2 import Environment as BaseEnvironment
from jinja2 import Template

from .globals import _cv_app, _cv_request, _cv_websocket, current_app
from .helpers import get_flashed_messages, url_for
from .signals import before_render_template, template_rendered

if TYPE_CHECKING:
    from .app import Quart

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]


class Environment(BaseEnvironment):
    """A Jinja environment in async mode that loads templates from the app and its
    blueprints (app first)."""

    def __init__(self, app: Quart, **options: Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        options.setdefault("enable_async", True)
        super().__init__(**options)
        self.app = app

    @classmethod
    def for_app(cls, app: Quart) -> Environment:
        """The environment ``app.jinja_env`` holds, configured from the app."""
        options = dict(app.jinja_options)
        options.setdefault("autoescape", app.select_jinja_autoescape)
        if "auto_reload" not in options:
            auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
            options["auto_reload"] = app.debug if auto_reload is None else auto_reload
        env = cls(app, **options)
        from .globals import g, request, session, websocket

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
    context: dict[str, Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        context["g"] = app_ctx.g
    ctx: Any = _cv_request.get(None)
    if ctx is not None:
        context["request"] = ctx.request
        context["session"] = ctx.session
    ctx = _cv_websocket.get(None)
    if ctx is not None:
        context["websocket"] = ctx.websocket
        context["session"] = ctx.session
    return context


async def update_template_context(app: Quart, context: dict[str, Any]) -> None:
    """Add the default context and the context processors' values to ``context``;
    values given explicitly win."""
    original = context.copy()
    context.update(_default_context())
    names: list[str | None] = [None]
    ctx: Any = _cv_request.get(None) or _cv_websocket.get(None)
    if ctx is not None:
        names.extend(reversed(ctx._connection.blueprints))
    for name in names:
        for processor in app.template_context_processors.get(name, ()):
            context.update(await app.ensure_async(processor)())
    context.update(original)


async def _prepare(template: Template, context: dict[str, Any], app: Quart) -> None:
    await update_template_context(app, context)
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

    async def generate() -> AsyncIterator[str]:
        async for chunk in template.generate_async(context):
            yield chunk
        if template_rendered.receivers:
            await template_rendered.send_async(app, template=template, context=context)

    return generate()


async def render_template(template_name_or_list: str | list[str], **context: Any) -> str:
    """Render a template from the templates folders with ``context``."""
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)  # type: ignore[arg-type]
    return await _render(template, context)


async def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as a string."""
    template = current_app.jinja_env.from_string(source)
    return await _render(template, context)


async def stream_template(
    template_name_or_list: str | list[str], **context: Any
) -> AsyncIterator[str]:
    """Render a template chunk by chunk, for a streamed response."""
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)  # type: ignore[arg-type]
    return await _stream(template, context)


async def stream_template_string(source: str, **context: Any) -> AsyncIterator[str]:
    """Render a template string chunk by chunk, for a streamed response."""
    template = current_app.jinja_env.from_string(source)
    return await _stream(template, context)
