"""`Registry`: named plug-ins, added and removed at run time. The executors
(`fftconv.executors.registry`) and the FFT backends (`fftconv.backends`) each keep one; this
module imports nothing from fftconv, so every layer may use it."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Plug-ins of one ``kind`` by name, in registration order, with a ``generation`` that
    changes on every addition or removal (caches of what they decide key on it).

    Examples
    --------
    >>> colours = Registry("colour")
    >>> colours.add("red", (255, 0, 0))
    (255, 0, 0)
    >>> colours.get("blue")
    Traceback (most recent call last):
    ...
    KeyError: "no colour named 'blue'; registered: red"
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.generation = 0
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def add(self, name: str, item: T) -> T:
        """Register ``item`` as ``name`` (which must be new); returns it."""
        with self._lock:
            if name in self._items:
                raise ValueError(f"a {self.kind} named {name!r} is registered already")
            self._items[name] = item
            self.generation += 1
        return item

    def remove(self, name: str) -> None:
        """Forget ``name``."""
        with self._lock:
            if name not in self._items:
                raise KeyError(f"no {self.kind} named {name!r}")
            del self._items[name]
            self.generation += 1

    def get(self, name: str, error: type[Exception] = KeyError) -> T:
        """The plug-in called ``name``; ``error`` (with the registered names) if none is."""
        try:
            return self._items[name]
        except KeyError:
            raise error(f"no {self.kind} named {name!r}; registered: {', '.join(self._items)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def values(self) -> tuple[T, ...]:
        return tuple(self._items.values())
