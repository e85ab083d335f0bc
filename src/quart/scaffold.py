"""What the app and blueprints add alike to Flask's scaffold: websocket routes and hooks,
static files and resources. Both ``Quart`` and ``Blueprint`` mix this in."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from flask.sansio.scaffold import Scaffold, setupmethod

from .concurrency import run_sync
from .globals import current_app
from .helpers import send_from_directory
from .typing import (
    AfterWebsocketCallable,
    BeforeWebsocketCallable,
    TeardownCallable,
    WebsocketCallable,
)

if TYPE_CHECKING:
    from .wrappers import Response

T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_before_websocket = TypeVar("T_before_websocket", bound=BeforeWebsocketCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_websocket = TypeVar("T_websocket", bound=WebsocketCallable)


class WebsocketScaffold(Scaffold):
    """Websocket routes and hooks, static files and resources, for an app or blueprint."""

    def _init_websocket_hooks(self) -> None:
        #: Keyed like Flask's request hooks: None for the app itself, else a blueprint name.
        self.before_websocket_funcs: dict[str | None, list[BeforeWebsocketCallable]] = defaultdict(
            list
        )
        self.after_websocket_funcs: dict[str | None, list[AfterWebsocketCallable]] = defaultdict(
            list
        )
        self.teardown_websocket_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)

    @setupmethod
    def websocket(self, rule: str, **options: Any) -> Callable[[T_websocket], T_websocket]:
        """Register a websocket handler for ``rule``: ``@app.websocket("/ws")``."""

        def decorator(func: T_websocket) -> T_websocket:
            endpoint = options.pop("endpoint", None)
            self.add_websocket(rule, endpoint, func, **options)
            return func

        return decorator

    @setupmethod
    def add_websocket(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: WebsocketCallable | None = None,
        **options: Any,
    ) -> None:
        """Connect a URL rule to a websocket handler."""
        self.add_url_rule(rule, endpoint, view_func, is_websocket=True, **options)  # type: ignore[arg-type]

    @setupmethod
    def before_websocket(self, func: T_before_websocket) -> T_before_websocket:
        """Run ``func()`` before each websocket handler; a return value refuses it."""
        self.before_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def after_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """Run ``func(response)`` after each websocket conversation."""
        self.after_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def teardown_websocket(self, func: T_teardown) -> T_teardown:
        """Run ``func(exc)`` when each websocket context ends, however it ends."""
        self.teardown_websocket_funcs[None].append(func)
        return func

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """The cache max-age, in seconds, for files ``send_file`` sends: the app's
        ``SEND_FILE_MAX_AGE_DEFAULT`` (None leaves caching to the browser)."""
        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return int(value)

    async def send_static_file(self, filename: str) -> Response:
        """The view of the ``static`` endpoint: a file from the static folder."""
        if not self.has_static_folder:
            raise RuntimeError("There is no static folder to send files from.")
        max_age = self.get_send_file_max_age(filename)
        return await send_from_directory(self.static_folder, filename, max_age=max_age)  # type: ignore[arg-type]

    async def open_resource(self, path: str, mode: str = "rb") -> Any:
        """Open a file relative to the root path for reading, in a thread."""
        if mode not in {"r", "rb", "rt"}:
            raise ValueError("Resources can only be opened for reading.")
        return await run_sync(open)(os.path.join(self.root_path, path), mode)
