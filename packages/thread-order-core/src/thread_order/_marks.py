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
from ._options import TaskOptions
from ._params import expand

F = TypeVar("F", bound=Callable[..., Any])

META = "__thread_order__"


def _marker(
    after: str | Iterable[str] | None,
    with_state: bool,
    tags: str | Iterable[str] | None,
    params: Any,
    options: dict[str, Any],
) -> Callable[[F], F]:
    def decorator(fn: F) -> F:
        name = getattr(fn, "__name__", repr(fn))
        TaskOptions.build(name, **options)  # bad options fail where the task is written
        if params is not None:
            expand(name, params)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def wrapped(*args: Any, **kwargs: Any) -> Any:
                return await fn(*args, **kwargs)

        else:

            @functools.wraps(fn)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                return fn(*args, **kwargs)

        meta: dict[str, Any] = {
            "after": list(normalize_names(after, "after", name)),
            "with_state": bool(with_state),
            "orig_name": name,
            "tags": list(normalize_tags(tags, name)),
        }
        if params is not None:  # the 1.4.0 shape otherwise
            meta["params"] = params
        if options:
            meta["options"] = dict(options)
        setattr(wrapped, META, meta)
        return wrapped  # type: ignore[return-value]

    return decorator


def mark(
    *,
    after: str | Iterable[str] | None = None,
    with_state: bool = True,
    tags: str | Iterable[str] | None = None,
    params: Any = None,
    **options: Any,
) -> Callable[[F], F]:
    """Mark a task that receives the shared state by default (``with_state=True``).

    ``params`` and ``options`` (``timeout``, ``retries``, ``retry_delay``, ``backoff``,
    ``retry_on``, ``run_if``, ``locks``, ``idempotent``) are those of ``Scheduler.register``.
    """
    return _marker(after, with_state, tags, params, options)


def dmark(
    *,
    after: str | Iterable[str] | None = None,
    with_state: bool = False,
    tags: str | Iterable[str] | None = None,
    params: Any = None,
    **options: Any,
) -> Callable[[F], F]:
    """Mark a task that does not receive the shared state by default (``with_state=False``)."""
    return _marker(after, with_state, tags, params, options)


def meta_of(fn: Any) -> dict[str, Any] | None:
    meta = getattr(fn, META, None)
    return meta if isinstance(meta, dict) else None
