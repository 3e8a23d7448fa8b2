"""What an event's subscribers share while they take it, kept briefly."""

import time
from collections import deque
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A dict whose entries go `seconds` after they were put, or sooner past `size` entries
    (the oldest first). A thousand subscribers read an entry in a row, so reading is a dict
    read: entries are dropped only as others are put (cachetools' TTLCache checks the clock
    and expires on every read: a tenth of a subscriber's cost here)."""

    def __init__(self, size: int, seconds: float) -> None:
        self._size = size
        self._seconds = seconds
        self._values: dict[K, V] = {}
        self._puts: deque[tuple[float, K]] = deque()

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        now = time.monotonic()
        puts, values = self._puts, self._values
        while puts and (puts[0][0] <= now or len(values) >= self._size):
            values.pop(puts.popleft()[1], None)
        values[key] = value
        puts.append((now + self._seconds, key))
        return value
