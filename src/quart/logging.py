"""The app's logger: named after the app, with a handler only if logging is not set up."""

from __future__ import annotations

import logging
import sys
from logging.handlers import QueueHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Quart


class _StderrHandler(logging.StreamHandler[Any]):
    """A stream handler writing to whatever ``sys.stderr`` is when a record is
    emitted, not the one there was at import: a test capturing output, or a program
    that replaces ``sys.stderr``, sees the app's log lines."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


#: The handler ``app.logger`` gets when logging is not configured: ``[time] LEVEL in
#: module: message`` to stderr. Remove it to take over: ``app.logger.removeHandler(...)``.
default_handler: logging.Handler = _StderrHandler()
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


class LocalQueueHandler(QueueHandler):
    """A queue handler for a queue in this process: records are queued as they are, not
    prepared for pickling (message merged, arguments and traceback dropped), which a
    listener in the same process does not need and which costs time on every record."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def has_level_handler(logger: logging.Logger) -> bool:
    """Whether a handler in the logger's hierarchy would handle its effective level."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


def create_logger(app: Quart) -> logging.Logger:
    """The logger ``app.logger`` returns: debug level in debug mode (unless a level is
    set), and the default handler only when nothing would otherwise print its records."""
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
