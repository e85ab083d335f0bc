"""A griffe extension for the API reference: the ``.. versionadded::`` and
``.. versionchanged::`` lines of docstrings (Sphinx directives, which Markdown would show
as they are) become a short italic line."""

from __future__ import annotations

import re
from typing import Any

import griffe

_DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\. version(?P<kind>added|changed):: *(?P<version>\S+)(?P<rest>.*)$",
    re.MULTILINE,
)
_WORDS = {"added": "Added", "changed": "Changed"}


def _rewrite(match: re.Match[str]) -> str:
    rest = match["rest"].strip()
    text = f"{_WORDS[match['kind']]} in version {match['version']}"
    if rest:
        text += f": {rest}"
    return f"{match['indent']}*{text}.*"


class VersionDirectives(griffe.Extension):
    """Rewrites the directives in every docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _DIRECTIVE.sub(_rewrite, obj.docstring.value)
