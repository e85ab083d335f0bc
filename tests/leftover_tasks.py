"""Tasks the framework left behind: after a stream ends or a client leaves, none of the
package's own tasks may still be running."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import quart

QUART_DIR = str(Path(quart.__file__).parent)


def our_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks running code of the quart package."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and getattr(task.get_coro(), "cr_code", None) is not None
        and task.get_coro().cr_code.co_filename.startswith(QUART_DIR)  # type: ignore[union-attr]
    ]
