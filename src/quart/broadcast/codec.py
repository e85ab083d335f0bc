"""How a message travels: a kind tag that keeps text, bytes and JSON apart, and the
stream ids that order messages and let a subscriber resume.

On Redis a payload is one tag byte and the body: ``s`` UTF-8 text, ``b`` raw bytes, ``j``
JSON text. With history, the published form is prefixed with the message's stream id
and a colon (``1700000000000-0:shello``); an id starts with a digit, a tag never does,
so a reader tells the two apart by the first byte. The in-process backend keeps the
same envelopes without the bytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "BYTES",
    "JSON",
    "STR",
    "Envelope",
    "IdClock",
    "MessageKey",
    "format_id",
    "from_wire",
    "pack",
    "parse_id",
    "successor",
    "to_wire",
]

#: Message kinds, which are also the tag bytes on the wire.
STR = 0x73  # "s"
BYTES = 0x62  # "b"
JSON = 0x6A  # "j"
_KINDS = frozenset((STR, BYTES, JSON))

#: A message id as numbers: (milliseconds, sequence), ordered as Redis orders them.
MessageKey = tuple[int, int]

_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")
_MAX = 2**64 - 1


class Envelope:
    """One published message as subscribers share it: decoded once per process, never
    mutated, so the same object sits in every subscriber's queue. A JSON ``value`` is
    still text: each subscriber decodes its own copy when it takes the message."""

    __slots__ = ("id", "key", "kind", "value")

    def __init__(
        self, message_id: str | None, key: MessageKey | None, kind: int, value: str | bytes
    ) -> None:
        self.id = message_id
        self.key = key
        self.kind = kind
        self.value = value


def pack(message: Any, dumps: Callable[[Any], str]) -> tuple[int, str | bytes]:
    """The kind and value of ``message``: str and bytes pass as they are (subclasses and
    bytes-like objects become plain ``str``/``bytes``, so both backends deliver the same
    types); anything else is encoded as JSON here, so that what cannot be encoded fails
    in ``publish`` (``TypeError``), not in a subscriber."""
    kind = type(message)
    if kind is str:
        return STR, message
    if kind is bytes:
        return BYTES, message
    if isinstance(message, str):
        return STR, str.__str__(message)
    if isinstance(message, (bytes, bytearray, memoryview)):
        return BYTES, bytes(message)
    return JSON, dumps(message)


def to_wire(kind: int, value: str | bytes) -> bytes:
    """The Redis payload: the tag byte and the body (text as UTF-8; lone surrogates
    survive the trip, as they do in memory)."""
    body = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return bytes((kind,)) + body


def from_wire(data: bytes, message_id: bytes | None = None) -> Envelope:
    """The envelope of a Redis payload, with its id from the stream entry (``message_id``) or
    from the published form's prefix. ``ValueError`` for what no broadcast published."""
    if data[:1].isdigit():
        message_id, _, data = data.partition(b":")
    if not data or data[0] not in _KINDS:
        raise ValueError("not a broadcast payload")
    kind = data[0]
    body = data[1:]
    value: str | bytes = body.decode("utf-8", "surrogatepass") if kind == STR else body
    if message_id is None:
        return Envelope(None, None, kind, value)
    milliseconds, _, sequence = message_id.partition(b"-")
    key = (int(milliseconds), int(sequence or b"0"))
    return Envelope(message_id.decode("ascii"), key, kind, value)


def parse_id(text: str) -> MessageKey:
    """The key of a message id (``"1700000000000-0"``, or ``"1700000000000"`` for its
    first sequence number); ``ValueError`` for anything else."""
    if not isinstance(text, str):
        raise TypeError(f"A message id is a str, not {type(text).__name__}.")
    match = _ID.fullmatch(text)
    if match is not None:
        milliseconds, sequence = int(match[1]), int(match[2] or 0)
        if milliseconds <= _MAX and sequence <= _MAX:
            return milliseconds, sequence
    raise ValueError(
        f"{text[:64]!r} is not a broadcast message id (ids look like '1700000000000-0')."
    )


def format_id(key: MessageKey) -> str:
    return f"{key[0]}-{key[1]}"


def successor(key: MessageKey) -> MessageKey:
    """The smallest id after ``key``: replay starts there (an exclusive start that also
    works on Redis older than 6.2)."""
    milliseconds, sequence = key
    if sequence < _MAX:
        return milliseconds, sequence + 1
    return milliseconds + 1, 0


class IdClock:
    """Ids for the in-process backend, shaped and ordered like Redis stream ids (wall
    clock milliseconds, then a sequence), so that an id a browser kept across a restart
    still compares correctly."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: MessageKey = (0, 0)

    def next(self) -> MessageKey:
        milliseconds = time.time_ns() // 1_000_000
        last_milliseconds, sequence = self._last
        if milliseconds <= last_milliseconds:
            self._last = (last_milliseconds, sequence + 1)
        else:
            self._last = (milliseconds, 0)
        return self._last
