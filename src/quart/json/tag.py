"""The tagged JSON serializer of session cookies: compact JSON that also round-trips
bytes, tuples, datetimes, Markup and UUIDs, and dicts whose only key looks like a tag.

It is Flask's own, so that a session cookie written by a Flask app reads here and the
other way round; register a ``JSONTag`` subclass on a serializer to carry more types.
"""

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
