"""The tagged JSON serializer used for session cookies (Flask's, so cookies interoperate)."""

from flask.json.tag import JSONTag, TaggedJSONSerializer

__all__ = ["JSONTag", "TaggedJSONSerializer"]
