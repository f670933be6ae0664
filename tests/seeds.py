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


# The seed is the README as a web page rendered it, which dropped every indent. Blocks open
# after a line ending in ":" (one level deeper); these lines close blocks, at the depth the
# published example has them (the same helper, indented, is in the threaded-order README).
_SURGERY_DEPTHS = {
    "sleep = random": 1,
    "else:": 1,
    "if not results:": 2,
    "logger.debug(f'{name} PASSED')": 2,
}
_TOP_LEVEL = ("@", "def ", "import ", "from ", "logger = ")


def _reindent(code: str) -> str:
    out: list[str] = []
    depth = 0
    opens = False
    for line in code.splitlines():
        if line.startswith(_TOP_LEVEL):
            depth = 0
        elif closing := next((d for p, d in _SURGERY_DEPTHS.items() if line.startswith(p)), 0):
            depth = closing
        elif opens:
            depth += 1
        out.append("    " * depth + line)
        opens = line.endswith(":")
    return "\n".join(out) + "\n"


def surgery_program() -> str | None:
    """The thread-order README's ``tdrun`` example (six ``@mark`` tasks, one failing)."""
    text = _read("000")
    if text is None:
        return None
    start = text.index("import time\nimport random\nfrom faker import Faker")
    end = text.index("])tdrun module.py::fn_b", start) + 2
    return _reindent(text[start:end])


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
