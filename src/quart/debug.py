"""The debug page: the traceback of an unhandled exception, shown in debug mode only.

With ``app.debug`` on (and ``app.testing`` off), an exception no error handler takes is
answered with this page instead of the generic 500, so the developer sees what went wrong
in the browser. It shows the exception chain and, for each frame, the file, line, function
and source line, with the app's own frames set apart from library ones. It shows no
configuration, environment or local variables: a debug page left on by mistake must give
away as little as possible. Everything is escaped.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import traceback
from functools import lru_cache

from markupsafe import escape

from . import globals as _globals
from .wrappers import Response

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app

__all__ = ["render_traceback", "traceback_response"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
.message {{ font-size: 1.1em; white-space: pre-wrap; background: #fdecea; padding: 0.6em; }}
.chain {{ margin: 1.5em 0 0.5em; font-style: italic; color: #555; }}
ol.frames {{ list-style: none; padding: 0; }}
.frame {{ margin: 0.4em 0; padding: 0.4em 0.6em; border-left: 4px solid #ccc; }}
.frame.app {{ border-left-color: #c0392b; background: #fff8f0; }}
.frame.library {{ color: #666; }}
.location {{ font-size: 0.9em; }}
pre {{ margin: 0.3em 0 0; white-space: pre-wrap; }}
.note {{ margin-top: 2em; font-size: 0.85em; color: #666; }}
</style>
</head>
<body>
<h1>{title}</h1>
{sections}
<p class="note">This page is shown because the app runs in debug mode. Never run a
production server in debug mode.</p>
</body>
</html>
"""

_SECTION = """<div class="exception">
<p class="message">{message}</p>
<p>Traceback (most recent call last):</p>
<ol class="frames">
{frames}
</ol>
</div>"""

_FRAME = """<li class="frame {kind}">
<div class="location">File <code>{filename}</code>, line {lineno}, in <code>{name}</code>\
{marker}</div>
<pre>{line}</pre>
</li>"""

_REPEATED = '<li class="repeated">[The frame above repeated {count} more time{s}]</li>'
_REPEATS_SHOWN = 3  # identical frames in a row shown before the rest are counted

_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


@lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    """Directories whose files are never the app's: the standard library, installed
    packages, and this package. Worked out once: they do not change while running."""
    paths = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        paths.add(user_site)
    dirs = {os.path.abspath(path) + os.sep for path in paths if path}
    dirs.add(_PACKAGE_DIR)
    return tuple(sorted(dirs))


def _is_app_file(filename: str, root_path: str | None) -> bool:
    """Whether ``filename`` is one of the app's own files: under its root path and not
    in an installed package (a virtual environment inside the project, say)."""
    if root_path is None or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if not path.startswith(os.path.abspath(root_path) + os.sep):
        return False
    return not path.startswith(_library_dirs()) and "site-packages" not in path


def _chain(error: BaseException) -> list[tuple[traceback.TracebackException, str | None]]:
    """The exceptions to show, oldest first (as Python prints them), each with the words
    that lead on to the next one."""
    links: list[tuple[traceback.TracebackException, str | None]] = []
    current: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        error
    )
    link: str | None = None
    while current is not None:
        links.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    links.reverse()
    return links


def _render_frames(stack: traceback.StackSummary, root_path: str | None) -> str:
    """The frames as list items. A frame repeated many times in a row (deep recursion)
    is shown a few times and then counted, as Python's own tracebacks do."""
    items: list[str] = []
    previous: tuple[str, int | None, str] | None = None
    repeats = 0

    def count_hidden() -> None:
        hidden = repeats - _REPEATS_SHOWN
        if hidden > 0:
            items.append(_REPEATED.format(count=hidden, s="" if hidden == 1 else "s"))

    for frame in stack:
        key = (frame.filename, frame.lineno, frame.name)
        if key == previous:
            repeats += 1
        else:
            count_hidden()
            previous, repeats = key, 1
        if repeats <= _REPEATS_SHOWN:
            items.append(_render_frame(frame, root_path))
    count_hidden()
    return "\n".join(items)


def _render_frame(frame: traceback.FrameSummary, root_path: str | None) -> str:
    is_app = _is_app_file(frame.filename, root_path)
    return _FRAME.format(
        kind="app" if is_app else "library",
        filename=escape(frame.filename),
        lineno=escape(frame.lineno),
        name=escape(frame.name),
        marker=" <strong>(app)</strong>" if is_app else "",
        line=escape((frame.line or "").strip()),
    )


def render_traceback(error: BaseException, root_path: str | None = None) -> str:
    """The debug page for ``error`` as HTML. Frames from files under ``root_path`` (the
    app's root path) are marked as the app's.

    .. versionadded:: 0.20
    """
    sections: list[str] = []
    for exc, link in _chain(error):
        frames = _render_frames(exc.stack, root_path)
        message = "".join(exc.format_exception_only()).strip()
        sections.append(_SECTION.format(message=escape(message), frames=frames))
        if link is not None:
            sections.append(f'<p class="chain">{escape(link)}</p>')
    exc_type = type(error)
    title = f"{exc_type.__module__}.{exc_type.__qualname__}"
    if exc_type.__module__ == "builtins":
        title = exc_type.__qualname__
    return _PAGE.format(title=escape(title), sections="\n".join(sections))


async def traceback_response(error: BaseException | None = None) -> Response:
    """A 500 response showing the traceback of ``error`` (by default, the exception
    being handled), made with the current app's response class if there is an app
    context. For debug mode only: it shows the app's source lines.
    """
    if error is None:
        error = sys.exception()
        if error is None:
            raise ValueError("No exception given and none is being handled.")
    ctx = _cv_app.get(None)
    if ctx is not None:
        app = ctx.app
        page = render_traceback(error, app.root_path)
        return app.response_class(page, 500)
    return Response(render_traceback(error), 500)
