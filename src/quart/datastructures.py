"""Data structures of our own; the rest come from ``werkzeug.datastructures``."""

from __future__ import annotations

import os
from typing import IO

from werkzeug.datastructures import FileStorage as WerkzeugFileStorage

from .utils import run_sync

__all__ = ["FileStorage"]


class FileStorage(WerkzeugFileStorage):
    """An uploaded file: werkzeug's, with ``save`` awaitable so disk writes leave the loop."""

    async def save(  # type: ignore[override]
        self, destination: str | os.PathLike[str] | IO[bytes], buffer_size: int = 16384
    ) -> None:
        """Copy the upload to a path or a binary file object, in a worker thread."""
        await run_sync(super().save)(destination, buffer_size)
