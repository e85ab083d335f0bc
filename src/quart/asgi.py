"""ASGI adapters: an HTTP, websocket or lifespan scope in, framework calls, ASGI messages
out. Each connection kind lives in a module of its own, and this module keeps the import
path that Quart and its extensions use:

- ``quart.asgi_http``: ``ASGIHTTPConnection``, one request and its response;
- ``quart.asgi_websocket``: ``ASGIWebsocketConnection``, the handshake, conversation and
  close;
- ``quart.asgi_lifespan``: ``ASGILifespan``, the app's startup and shutdown;
- ``quart.asgi_channel``: how the HTTP and websocket connections share ``receive`` between
  what the app awaits and a reader that watches for the client leaving;
- ``quart.asgi_headers``: headers as ASGI carries them.
"""

from __future__ import annotations

from .asgi_http import ASGIHTTPConnection
from .asgi_lifespan import ASGILifespan
from .asgi_websocket import ASGIWebsocketConnection

__all__ = ["ASGIHTTPConnection", "ASGILifespan", "ASGIWebsocketConnection"]
