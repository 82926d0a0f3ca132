"""A small in-process cache with a time to live, for hot lookups on the webhook path."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

_MISSING = object()


class TTLCache:
    """Values remembered for `ttl_s` seconds; `drop` forgets one at once (after bind/unbind).

    Safe to share between threads in CPython: every operation is a single dict call. It only
    ever saves reads; whoever relies on a cached value that could have changed in another
    process must check it where it matters.
    """

    def __init__(
        self, ttl_s: float, *, max_items: int = 200_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl_s = ttl_s
        self.max_items = max_items
        self.clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, or `load()` remembered (None results are not cached)."""
        now = self.clock()
        hit = self._items.get(key, _MISSING)
        if hit is not _MISSING and hit[0] > now:
            return hit[1]
        value = load()
        if value is not None:
            self.put(key, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The cached value of `key`, or None when it is absent or expired."""
        hit = self._items.get(key, _MISSING)
        return hit[1] if hit is not _MISSING and hit[0] > self.clock() else None

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._items) >= self.max_items:
            self._items.clear()  # crude but bounded; a refill costs one read per key
        self._items[key] = (self.clock() + self.ttl_s, value)

    def drop(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
