"""URL rules and the map: werkzeug's, able to bind to one of our requests or websockets."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadHost, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import (
    AnyConverter,
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    Map,
    MapAdapter,
    PathConverter,
    Rule,
    RuleFactory,
    UnicodeConverter,
    UUIDConverter,
)

from .shortcuts import rule_converters

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
        host: str | None = None,
        websocket: bool = False,
        provide_automatic_options: bool = False,
        *,
        redirect_to: str | Callable[..., str] | None = None,
        alias: bool = False,
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


# Converters whose to_python depends only on the text matched; a match that used only these
# can be remembered. (A custom converter may, say, load an object from a database.)
_PURE_CONVERTERS = (
    UnicodeConverter,
    IntegerConverter,
    FloatConverter,
    PathConverter,
    UUIDConverter,
    AnyConverter,
)
_MATCH_CACHE_SIZE = 1024


class QuartMap(Map):
    """The app's URL map.

    Outcomes of matching are remembered per (path, method, host part, websocket) where
    they depend on nothing else: a match whose rule uses only werkzeug's own converters,
    and a 404 or 405 when every rule does (a custom converter may reject a value today and
    accept it tomorrow). Adding a rule forgets them all.
    """

    def __init__(
        self,
        rules: Iterable[RuleFactory] | None = None,
        default_subdomain: str = "",
        strict_slashes: bool = True,
        merge_slashes: bool = True,
        redirect_defaults: bool = True,
        converters: Mapping[str, type[BaseConverter]] | None = None,
        sort_parameters: bool = False,
        sort_key: Callable[[Any], Any] | None = None,
        host_matching: bool = False,
    ) -> None:
        self._outcomes: dict[tuple[Any, ...], Any] = {}  # before the rules are added
        self._all_pure: bool | None = None
        super().__init__(
            rules,
            default_subdomain,
            strict_slashes,
            merge_slashes,
            redirect_defaults,
            converters,
            sort_parameters,
            sort_key,
            host_matching,
        )

    def add(self, rulefactory: Any) -> None:
        self._outcomes.clear()
        self._all_pure = None
        super().add(rulefactory)

    def match_request(
        self, key: tuple[Any, ...], adapter: Callable[[], MapAdapter]
    ) -> tuple[Rule, dict[str, Any]]:
        """``adapter().match(return_rule=True)``, remembered where that is safe.

        ``key`` is what the outcome depends on: (path, method, the subdomain or, with
        host matching, the server name, websocket or not). The adapter is only made when
        the outcome is not known yet.
        """
        known = self._outcomes.get(key)
        if known is not None:
            if type(known) is tuple:
                return known[0], dict(known[1])
            raise known()
        try:
            rule, view_args = adapter().match(return_rule=True)
        except (NotFound, MethodNotAllowed) as error:
            if self._rules_are_pure():
                self._remember(key, _refusal(error))
            raise
        if _is_pure(rule):
            self._remember(key, (rule, dict(view_args)))
        return rule, dict(view_args)

    def _remember(self, key: tuple[Any, ...], outcome: Any) -> None:
        if len(self._outcomes) >= _MATCH_CACHE_SIZE:
            self._outcomes.clear()
        self._outcomes[key] = outcome

    def _rules_are_pure(self) -> bool:
        if self._all_pure is None:
            self._all_pure = all(_is_pure(rule) for rule in self.iter_rules())
        return self._all_pure

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
        scheme = request.scheme
        host = _without_default_port(scheme, request.host.lower())
        server_name = (
            host if server_name is None else _without_default_port(scheme, server_name.lower())
        )
        if subdomain is None and not self.host_matching:
            host_parts = host.split(".")
            server_parts = server_name.split(".")
            offset = -len(server_parts)
            if host_parts[offset:] != server_parts:
                # As werkzeug and Quart do: the app is reached under a name it does not
                # know, so only rules without a subdomain could match (and none do).
                warnings.warn(
                    f"The request's host {request.host!r} is not the configured server"
                    f" name {server_name!r} (SERVER_NAME) or a subdomain of it.",
                    UserWarning,
                    stacklevel=2,
                )
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


def _without_default_port(scheme: str, host: str) -> str:
    """``host`` without the port its scheme implies (``example.com:80`` over http)."""
    if host.endswith(":80") and scheme in ("http", "ws"):
        return host[:-3]
    if host.endswith(":443") and scheme in ("https", "wss"):
        return host[:-4]
    return host


def _is_pure(rule: Rule) -> bool:
    return all(isinstance(conv, _PURE_CONVERTERS) for conv in rule_converters(rule).values())


def _refusal(error: NotFound | MethodNotAllowed) -> Callable[[], HTTPException]:
    """A maker of the same 404 or 405 (with the same allowed methods) as ``error``."""
    if isinstance(error, MethodNotAllowed):
        methods = error.valid_methods
        return lambda: MethodNotAllowed(valid_methods=methods)
    return NotFound


@lru_cache(maxsize=256)
def _encode_server_name(server_name: str) -> str:
    """``server_name`` with its host part IDNA-encoded (400 for an invalid host)."""
    host, port_sep, port = server_name.lower().partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise BadHost() from error
    return f"{host}{port_sep}{port}"
