"""Class-based views: ``View`` (one ``dispatch_request`` for every method) and
``MethodView`` (a method per HTTP method), turned into view functions by ``as_view``.

Either kind may define its handlers as ``async def`` or plain ``def``: sync ones run in
the thread pool, through ``current_app.ensure_async``, like sync view functions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, ClassVar

from werkzeug.exceptions import MethodNotAllowed

from .globals import current_app, request
from .typing import ResponseReturnValue, RouteCallable

__all__ = ["MethodView", "View", "http_method_funcs"]

#: The method names ``MethodView`` looks for, one per HTTP method it can dispatch.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """A view as a class: subclass it, override ``dispatch_request`` and register
    ``YourView.as_view("endpoint")`` with ``app.add_url_rule``.

    Class attributes configure the view function ``as_view`` makes: ``methods`` (the
    methods the route accepts, as the ``route`` decorator's), ``provide_automatic_options``,
    ``decorators`` (applied to the view function in order, so the first is innermost)
    and ``init_every_request`` (a new instance per request, or one shared by all).
    """

    methods: ClassVar[Collection[str] | None] = None
    provide_automatic_options: ClassVar[bool | None] = None
    decorators: ClassVar[list[Callable[..., Any]]] = []
    #: True: each request gets a new instance, so ``self`` may hold per-request state.
    #: False: one instance, made by ``as_view``, serves every request (cheaper, but
    #: ``self`` is then shared by concurrent requests: keep request data off it).
    init_every_request: ClassVar[bool] = True

    async def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue:
        """Handle a request; ``kwargs`` are the URL's variables. Override it (sync or
        async); the base class has no response to give."""
        raise NotImplementedError(
            f"{type(self).__name__} must override dispatch_request to handle requests."
        )

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> RouteCallable:
        """A view function for ``add_url_rule``, named ``name`` (the endpoint by
        default). ``class_args`` and ``class_kwargs`` are passed to the constructor."""
        if cls.init_every_request:

            async def view(**kwargs: Any) -> Any:
                instance = cls(*class_args, **class_kwargs)
                return await current_app.ensure_async(instance.dispatch_request)(**kwargs)

        else:
            shared = cls(*class_args, **class_kwargs)

            async def view(**kwargs: Any) -> Any:
                return await current_app.ensure_async(shared.dispatch_request)(**kwargs)

        function: Any = view
        if cls.decorators:
            # Decorators see the final name and module, as they would on a function view.
            function.__name__ = name
            function.__module__ = cls.__module__
            for decorator in cls.decorators:
                function = decorator(function)
        # Set on the outermost function: that is what add_url_rule reads.
        function.view_class = cls
        function.__name__ = name
        function.__doc__ = cls.__doc__
        function.__module__ = cls.__module__
        function.methods = cls.methods
        function.provide_automatic_options = cls.provide_automatic_options
        view_function: RouteCallable = function
        return view_function


class MethodView(View):
    """A view that dispatches each request to the method named after its HTTP method
    (``get``, ``post``, ...; sync or async). ``HEAD`` falls back to ``get``.

    ``methods`` is worked out from the handlers a subclass (or its bases) defines, unless
    the subclass sets it itself.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" in cls.__dict__:
            return
        methods: set[str] = set()
        for base in cls.__bases__:
            inherited = getattr(base, "methods", None)
            if inherited:
                methods.update(inherited)
        for name in http_method_funcs:
            if callable(getattr(cls, name, None)):
                methods.add(name.upper())
        if methods:
            cls.methods = methods

    async def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue:
        """Call the handler for the request's method with the URL's variables."""
        method = request.method
        handler = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            # The route accepts a method this class has no handler for (``methods``
            # set by hand): refuse it as routing would, naming the ones it handles.
            raise MethodNotAllowed(valid_methods=sorted(self._handled_methods()))
        result: ResponseReturnValue = await current_app.ensure_async(handler)(**kwargs)
        return result

    def _handled_methods(self) -> set[str]:
        handled = {name.upper() for name in http_method_funcs if hasattr(self, name)}
        if "GET" in handled:
            handled.add("HEAD")
        return handled
