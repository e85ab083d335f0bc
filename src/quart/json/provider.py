"""The app's JSON provider (``app.json``): Flask's, building our response class."""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

try:
    from _json import make_encoder
except ImportError:  # an interpreter without the C accelerator
    make_encoder = None  # type: ignore[assignment,misc]

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
        return self._encode_function(None)(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs or not isinstance(s, bytes) or s.startswith(_BOMS) or b"\x00" in s[:4]:
            return json.loads(s, **kwargs)
        # Plain UTF-8, what nearly every client sends, decoded here: ``json.loads`` would
        # first look for UTF-16 and UTF-32, and bodies in those took the branch above.
        return _DECODER.decode(s.decode("utf-8", "surrogatepass"))

    def response(self, *args: Any, **kwargs: Any) -> Any:
        obj = args[0] if len(args) == 1 and not kwargs else self._prepare_response_obj(args, kwargs)
        compact = self.compact
        if compact is None:
            compact = not self._app.config["DEBUG"]
        text = self._encode_function(bool(compact))(obj)
        return self._app.response_class(text + "\n", mimetype=self.mimetype)

    def _encode_function(self, compact: bool | None) -> Callable[[Any], str]:
        """A cached ``encode(obj) -> str``: ``compact`` True for the tightest output,
        False for indented output, None for ``json.dumps``'s default spacing."""
        key = (compact, self.default, self.ensure_ascii, self.sort_keys)
        encode = _ENCODE_FUNCTIONS.get(key)
        if encode is None:
            encoder = json.JSONEncoder(
                default=self.default,
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                indent=2 if compact is False else None,
                separators=(",", ":") if compact else None,
            )
            encode = _ENCODE_FUNCTIONS[key] = _direct_encode(encoder)
        return encode


def _direct_encode(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode``, calling the C encoder directly for unindented output (what
    ``encode`` does too, through two layers of Python on every call)."""
    if make_encoder is None or encoder.indent is not None:
        return encoder.encode
    default = encoder.default
    string = encode_basestring_ascii if encoder.ensure_ascii else encode_basestring
    key_separator, item_separator = encoder.key_separator, encoder.item_separator
    sort_keys, skip_keys, allow_nan = encoder.sort_keys, encoder.skipkeys, encoder.allow_nan

    def encode(obj: Any) -> str:
        # A fresh markers dict each call: it is how circular references are detected.
        make = make_encoder(
            {},
            default,
            string,
            None,
            key_separator,
            item_separator,
            sort_keys,
            skip_keys,
            allow_nan,
        )
        return "".join(make(obj, 0))

    return encode


_DECODER = json.JSONDecoder()
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_ENCODE_FUNCTIONS: dict[tuple[Any, ...], Callable[[Any], str]] = {}
