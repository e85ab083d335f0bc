"""Hook registries that tell the app when they change, however they are changed.

The app decides once what each endpoint's requests involve (``quart.plans``) and forgets
its decisions whenever something is registered. The decorators (``before_request`` and
kin) say so themselves, but extensions also change the registries directly: Flask-Caching
appends to ``app.after_request_funcs[None]`` during the first request, and others do
``app.before_request_funcs.setdefault(None, []).append(f)``. These containers report every
change, so the next request is planned from the registries as they are, as in Flask and
Quart, which read them on every request. Reading them costs nothing more than reading a
``dict`` and a ``list``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, SupportsIndex, TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class WatchedList(list[T]):
    """A list that calls ``changed()`` after every change to it."""

    __slots__ = ("_changed",)

    def __init__(self, changed: Callable[[], None], items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self._changed = changed

    def append(self, item: T) -> None:
        super().append(item)
        self._changed()

    def extend(self, items: Iterable[T]) -> None:
        super().extend(items)
        self._changed()

    def insert(self, index: SupportsIndex, item: T) -> None:
        super().insert(index, item)
        self._changed()

    def remove(self, item: T) -> None:
        super().remove(item)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> T:
        item = super().pop(index)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, items: Iterable[T]) -> WatchedList[T]:  # type: ignore[override,misc]
        super().__iadd__(items)
        self._changed()
        return self


class WatchedRegistry(dict[K, list[V]]):
    """A ``defaultdict(list)`` of hooks by blueprint name (None: the app's own) whose
    lists, and the mapping itself, call ``changed()`` after every change."""

    __slots__ = ("_changed",)

    def __init__(
        self, changed: Callable[[], None], source: Mapping[K, Iterable[V]] | None = None
    ) -> None:
        super().__init__()
        self._changed = changed
        for key, funcs in (source or {}).items():
            super().__setitem__(key, WatchedList(changed, funcs))

    def __missing__(self, key: K) -> list[V]:
        funcs: WatchedList[V] = WatchedList(self._changed)
        super().__setitem__(key, funcs)  # an empty list changes nothing yet
        return funcs

    def __setitem__(self, key: K, funcs: Iterable[V]) -> None:
        super().__setitem__(key, WatchedList(self._changed, funcs))
        self._changed()

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self._changed()

    def setdefault(self, key: K, default: Iterable[V] | None = None) -> list[V]:
        if key not in self:
            self[key] = default or ()
        return self[key]

    def pop(self, key: K, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._changed()
        return value

    def clear(self) -> None:
        super().clear()
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, funcs in dict(*args, **kwargs).items():
            self[key] = funcs
