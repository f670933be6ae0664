"""Engine tests run once per ready-set core: ``core_impl`` swaps the selector's class."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def core_impl(readyset_cls: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from thread_order import _readyset

    monkeypatch.setattr(_readyset, "ReadySet", readyset_cls)
    return readyset_cls
