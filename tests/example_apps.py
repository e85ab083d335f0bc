"""The runnable examples (``examples/<name>/app.py``) imported by tests. They are scripts,
not packages, so they are loaded by path."""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> ModuleType:
    """``examples/<name>/app.py``, imported afresh on each call, so that every test gets
    its own app and its own state (a chat room, a session store)."""
    spec = importlib.util.spec_from_file_location(
        f"examples_{name}_app", EXAMPLES / name / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and the like look their module up here
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


# Reading the blog example's pages (examples/blog/templates).


def csrf_in(text: str) -> str:
    """The CSRF token of the first form on the page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None
    return found.group(1)


def flashes(text: str) -> list[str]:
    """The flashed messages shown on the page."""
    return [
        html.unescape(m)
        for m in re.findall(r'<p class="flash [^"]*" role="status">(.*?)</p>', text)
    ]


def post_titles(text: str) -> list[str]:
    """The titles of the posts listed on the page, in order."""
    return [
        html.unescape(m)
        for m in re.findall(r'<article class="post"[^>]*>.*?<h2>(.*?)</h2>', text, re.S)
    ]
