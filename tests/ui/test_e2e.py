"""End to end: a real uvicorn, Debian's chromium driven by Playwright (skipped without it).

Each test saves a screenshot of its view as a CI artefact (see conftest.screenshot).
"""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import MIXED, SLOW, SURGERY, TOKEN, XSS, MakeSession, screenshot
from .test_api import record_probe_run

pytestmark = pytest.mark.e2e

RECORD_CHANGES = """() => {
  window.__seen = {classes: new Set(), bars: new Set(), widths: new Set()};
  const seen = window.__seen;
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target;
      if (el.matches && el.matches('g.node'))
        seen.classes.add(el.id + ' ' + el.getAttribute('class'));
      if (el.matches && el.matches('rect.bar')) {
        seen.bars.add(el.getAttribute('y'));
        seen.widths.add(el.getAttribute('data-task') + ':' + el.getAttribute('width'));
      }
    }
  }).observe(document.body,
             {subtree: true, attributes: true, attributeFilter: ['class', 'width']});
}"""


def has(*classes: str) -> re.Pattern[str]:
    """A class attribute holding every one of ``classes``."""
    return re.compile("".join(rf"(?=.*(^|\s){c}(\s|$))" for c in classes))


def open_page(page: Any, url: str) -> None:
    page.goto(f"{url}/?token={TOKEN}")
    page.wait_for_load_state("networkidle")
    assert "token" not in page.url


def wait_finished(page: Any, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "() => !document.getElementById('run').disabled && "
        "document.querySelectorAll('#graph g.node').length > 0 && "
        "!document.querySelector('#graph g.node.st-pending, #graph g.node.st-running')",
        timeout=timeout,
    )


def test_run_surgery_watch_colours_and_lanes(
    page: Any, serve: Any, make_session: MakeSession
) -> None:
    from playwright.sync_api import expect

    url = serve(make_session(SURGERY))
    open_page(page, url)
    page.evaluate(RECORD_CHANGES)
    page.fill("#workers", "2")
    page.click("#run")
    expect(page.locator("#n-3")).to_have_class(has("st-failed"), timeout=15_000)
    wait_finished(page)
    seen = page.evaluate(
        "() => ({classes: [...window.__seen.classes], bars: [...window.__seen.bars],"
        " widths: [...window.__seen.widths]})"
    )
    assert any("st-running" in c for c in seen["classes"]), seen
    assert any("st-passed" in c for c in seen["classes"])
    assert len(seen["bars"]) == 2  # two lanes used
    widths_of_0 = {w for w in seen["widths"] if w.startswith("0:")}
    assert len(widths_of_0) > 1  # the first bar grew while it ran
    expect(page.locator("#n-5")).to_have_class(has("st-skipped"))
    expect(page.locator("#n-2")).to_have_class(has("st-passed", "critical"))  # prepare_room
    expect(page.locator("#graph path.edge.critical")).not_to_have_count(0)
    expect(page.locator("#n-0")).to_have_class(has("st-passed", "critical"))
    expect(page.locator("#lanes rect.bar")).to_have_count(5)  # the skipped task never ran
    expect(page.locator("#counts [data-status=failed]")).to_have_text("1 failed")
    expect(page.locator("#history button")).to_have_count(1)
    screenshot(page, "run")


def test_open_a_failed_tasks_traceback(page: Any, serve: Any, make_session: MakeSession) -> None:
    from playwright.sync_api import expect

    url = serve(make_session(MIXED))
    open_page(page, url)
    page.click("#run")
    wait_finished(page)
    page.click("#n-1")  # explode
    expect(page.locator("#d-title")).to_have_text("explode")
    expect(page.locator("#d-fields [data-field=status]")).to_have_text("FAILED")
    expect(page.locator("#d-tb")).to_contain_text("ValueError: <img src=x onerror=alert(1)>")
    assert page.locator("#detail img").count() == 0
    page.click("#lanes rect.bar[data-task='0']")
    expect(page.locator("#d-title")).to_have_text("prepare")
    expect(page.locator("#d-log")).to_contain_text("<script>alert('log')</script> prepared")
    assert page.locator("#detail script").count() == 0
    page.click("#n-1")
    page.check("#only-failed")
    expect(page.locator("body")).to_have_class(has("only-failed"))
    screenshot(page, "failure")


def test_cancel_a_slow_run(page: Any, serve: Any, make_session: MakeSession) -> None:
    from playwright.sync_api import expect

    url = serve(make_session(SLOW))
    open_page(page, url)
    page.click("#run")
    expect(page.locator("#n-1")).to_have_class(has("st-running"), timeout=10_000)
    expect(page.locator("#running li")).to_have_count(1)
    page.click("#cancel")
    expect(page.locator("#n-2")).to_have_class(has("st-cancelled"), timeout=10_000)
    wait_finished(page)
    expect(page.locator("#counts [data-status=cancelled]")).to_be_visible()
    expect(page.locator("#running li")).to_have_count(0)  # nothing stays "running"
    screenshot(page, "cancelled")


def test_rerun_failed_then_open_a_past_run(
    page: Any, serve: Any, make_session: MakeSession
) -> None:
    from playwright.sync_api import expect

    url = serve(make_session(MIXED))
    open_page(page, url)
    page.click("#run")
    wait_finished(page)
    expect(page.locator("#history button")).to_have_count(1)
    page.click("#rerun")
    expect(page.locator("#run-title")).to_have_text("live run (rerun of #1)", timeout=10_000)
    wait_finished(page)
    expect(page.locator("#graph g.node")).to_have_count(3)  # prepare, explode, after_explode
    expect(page.locator("#history button").first).to_contain_text("rerun of #1")
    page.locator("#history button").last.click()  # run #1
    expect(page.locator("#mode")).to_have_text("history")
    expect(page.locator("#run-title")).to_have_text("run #1")
    expect(page.locator("#graph g.node")).to_have_count(4)
    expect(page.locator("#graph g.node.st-failed")).to_have_count(1)
    expect(page.locator("#lanes rect.bar")).to_have_count(3)
    screenshot(page, "history")
    page.click("#live")
    expect(page.locator("#run-title")).to_have_text("live run (rerun of #1)")


def test_probe_task_name_shows_as_text(
    page: Any, serve: Any, make_session: MakeSession, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    history = str(tmp_path / "history.db")
    record_probe_run(history)
    url = serve(make_session(SURGERY, history=history))
    open_page(page, url)
    page.locator("#history button").first.click()
    expect(page.locator("#n-0 text")).to_have_text(XSS[:29] + "\u2026" if len(XSS) > 30 else XSS)
    page.click("#n-0")
    expect(page.locator("#d-title")).to_have_text(XSS)
    assert page.locator("img").count() == 0  # the probe is text; page.errors catches alert()


def big_suite(tmp_path: Path, n: int = 500) -> str:
    lines = ["import time", "from thread_order import mark", ""]
    for i in range(n):
        name = f"task_{i:03d}_" + "long_name_" * 5  # 59-60 characters
        name = name[:60]
        deps = [
            f"task_{j:03d}_" + ("long_name_" * 5)[: 60 - 9]
            for j in (i - 7, i - 13)
            if j >= 0 and i % 3
        ]
        after = f"after={deps!r}" if deps else ""
        lines += [f"@mark({after})", f"def {name}(state):", "    time.sleep(0.004)", ""]
    path = tmp_path / "big_suite.py"
    path.write_text(textwrap.dedent("\n".join(lines)), encoding="utf-8")
    return str(path)


def test_500_tasks_with_long_names_stay_usable(
    page: Any, serve: Any, make_session: MakeSession, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url = serve(make_session(big_suite(tmp_path)))
    open_page(page, url)
    t0 = time.perf_counter()
    page.click("#run")
    expect(page.locator("#graph g.node")).to_have_count(500, timeout=15_000)
    first_paint = time.perf_counter() - t0
    worst = 0.0
    while page.evaluate("() => document.getElementById('run').disabled"):
        t = time.perf_counter()
        page.evaluate("() => document.querySelectorAll('#graph g.node.st-passed').length")
        worst = max(worst, time.perf_counter() - t)
        time.sleep(0.05)
    wait_finished(page, timeout=60_000)
    full_run = time.perf_counter() - t0
    expect(page.locator("#graph g.node.st-passed")).to_have_count(500)
    print(
        f"500 tasks: first paint {first_paint:.2f}s, full run with updates {full_run:.2f}s, "
        f"slowest page round trip during the run {worst * 1000:.0f} ms"
    )
    assert first_paint < 5
    assert worst < 1.0  # the tab never froze for a second
    assert full_run < 60
    page.click("#n-499")
    expect(page.locator("#d-title")).to_have_text("task_499_" + ("long_name_" * 5)[:51])
    screenshot(page, "500-tasks")
