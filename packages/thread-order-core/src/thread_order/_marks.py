"""``@mark`` and ``@dmark``: declare a function as a task without registering it yet.

The decorators attach ``__thread_order__`` metadata (the 1.4.0 shape) to a wrapper; a loader
(``tdrun``, ``load_and_collect_functions``) finds marked functions and registers them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._compiler import normalize_names, normalize_tags

F = TypeVar("F", bound=Callable[..., Any])

META = "__thread_order__"


def _marker(
    after: str | Iterable[str] | None, with_state: bool, tags: str | Iterable[str] | None
) -> Callable[[F], F]:
    def decorator(fn: F) -> F:
        name = getattr(fn, "__name__", repr(fn))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def wrapped(*args: Any, **kwargs: Any) -> Any:
                return await fn(*args, **kwargs)

        else:

            @functools.wraps(fn)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return fn(*args, **kwargs)

        setattr(
            wrapped,
            META,
            {
                "after": list(normalize_names(after, "after", name)),
                "with_state": bool(with_state),
                "orig_name": name,
                "tags": list(normalize_tags(tags, name)),
            },
        )
        return wrapped  # type: ignore[return-value]

    return decorator


def mark(
    *,
    after: str | Iterable[str] | None = None,
    with_state: bool = True,
    tags: str | Iterable[str] | None = None,
) -> Callable[[F], F]:
    """Mark a task that receives the shared state by default (``with_state=True``)."""
    return _marker(after, with_state, tags)


def dmark(
    *,
    after: str | Iterable[str] | None = None,
    with_state: bool = False,
    tags: str | Iterable[str] | None = None,
) -> Callable[[F], F]:
    """Mark a task that does not receive the shared state by default (``with_state=False``)."""
    return _marker(after, with_state, tags)


def meta_of(fn: Any) -> dict[str, Any] | None:
    meta = getattr(fn, META, None)
    return meta if isinstance(meta, dict) else None
