"""The development reloader: watch the app's source files through the operating system's
file notifications (watchfiles) and start the process again when one changes.

Watched are the directories holding the loaded modules that are the app's own code (not the
standard library's, not an installed package's), each without its subdirectories, and those
of any extra files named. A change counts when it is to a Python file there, or to one of the
extra files. Modules imported later from another directory are picked up within a second.
``watchfiles`` is imported only when watching starts: an app run without the reloader
does not pay for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import site
import sys
import sysconfig
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchfiles import Change

#: How long (ms) the watcher waits for a change before it looks for newly imported modules.
_RESCAN_INTERVAL_MS = 1000

#: The shortest time (s) a server started by the reloader runs before a change restarts it.
_SHORTEST_RUN = 1.0

#: How long (ms) the blocking watcher waits before it tells that it is in place.
_READY_AFTER_MS = 200

#: Directory names that hold installed packages wherever they are.
_PACKAGE_DIRECTORY_NAMES = frozenset({"site-packages", "dist-packages"})


class MustReloadError(Exception):
    """A watched source file changed: the development server must restart."""


@functools.cache
def _library_directories() -> tuple[Path, ...]:
    """Where the standard library and installed packages live."""
    paths = sysconfig.get_paths()
    found = {paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    found.update(site.getsitepackages())
    found.add(site.getusersitepackages())
    return tuple(Path(path).resolve() for path in found)


def is_library_file(path: str | os.PathLike[str]) -> bool:
    """True for a file of the standard library or of an installed package: code nobody
    edits while developing the app, so not worth a watch."""
    resolved = Path(path).resolve()
    if not _PACKAGE_DIRECTORY_NAMES.isdisjoint(resolved.parts):
        return True
    return any(resolved.is_relative_to(directory) for directory in _library_directories())


@functools.cache
def _source_directory(directory: str) -> Path | None:
    """``directory`` resolved, if it holds the app's own code; else None. Cached: a
    rescan asks about the same few directories each time."""
    path = Path(directory).resolve()
    return None if is_library_file(path) else path


def watched_directories(extra_files: Iterable[str | os.PathLike[str]] = ()) -> set[Path]:
    """The directories to watch: those of the loaded modules that are the app's own code,
    and those of ``extra_files`` (wherever they are)."""
    directories: set[Path | None] = set()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str):
            directories.add(_source_directory(os.path.dirname(os.path.abspath(filename))))
    directories.update(Path(filename).resolve().parent for filename in extra_files)
    # Not a zip archive, not deleted since.
    return {directory for directory in directories if directory and directory.is_dir()}


def _source_filter(
    extra_files: Iterable[str | os.PathLike[str]],
) -> Callable[[Change, str], bool]:
    """The test a reported change must pass to count: a Python file (not an editor's
    backup or lock file), or one of ``extra_files``."""
    from watchfiles import PythonFilter

    python_source = PythonFilter()
    extra = frozenset(str(Path(filename).resolve()) for filename in extra_files)

    def counts(change: Change, path: str) -> bool:
        return path in extra or python_source(change, path)

    return counts


async def watch_for_change(
    stop_event: asyncio.Event, extra_files: Iterable[str | os.PathLike[str]] = ()
) -> str | None:
    """Wait until a source file of the app (or one of ``extra_files``) changes and return
    its path; or None as soon as ``stop_event`` is set."""
    from watchfiles import awatch

    extra_files = tuple(extra_files)
    counts = _source_filter(extra_files)
    while not stop_event.is_set():
        directories = watched_directories(extra_files)
        modules_seen = len(sys.modules)
        changes = awatch(
            *directories,
            watch_filter=counts,
            stop_event=stop_event,
            recursive=False,
            rust_timeout=_RESCAN_INTERVAL_MS,
            yield_on_timeout=True,
        )
        async with contextlib.aclosing(changes):
            async for batch in changes:
                if batch:
                    return min(path for _, path in batch)
                if len(sys.modules) != modules_seen:
                    modules_seen = len(sys.modules)
                    if not watched_directories(extra_files) <= directories:
                        break  # modules were imported from a new directory: watch it too
    return None


async def reload_on_change(
    shutdown_event: asyncio.Event, extra_files: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Raise ``MustReloadError`` when a source file changes, after setting
    ``shutdown_event`` so that the server stops; return once it is set otherwise.

    A change seen in the first ``_SHORTEST_RUN`` seconds restarts the server only once
    they are over: a burst of saves (a formatter rewriting the file after the editor),
    or a file touched again and again, cannot keep it from ever serving.
    """
    loop = asyncio.get_running_loop()
    earliest_restart = loop.time() + _SHORTEST_RUN
    changed = await watch_for_change(shutdown_event, extra_files)
    if changed is None:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(earliest_restart):
            await shutdown_event.wait()
    if shutdown_event.is_set():
        return  # asked to stop meanwhile: stopping wins
    print(f" * Detected a change in {changed!r}, restarting", flush=True)
    shutdown_event.set()
    raise MustReloadError(changed)


async def observe_changes(
    sleep: Callable[[float], Awaitable[Any]], shutdown_event: asyncio.Event
) -> None:
    """Quart's name for ``reload_on_change``. ``sleep`` is accepted for Quart's signature
    and not used: the watcher is told of changes rather than polling for them."""
    await reload_on_change(shutdown_event)


def wait_for_change(
    extra_files: Iterable[str | os.PathLike[str]] = (), ready: Callable[[], Any] | None = None
) -> str:
    """Block until a source file of the app, or one of ``extra_files``, changes; its path.
    For a reloader whose app failed to load: there is no server to stop. ``ready`` is
    called once the watch is in place, so that a request to edit a file is not shown
    before an edit would be seen. CTRL+C raises KeyboardInterrupt."""
    from watchfiles import watch

    extra_files = tuple(extra_files)
    changes = watch(
        *watched_directories(extra_files),
        watch_filter=_source_filter(extra_files),
        recursive=False,
        rust_timeout=_READY_AFTER_MS,
        yield_on_timeout=True,
    )
    with contextlib.closing(changes):
        while not (batch := next(changes)):  # an empty batch: no change yet
            if ready is not None:
                ready()
                ready = None
        return min(path for _, path in batch)


def restart() -> None:
    """Replace this process with a fresh run of the same command (for the reloader)."""
    sys.stdout.flush()  # the new process image would lose what is still buffered
    sys.stderr.flush()
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in ("__main__", None):
        name = spec.name[: -len(".__main__")] if spec.name.endswith(".__main__") else spec.name
        args = ["-m", name, *sys.argv[1:]]
    else:
        args = sys.argv
    os.execv(sys.executable, [sys.executable, *args])
