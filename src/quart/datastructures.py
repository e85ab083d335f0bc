"""Data structures of our own; the rest come from ``werkzeug.datastructures``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
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

    async def load(self, source: str | os.PathLike[str], buffer_size: int = 16384) -> None:
        """Fill the upload from the file at ``source`` (named after it), reading in a worker
        thread: for building uploads in tests and tools.

        The file's bytes are written to ``stream`` at its current position."""
        path = Path(source)
        self.filename = path.name
        await run_sync(self._copy_from)(path, buffer_size)

    def _copy_from(self, path: Path, buffer_size: int) -> None:
        with path.open("rb") as file:
            shutil.copyfileobj(file, self.stream, buffer_size)
