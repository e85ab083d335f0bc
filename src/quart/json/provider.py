"""The app's JSON provider (``app.json``): Flask's, building our response class."""

from __future__ import annotations

from flask.json.provider import DefaultJSONProvider as _FlaskDefaultJSONProvider
from flask.json.provider import JSONProvider

__all__ = ["DefaultJSONProvider", "JSONProvider"]


class DefaultJSONProvider(_FlaskDefaultJSONProvider):
    """Python's ``json`` with Flask's extras: dates as HTTP dates, UUIDs and decimals as
    strings, dataclasses as dicts, ``__html__`` objects as their markup.

    ``sort_keys``, ``ensure_ascii``, ``compact`` and ``mimetype`` are settable on
    ``app.json``; ``response()`` builds ``app.response_class``.
    """
