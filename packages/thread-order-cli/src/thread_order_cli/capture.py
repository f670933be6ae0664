"""Per-task log capture: the records a task emits are kept with the task that emitted them.

``TaskLogCapture`` is a ``logging.Handler`` that files each record under
``thread_order.current_task()``, the task running on the emitting thread (records from other
threads, such as the main thread's ``collected N marked functions``, are not kept). It is
attached, for the duration of the run only, to the loggers tdrun itself configures: the
per-thread loggers ``thread_0 .. thread_{N-1}`` that ``ThreadProxyLogger`` and the engine write
to, and the calling thread's. tdrun does not configure the root logger, so the capture is not
attached there, and no other logger's level is changed.

Each task keeps at most its last ``MAX_LINES`` lines and ``MAX_BYTES`` bytes (UTF-8); when older
lines are dropped, the text starts with ``[... N earlier lines dropped]``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping

MAX_LINES = 200
MAX_BYTES = 64 * 1024
FORMAT = "%(asctime)s %(levelname)-5s %(message)s"


class _Buffer:
    __slots__ = ("dropped", "lines", "size")

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.size = 0
        self.dropped = 0

    def add(self, text: str, max_lines: int, max_bytes: int) -> None:
        for raw in text.splitlines() or [""]:
            data = raw.encode("utf-8", "replace")
            if len(data) >= max_bytes:  # one enormous line: keep its end
                data = data[-(max_bytes - 1) :]
            line = data.decode("utf-8", "ignore")
            self.lines.append(line)
            self.size += len(line.encode("utf-8", "replace")) + 1
            while len(self.lines) > max_lines or self.size > max_bytes:
                old = self.lines.popleft()
                self.size -= len(old.encode("utf-8", "replace")) + 1
                self.dropped += 1

    def text(self) -> str:
        head = [f"[... {self.dropped} earlier lines dropped]"] if self.dropped else []
        return "\n".join([*head, *self.lines])


class TaskLogCapture(logging.Handler):
    """Keeps each task's log records, bounded; ``logs()`` returns ``{task: text}``."""

    def __init__(
        self, level: int = logging.INFO, *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES
    ) -> None:
        super().__init__(level)
        from thread_order import current_task

        self._current_task = current_task
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._buffers: dict[str, _Buffer] = {}
        self._loggers: list[logging.Logger] = []
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        task = self._current_task()
        if task is None:
            return
        try:
            text = self.format(record)
        except Exception:  # a bad record must not fail the task
            self.handleError(record)
            return
        buffer = self._buffers.get(task)
        if buffer is None:
            buffer = self._buffers.setdefault(task, _Buffer())
        buffer.add(text, self.max_lines, self.max_bytes)

    def attach(self, names: Iterable[str]) -> TaskLogCapture:
        """Add this handler to the named loggers (levels untouched); ``detach()`` removes it."""
        for name in dict.fromkeys(names):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            self._loggers.append(logger)
        return self

    def detach(self) -> None:
        for logger in self._loggers:
            logger.removeHandler(self)
        self._loggers.clear()

    def logs(self) -> Mapping[str, str]:
        """``{task name: captured text}`` for the tasks that logged anything."""
        return {name: buffer.text() for name, buffer in self._buffers.items()}
