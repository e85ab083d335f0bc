"""The app's JSON provider (``app.json``): Flask's, building our response class."""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider as _FlaskDefaultJSONProvider
from flask.json.provider import JSONProvider

__all__ = ["DefaultJSONProvider", "JSONProvider"]


class DefaultJSONProvider(_FlaskDefaultJSONProvider):
    """Python's ``json`` with Flask's extras: dates as HTTP dates, UUIDs and decimals as
    strings, dataclasses as dicts, ``__html__`` objects as their markup.

    ``sort_keys``, ``ensure_ascii``, ``compact`` and ``mimetype`` are settable on
    ``app.json``; ``response()`` builds ``app.response_class``. Encoders are made once per
    combination of those settings rather than on every call.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self._encoder(None).encode(obj)

    def response(self, *args: Any, **kwargs: Any) -> Any:
        obj = args[0] if len(args) == 1 and not kwargs else self._prepare_response_obj(args, kwargs)
        compact = self.compact
        if compact is None:
            compact = not self._app.debug
        text = self._encoder(bool(compact)).encode(obj)
        return self._app.response_class(text + "\n", mimetype=self.mimetype)

    def _encoder(self, compact: bool | None) -> json.JSONEncoder:
        """A cached encoder: ``compact`` True for the tightest output, False for
        indented output, None for ``json.dumps``'s default spacing."""
        key = (compact, self.default, self.ensure_ascii, self.sort_keys)
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = json.JSONEncoder(
                default=self.default,
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                indent=2 if compact is False else None,
                separators=(",", ":") if compact else None,
            )
            _ENCODERS[key] = encoder
        return encoder


_ENCODERS: dict[tuple[Any, ...], json.JSONEncoder] = {}
