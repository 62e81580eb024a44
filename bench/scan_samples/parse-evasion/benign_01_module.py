# scan-sample: needs python 3.12 (PEP 695 syntax in an ordinary typed library)
"""Typed containers."""

from collections.abc import Callable, Iterable

type Pair[T] = tuple[T, T]
type Predicate[T] = Callable[[T], bool]


def pairs[T](items: Iterable[T]) -> list[Pair[T]]:
    items = list(items)
    return list(zip(items, items[1:]))


def keep[T](items: Iterable[T], test: Predicate[T]) -> list[T]:
    return [item for item in items if test(item)]


class Stack[T]:
    def __init__(self) -> None:
        self._items: list[T] = []

    def push(self, item: T) -> None:
        self._items.append(item)

    def pop(self) -> T:
        return self._items.pop()
