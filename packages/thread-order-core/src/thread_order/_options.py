"""Per-task options beyond 1.4.0: timeouts, retries, trigger rules and conditions, locks.

``TaskOptions.build`` validates everything at registration and names the task in every error,
so a bad option never surfaces in the middle of a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import _readyset as rs

#: Trigger rules by name, as ``run_if`` accepts them.
RULES = {"all_passed": rs.ALL_PASSED, "all_done": rs.ALL_DONE, "any_failed": rs.ANY_FAILED}


class TaskOptionError(ValueError):
    """An option given to a task is invalid; the message names the task and the option."""


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """What a task asks of the scheduler besides its function and dependencies.

    ``run_if`` is a trigger rule name (``all_passed``, ``all_done``, ``any_failed``) or a
    predicate deciding at run time (false: the task is SKIPPED). ``locks`` names resources the
    task holds while it runs; a resource's capacity is its limit in ``Scheduler(limits=...)``
    (1 when not given: a mutual-exclusion lock). ``idempotent`` says the task may safely run
    again: on a distributed backend a task whose worker was lost is rerun only when it is set
    (threads never rerun anything).
    """

    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 0.0
    backoff: float = 1.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    run_if: str | Callable[..., Any] = "all_passed"
    locks: tuple[str, ...] = ()
    idempotent: bool = False

    @property
    def rule(self) -> int:
        """The core's trigger rule code (a predicate runs under ``all_passed``)."""
        return RULES[self.run_if] if isinstance(self.run_if, str) else rs.ALL_PASSED

    @property
    def condition(self) -> Callable[..., Any] | None:
        return None if isinstance(self.run_if, str) else self.run_if

    @property
    def wraps_call(self) -> bool:
        """True when calling the task needs more than calling its function (retries, a
        condition)."""
        return self.retries > 0 or self.condition is not None

    @classmethod
    def build(
        cls,
        task: str,
        *,
        timeout: float | None = None,
        retries: int = 0,
        retry_delay: float = 0.0,
        backoff: float = 1.0,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        run_if: str | Callable[..., Any] | None = None,
        locks: str | Iterable[str] | None = None,
        idempotent: bool = False,
    ) -> TaskOptions:
        def bad(option: str, why: str) -> TaskOptionError:
            return TaskOptionError(f"task {task!r}: {option} {why}")

        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise bad("timeout", f"must be a number of seconds, got {timeout!r}")
            if not (timeout > 0 and math.isfinite(timeout)):
                raise bad("timeout", f"must be > 0 seconds, got {timeout!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise bad("retries", f"must be an int >= 0, got {retries!r}")
        for option, value, low in (("retry_delay", retry_delay, 0.0), ("backoff", backoff, 1.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise bad(option, f"must be a number >= {low:g}, got {value!r}")
        kinds: tuple[type[BaseException], ...]
        if retry_on is None:
            kinds = (Exception,)
        elif isinstance(retry_on, type):
            kinds = (retry_on,)
        else:
            kinds = tuple(retry_on)
        for kind in kinds:
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise bad("retry_on", f"must list exception types, got {kind!r}")
        rule: str | Callable[..., Any] = "all_passed" if run_if is None else run_if
        if isinstance(rule, str):
            if rule not in RULES:
                raise bad("run_if", f"must be one of {sorted(RULES)} or a callable, got {rule!r}")
        elif not callable(rule):
            raise bad("run_if", f"must be a rule name or a callable, got {rule!r}")
        if locks is None:
            names: tuple[str, ...] = ()
        elif isinstance(locks, str):
            names = (locks,)
        else:
            names = tuple(locks)
        for lock in names:
            if not isinstance(lock, str) or not lock:
                raise bad("locks", f"must be non-empty names (str), got {lock!r}")
        if not isinstance(idempotent, bool):
            raise bad("idempotent", f"must be True or False, got {idempotent!r}")
        return cls(
            timeout=None if timeout is None else float(timeout),
            retries=retries,
            retry_delay=float(retry_delay),
            backoff=float(backoff),
            retry_on=kinds,
            run_if=rule,
            locks=tuple(dict.fromkeys(names)),
            idempotent=idempotent,
        )


DEFAULT_OPTIONS = TaskOptions()
