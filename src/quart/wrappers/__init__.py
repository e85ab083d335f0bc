"""Request, response and websocket objects."""

from .base import BaseRequestWebsocket
from .request import Body, Request
from .response import Response
from .websocket import Websocket

__all__ = ["BaseRequestWebsocket", "Body", "Request", "Response", "Websocket"]
