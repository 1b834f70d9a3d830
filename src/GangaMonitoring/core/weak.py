"""A value kept per object, for as long as the object lives."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class PerObject(Generic[V]):
    """A value kept per object, held through a weak reference: it goes when the object goes.

    Objects are told apart by identity (Ganga's objects are neither hashable
    by value nor all weakly keyable in a dict); a value is found only for the
    very object it was put for.  Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[int, tuple[weakref.ref[Any], V]] = {}

    def get(self, obj: Any) -> V | None:
        with self._lock:
            found = self._values.get(id(obj))
        if found is None or found[0]() is not obj:
            return None
        return found[1]

    def put(self, obj: Any, value: V) -> None:
        key = id(obj)

        def gone(ref: weakref.ref[Any], key: int = key) -> None:
            with self._lock:
                current = self._values.get(key)
                if current is not None and current[0] is ref:
                    del self._values[key]

        with self._lock:
            self._values[key] = (weakref.ref(obj, gone), value)

    def forget(self, obj: Any) -> None:
        with self._lock:
            self._values.pop(id(obj), None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)
