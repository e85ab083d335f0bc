"""The names Quart keeps in ``quart.utils``, importable here as there, and the path helper.

The code lives by concern: running sync and async code from each other and cancelling
tasks in ``quart.concurrency``, ASGI header encoding in ``quart.asgi_headers``, the
development reloader in ``quart.reloader``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from .asgi_headers import check_header_names, decode_headers, encode_headers
from .concurrency import _cv_loop as _cv_loop  # background.py and flask_patch import it here
from .concurrency import (
    cancel_tasks,
    finish_without_waiting,
    is_async_callable,
    raise_task_exceptions,
    run_async,
    run_sync,
    run_sync_iterable,
    wait_for_coroutine,
)
from .reloader import MustReloadError, observe_changes, restart, wait_for_change
from .typing import FilePath

__all__ = [
    "MustReloadError",
    "T",
    "cancel_tasks",
    "check_header_names",
    "decode_headers",
    "encode_headers",
    "file_path_to_path",
    "finish_without_waiting",
    "is_async_callable",
    "observe_changes",
    "raise_task_exceptions",
    "restart",
    "run_async",
    "run_sync",
    "run_sync_iterable",
    "wait_for_change",
    "wait_for_coroutine",
]

#: Quart's module defines it; kept so that ``from quart.utils import T`` works here too.
T = TypeVar("T")


def file_path_to_path(*paths: FilePath) -> Path:
    """Join and normalise path parts given as str, bytes or path-likes."""
    parts = [os.fsdecode(path) for path in paths]
    return Path(*parts)
