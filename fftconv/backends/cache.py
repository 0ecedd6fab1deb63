"""`PairCache`: the transform pairs a backend keeps for reuse, least recently used dropped
first once they hold too many bytes or too many pairs."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Sized(Protocol):
    nbytes: int


P = TypeVar("P", bound=Sized)


class PairCache(Generic[P]):
    """Pairs by key within ``max_bytes`` and ``max_pairs`` (the most recent pair always
    stays); ``dropped(key)`` is told of every pair let go.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cache = PairCache(max_bytes=100, max_pairs=8)
    >>> cache.put("a", SimpleNamespace(nbytes=60)); cache.put("b", SimpleNamespace(nbytes=60))
    >>> cache.get("a") is None, cache.get("b").nbytes
    (True, 60)
    """

    def __init__(self, max_bytes: int, max_pairs: int, dropped: Callable[[Hashable], None] | None = None):
        self.max_bytes = max_bytes
        self.max_pairs = max_pairs
        self._dropped = dropped
        self._pairs: OrderedDict[Hashable, P] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> P | None:
        """The pair for ``key`` (now the most recently used), or None."""
        with self._lock:
            pair = self._pairs.get(key)
            if pair is not None:
                self._pairs.move_to_end(key)
            return pair

    def put(self, key: Hashable, pair: P) -> None:
        """Keep ``pair`` for ``key`` (replacing any), then drop the least recently used pairs
        beyond the budgets."""
        dropped = []
        with self._lock:
            old = self._pairs.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._pairs[key] = pair
            self._bytes += pair.nbytes
            over = self._bytes > self.max_bytes or len(self._pairs) > self.max_pairs
            while over and len(self._pairs) > 1:
                gone, old = self._pairs.popitem(last=False)
                self._bytes -= old.nbytes
                dropped.append(gone)
                over = self._bytes > self.max_bytes or len(self._pairs) > self.max_pairs
        if self._dropped is not None:
            for gone in dropped:
                self._dropped(gone)

    def drop_where(self, unwanted: Callable[[Hashable], bool]) -> None:
        """Drop the pairs whose key is ``unwanted``.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> cache = PairCache(max_bytes=100, max_pairs=8)
        >>> cache.put("a", SimpleNamespace(nbytes=10)); cache.put("b", SimpleNamespace(nbytes=10))
        >>> cache.drop_where(lambda key: key == "a"); [key for key, _ in cache.items()]
        ['b']
        """
        with self._lock:
            gone = [key for key in self._pairs if unwanted(key)]
            for key in gone:
                self._bytes -= self._pairs.pop(key).nbytes
        if self._dropped is not None:
            for key in gone:
                self._dropped(key)

    def items(self) -> list[tuple[Hashable, P]]:
        """The keys and pairs held, least recently used first."""
        with self._lock:
            return list(self._pairs.items())

    def clear(self) -> None:
        """Drop every pair."""
        with self._lock:
            gone = list(self._pairs)
            self._pairs.clear()
            self._bytes = 0
        if self._dropped is not None:
            for key in gone:
                self._dropped(key)

    def __len__(self) -> int:
        return len(self._pairs)
