"""Read the programs printed in the project's seed documents (``../shared/seeds``).

The seeds are not copied into this repository; tests that run them skip when they are absent.
"""

from __future__ import annotations

import re
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def _read(prefix: str) -> str | None:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    return found[0].read_text(encoding="utf-8") if found else None


def surgery_program() -> str | None:
    """The thread-order README's ``tdrun`` example (six ``@mark`` tasks, one failing)."""
    text = _read("000")
    if text is None:
        return None
    start = text.index("import time\nimport random\nfrom faker import Faker")
    end = text.index("])tdrun module.py::fn_b", start) + 2
    return text[start:end] + "\n"


def threaded_order_examples() -> dict[str, str]:
    """The threaded-order README's Python examples by name, ``threaded_order`` read as ours."""
    text = _read("002")
    if text is None:
        return {}
    out = {}
    for m in re.finditer(r"```Python\n(.*?)```", text, flags=re.DOTALL):
        title = text.rfind("### ", 0, m.start())
        name = text[title + 4 : text.index("\n", title)].split("[")[0].strip(" `").lower()
        out[re.sub(r"\W+", "_", name).strip("_")] = m.group(1).replace(
            "threaded_order", "thread_order"
        )
    return out
