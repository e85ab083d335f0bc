"""The tagged JSON serializer of session cookies: compact JSON that also round-trips
bytes, tuples, datetimes, Markup and UUIDs, and dicts whose only key looks like a tag.

It is Flask's own, so that a session cookie written by a Flask app reads here and the
other way round; register a ``JSONTag`` subclass on a serializer to carry more types.

The session cookie codec calls ``_dumps`` and ``_loads`` instead of the serializer's
methods: the same text and values, without walking plain JSON data through eight tag
checks per value (tests/test_session_speed_paths.py holds them to the serializer's).
"""

from __future__ import annotations

import json
from _json import make_encoder
from json.encoder import encode_basestring_ascii
from json.scanner import make_scanner
from typing import Any

import flask.globals
from flask.json.tag import (
    JSONTag,
    PassDict,
    PassList,
    TagBytes,
    TagDateTime,
    TagDict,
    TaggedJSONSerializer,
    TagMarkup,
    TagTuple,
    TagUUID,
)

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]

_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})
_DEFAULT_TAG_KINDS = tuple(TaggedJSONSerializer.default_tags)
# Assigned, not imported: see the note in quart/globals.py.
_flask_app_context = flask.globals._cv_app


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# What TaggedJSONSerializer.dumps writes for plain data (Python's json, compact, ASCII),
# as one reusable C encoder: json.dumps makes a new encoder for every call with options.
# No circular check is needed: ``_is_plain`` walks the value first, and recurses on a
# value that holds itself until RecursionError, as the serializer's tagging does.
_encode_compact = make_encoder(
    None, _not_json, encode_basestring_ascii, None, ":", ",", False, False, True
)
# json.loads without its two whitespace-skipping regular expressions: the scanner alone.
# (typeshed names the scanner's own type as its argument; any JSONDecoder is one.)
_scan_json = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


class _DefaultTags:
    """Whether a serializer still has exactly the tags it was made with, Flask's
    defaults: only then do values made of JSON's own types pass its tagging unchanged,
    and only object keys that start with a space (as every default tag's does) untag.

    The check compares the serializer's tag list and tag table with copies taken when
    it was first seen (a few identity comparisons); any ``register`` changes both.
    """

    __slots__ = ("_order", "_serializer", "_tags")

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self._serializer = serializer
        self._order = list(serializer.order)
        self._tags = dict(serializer.tags)

    @classmethod
    def of(cls, serializer: TaggedJSONSerializer) -> _DefaultTags | None:
        """The snapshot for ``serializer`` when it has only the default tags, else None."""
        order = serializer.order
        if tuple(type(tag) for tag in order) != _DEFAULT_TAG_KINDS:
            return None
        if any(tag.serializer is not serializer for tag in order):
            return None
        if serializer.tags != {tag.key: tag for tag in order if tag.key}:
            return None
        return cls(serializer)

    def unchanged(self) -> bool:
        """Still the defaults, and no Flask app context would change how JSON is
        written (Flask's serializer then uses that app's JSON provider)."""
        serializer = self._serializer
        return (
            serializer.order == self._order
            and serializer.tags == self._tags
            and _flask_app_context.get(None) is None
        )


def _is_plain(value: dict[Any, Any] | list[Any], tag_keys: dict[str, JSONTag]) -> bool:
    """Whether the dict or list ``value`` holds only JSON's own types (exactly: no
    subclasses, such as Markup), and no lone key a default tag claims: what tagging
    returns unchanged."""
    if type(value) is dict:
        lone = len(value) == 1
        for key, item in value.items():
            if type(key) is not str or (lone and key in tag_keys):
                return False  # TagDict escapes a lone key that looks like a tag
            kind = type(item)
            if kind not in _JSON_SCALARS and not (
                (kind is dict or kind is list) and _is_plain(item, tag_keys)
            ):
                return False
        return True
    for item in value:
        kind = type(item)
        if kind not in _JSON_SCALARS and not (
            (kind is dict or kind is list) and _is_plain(item, tag_keys)
        ):
            return False
    return True


def _dumps(serializer: TaggedJSONSerializer, tags: _DefaultTags | None, value: Any) -> str:
    """``serializer.dumps(value)``, without the tagging walk (eight checks per value)
    when ``tags`` vouches for the serializer and ``value`` is a dict of plain JSON data."""
    if (
        tags is not None
        and type(value) is dict
        and tags.unchanged()
        and _is_plain(value, serializer.tags)
    ):
        return "".join(_encode_compact(value, 0))
    return serializer.dumps(value)


def _loads(serializer: TaggedJSONSerializer, tags: _DefaultTags | None, text: str) -> Any:
    """``serializer.loads(text)``, without the untagging walk when no object key in
    ``text`` can start with a space, so nothing untags: without a backslash in ``text``
    a key is written as its own characters between quotes."""
    if tags is not None and '" ' not in text and "\\" not in text and tags.unchanged():
        try:
            value, end = _scan_json(text, 0)
        except StopIteration:  # not JSON, or whitespace first: the serializer decides
            return serializer.loads(text)
        if end == len(text):  # else there is more after the value: the same
            return value
    return serializer.loads(text)
