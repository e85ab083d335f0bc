"""Per-route limits: one view may accept a larger (or smaller) body than the app's
configuration allows, without raising the limit for every other route.

```python
@app.post("/upload")
@route_limits(max_content_length=1024**3, body_timeout=600)
async def upload():
    ...
```

The limits replace ``MAX_CONTENT_LENGTH``, ``BODY_TIMEOUT``, ``MAX_FORM_MEMORY_SIZE`` and
``MAX_FORM_PARTS`` for the requests that route matches, before any hook or the view
reads the body; a view can still change them for its own request (``request.max_content_length
= ...``) before it reads. Each is a number: a route with no limit at all is left to a
server or proxy in front of it.

.. versionadded:: 0.20
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["route_limits"]

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute of a view function that holds its limits.
LIMITS_ATTRIBUTE = "__quart_route_limits__"
_UNSET: Any = object()


def route_limits(
    *,
    max_content_length: int = _UNSET,
    body_timeout: float = _UNSET,
    max_form_memory_size: int = _UNSET,
    max_form_parts: int = _UNSET,
) -> Callable[[F], F]:
    """Set the body limits of the view it decorates (in any order with the route
    decorator); the limits not given stay the app's."""
    given = {
        name: value
        for name, value in (
            ("max_content_length", max_content_length),
            ("body_timeout", body_timeout),
            ("max_form_memory_size", max_form_memory_size),
            ("max_form_parts", max_form_parts),
        )
        if value is not _UNSET
    }
    if not given:
        raise TypeError("route_limits() needs at least one limit.")
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise TypeError(f"route_limits({name}=...) is a number of bytes or seconds.")

    def decorate(view: F) -> F:
        setattr(view, LIMITS_ATTRIBUTE, {**getattr(view, LIMITS_ATTRIBUTE, {}), **given})
        return view

    return decorate


def limits_by_endpoint(view_functions: Mapping[str, Callable[..., Any]]) -> dict[str, Any]:
    """The limits of every view that has some, by endpoint."""
    found = {}
    for endpoint, view in view_functions.items():
        limits = getattr(view, LIMITS_ATTRIBUTE, None)
        if limits:
            found[endpoint] = limits
    return found
