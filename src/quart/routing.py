"""URL rules and the map: werkzeug's, able to bind to one of our requests or websockets."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadHost
from werkzeug.routing import Map, MapAdapter, Rule

if TYPE_CHECKING:
    from .wrappers.base import BaseRequestWebsocket


class QuartRule(Rule):
    """A URL rule; ``websocket=True`` makes it match websocket handshakes only."""

    def __init__(
        self,
        string: str,
        defaults: dict[str, Any] | None = None,
        subdomain: str | None = None,
        methods: Iterable[str] | None = None,
        endpoint: str | None = None,
        strict_slashes: bool | None = None,
        merge_slashes: bool | None = None,
        redirect_to: str | None = None,
        alias: bool = False,
        host: str | None = None,
        websocket: bool = False,
        provide_automatic_options: bool = False,
    ) -> None:
        super().__init__(
            string,
            defaults=defaults,
            subdomain=subdomain,
            methods=methods,
            endpoint=endpoint,
            strict_slashes=strict_slashes,
            merge_slashes=merge_slashes,
            redirect_to=redirect_to,
            alias=alias,
            host=host,
            websocket=websocket,
        )
        self.provide_automatic_options = provide_automatic_options


class QuartMap(Map):
    """The app's URL map."""

    def bind_to_request(
        self,
        request: BaseRequestWebsocket,
        subdomain: str | None,
        server_name: str | None,
    ) -> MapAdapter:
        """Bind the map to a request: its host, root path, scheme, method and path.

        Without ``server_name`` the request's host is the server name. The subdomain, when
        not given, is what the host has in front of the server name (``<invalid>`` when
        the host is not under it, so that subdomain rules do not match).
        """
        host = request.host.lower()
        server_name = host if server_name is None else server_name.lower()
        if subdomain is None and not self.host_matching:
            host_parts = host.split(".")
            server_parts = server_name.split(".")
            offset = -len(server_parts)
            if host_parts[offset:] != server_parts:
                subdomain = "<invalid>"
            else:
                subdomain = ".".join(part for part in host_parts[:offset] if part)
        # What Map.bind does, minus the IDNA encoding of the host, which is cached.
        return MapAdapter(
            self,
            _encode_server_name(server_name),
            request.root_path or "/",
            subdomain if subdomain is not None or self.host_matching else self.default_subdomain,
            request.scheme,
            request.path,
            request.method,
            request.query_string.decode("latin1"),
        )


@lru_cache(maxsize=256)
def _encode_server_name(server_name: str) -> str:
    """``server_name`` with its host part IDNA-encoded (400 for an invalid host)."""
    host, port_sep, port = server_name.lower().partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise BadHost() from error
    return f"{host}{port_sep}{port}"
