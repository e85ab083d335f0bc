"""Blueprints: Flask's sans-IO blueprint plus websockets and serving hooks."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask.sansio.blueprints import Blueprint as SansIOBlueprint
from flask.sansio.blueprints import BlueprintSetupState
from flask.sansio.scaffold import setupmethod

from .cli import AppGroup
from .scaffold import WebsocketScaffold
from .typing import (
    AfterServingCallable,
    AfterWebsocketCallable,
    BeforeServingCallable,
    BeforeWebsocketCallable,
    TeardownCallable,
    WebsocketCallable,
    WhileServingCallable,
)

if TYPE_CHECKING:
    from flask.sansio.app import App

    from .app import Quart


T_after_serving = TypeVar("T_after_serving", bound=AfterServingCallable)
T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_before_serving = TypeVar("T_before_serving", bound=BeforeServingCallable)
T_before_websocket = TypeVar("T_before_websocket", bound=BeforeWebsocketCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_websocket = TypeVar("T_websocket", bound=WebsocketCallable)
T_while_serving = TypeVar("T_while_serving", bound=WhileServingCallable)

__all__ = ["Blueprint", "BlueprintSetupState"]


class Blueprint(WebsocketScaffold, SansIOBlueprint):
    """A group of routes, hooks, error handlers, templates and static files, registered
    on an app (``app.register_blueprint(bp, url_prefix="/api")``), possibly nested."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cli = AppGroup(self.name)
        self.before_websocket_funcs: dict[str | None, list[BeforeWebsocketCallable]] = defaultdict(
            list
        )
        self.after_websocket_funcs: dict[str | None, list[AfterWebsocketCallable]] = defaultdict(
            list
        )
        self.teardown_websocket_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)

    @setupmethod
    def before_app_websocket(self, func: T_before_websocket) -> T_before_websocket:
        """Run ``func()`` before every websocket of the app."""
        self.record_once(lambda state: state.app.before_websocket(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def after_app_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """Run ``func(response)`` after every websocket of the app."""
        self.record_once(lambda state: state.app.after_websocket(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def teardown_app_websocket(self, func: T_teardown) -> T_teardown:
        """Run ``func(exc)`` when every websocket context of the app ends."""
        self.record_once(lambda state: state.app.teardown_websocket(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def before_app_serving(self, func: T_before_serving) -> T_before_serving:
        """Run ``func`` when the app starts serving."""
        self.record_once(lambda state: state.app.before_serving(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def after_app_serving(self, func: T_after_serving) -> T_after_serving:
        """Run ``func`` when the app stops serving."""
        self.record_once(lambda state: state.app.after_serving(func))  # type: ignore[attr-defined]
        return func

    @setupmethod
    def while_app_serving(self, func: T_while_serving) -> T_while_serving:
        """Register a while_serving generator on the app."""
        self.record_once(lambda state: state.app.while_serving(func))  # type: ignore[attr-defined]
        return func

    def _merge_blueprint_funcs(self, app: App, name: str) -> None:
        super()._merge_blueprint_funcs(app, name)
        quart_app = cast("Quart", app)
        hooks: list[tuple[dict[str | None, list[Any]], dict[str | None, list[Any]]]] = [
            (self.before_websocket_funcs, quart_app.before_websocket_funcs),
            (self.after_websocket_funcs, quart_app.after_websocket_funcs),
            (self.teardown_websocket_funcs, quart_app.teardown_websocket_funcs),
        ]
        for own, merged in hooks:
            for key, funcs in own.items():
                merged[name if key is None else f"{name}.{key}"].extend(funcs)
