"""Response and request headers as ASGI carries them (lower-cased latin-1 byte pairs), and
the check that keeps a header name from ending its line."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import Headers

# Headers whose few distinct values recur on nearly every response; their ASGI encoding is
# kept. Others (cookies, locations, ETags) are encoded each time and never kept.
_RECURRING_HEADERS = frozenset(
    {"Content-Type", "Content-Length", "Vary", "Cache-Control", "Allow", "Accept-Ranges"}
)
_ENCODED: dict[tuple[str, str], tuple[bytes, bytes]] = {}


def check_header_names(headers: Iterable[tuple[str, str]]) -> None:
    """Refuse a header name that could end the header line (werkzeug checks values, not
    names): one built from a client's text must never inject a header of its own."""
    for name, _value in headers:
        if "\n" in name or "\r" in name or ":" in name:
            raise ValueError(f"The header name {name!r} contains a line break or a colon.")


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI wants them: lower-cased latin-1 names and latin-1 values. A name
    with a line break is refused here too, whichever way it was set."""
    encoded = []
    for pair in headers:
        item = _ENCODED.get(pair)
        if item is None:
            name, value = pair
            if "\n" in name or "\r" in name or ":" in name:
                check_header_names(headers)  # raises, naming the header
            item = (name.lower().encode("latin1"), value.encode("latin1"))
            if name in _RECURRING_HEADERS and len(_ENCODED) < 1024:
                _ENCODED[pair] = item
        encoded.append(item)
    return encoded


def decode_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """An ASGI header list as a werkzeug ``Headers`` object."""
    return Headers([(key.decode("latin1"), value.decode("latin1")) for key, value in headers])
