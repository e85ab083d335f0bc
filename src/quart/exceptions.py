"""Exceptions of the framework, and werkzeug's HTTP exceptions under one roof.

``ConnectionClosed`` is ours: the client has gone (an HTTP client disconnected while its
body was awaited, or a websocket closed). It subclasses ``asyncio.CancelledError`` so that
code written either way sees it: ``except ConnectionClosed`` as documented, or
``except asyncio.CancelledError`` (re-raising) as many Quart handlers do. A disconnect that
leaves a view or handler ends the conversation quietly: no error handler, no error log.
"""

from __future__ import annotations

import asyncio

from werkzeug.exceptions import (
    BadGateway,
    BadHost,
    BadRequest,
    BadRequestKeyError,
    Conflict,
    ExpectationFailed,
    FailedDependency,
    Forbidden,
    GatewayTimeout,
    Gone,
    HTTPException,
    HTTPVersionNotSupported,
    ImATeapot,
    InternalServerError,
    LengthRequired,
    Locked,
    MethodNotAllowed,
    MisdirectedRequest,
    NotAcceptable,
    NotFound,
    NotImplemented,
    PreconditionFailed,
    PreconditionRequired,
    RequestedRangeNotSatisfiable,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    RequestURITooLarge,
    SecurityError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnavailableForLegalReasons,
    UnprocessableEntity,
    UnsupportedMediaType,
)

__all__ = [
    "BadGateway",
    "BadHost",
    "BadRequest",
    "BadRequestKeyError",
    "Conflict",
    "ConnectionClosed",
    "ExpectationFailed",
    "FailedDependency",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "HTTPException",
    "HTTPVersionNotSupported",
    "ImATeapot",
    "InternalServerError",
    "LengthRequired",
    "Locked",
    "MethodNotAllowed",
    "MisdirectedRequest",
    "NotAcceptable",
    "NotFound",
    "NotImplemented",
    "PreconditionFailed",
    "PreconditionRequired",
    "RequestEntityTooLarge",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "RequestURITooLarge",
    "RequestedRangeNotSatisfiable",
    "SecurityError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnavailableForLegalReasons",
    "UnprocessableEntity",
    "UnsupportedMediaType",
]


class ConnectionClosed(asyncio.CancelledError):
    """The client has gone; raised by a pending or later receive, send or body read.

    ``code`` and ``reason`` are the websocket close code and reason when there is one
    (1006, abnormal closure, when the connection just dropped).

    .. versionadded:: 0.20
    """

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
