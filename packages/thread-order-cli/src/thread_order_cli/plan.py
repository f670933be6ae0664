"""``--plan`` (what would run, in dispatch waves, and why) and ``--graph`` renderings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .options import RunOptions
    from .runner import Prepared


def render_graph(dag: Any, fmt: str) -> str:
    from thread_order.graph_summary import format_graph_summary, to_dot, to_json, to_mermaid

    renderers = {"text": format_graph_summary, "dot": to_dot, "mermaid": to_mermaid}
    text: str = renderers.get(fmt, to_json)(dag)
    return text.rstrip("\n")


def plan_lines(
    names: Sequence[str], preds: Sequence[Sequence[int]], prep: Prepared, opts: RunOptions
) -> list[str]:
    """The dry run: waves of the selected tasks, then what is mocked, left out or pulled in."""
    from thread_order import analyze

    stats = analyze(names, preds)
    sel = prep.selection
    lines = [
        f"plan: {len(names)} tasks in {stats.level_count} waves on {prep.workers} workers "
        "(nothing is executed)"
    ]
    for k, wave in enumerate(stats.waves, 1):
        lines.append(f"  wave {k}: {', '.join(wave)}")
    if sel.pulled_in:
        lines.append(f"pulled in as prerequisites: {', '.join(sel.pulled_in)}")
    for name in sel.mocked:
        value = prep.injections.results.get(name, "")
        lines.append(f"mocked, not run: {name} (--result-{name}={value})")
    for name, why in sel.not_run.items():
        lines.append(f"not run: {name} ({why}; its dependents run without its result)")
    if opts.skip_deps:
        lines.append("on failure: dependents of a failed task are skipped")
    else:
        lines.append("on failure: dependents still run (--no-skip-deps)")
    return lines
