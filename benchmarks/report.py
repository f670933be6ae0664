"""Turn a pytest-benchmark JSON file into the Markdown tables of benchmarks/README.md.

    .venv/bin/pytest benchmarks --benchmark-enable --benchmark-only -p no:randomly \
        --benchmark-json=bench.json
    .venv/bin/python benchmarks/report.py bench.json

Each row is one benchmark; its columns are the figures it put in ``extra_info`` (own figure,
in-run references, ratios, target, met).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "**yes**" if value else "**NO**"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def tables(data: dict[str, Any]) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bench in data["benchmarks"]:
        groups[bench.get("group") or "ungrouped"].append(bench)
    out = []
    for group, benches in groups.items():
        keys: list[str] = []
        for b in benches:
            keys += [k for k in b["extra_info"] if k not in keys and k != "output"]
        out.append(f"### {group}\n")
        out.append("| benchmark | " + " | ".join(keys) + " |")
        out.append("|---" * (len(keys) + 1) + "|")
        for b in benches:
            row = [_fmt(b["extra_info"].get(k, "")) for k in keys]
            name = b["name"].removeprefix("test_")
            out.append(f"| {name} | " + " | ".join(row) + " |")
        out.append("")
    machine = data.get("machine_info", {})
    out.append(
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"{machine.get('python_implementation', '')} {machine.get('python_version', '')}; "
        f"run {data.get('datetime', '?')}."
    )
    return "\n".join(out)


def main() -> None:
    with open(sys.argv[1]) as f:
        print(tables(json.load(f)))


if __name__ == "__main__":
    main()
