"""The 1.4.0-compatible runner: per-task lines, summary, state, mocks, hooks, graph, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from thread_order_cli.output import task_line

from .conftest import Invoke, example, normalise


def test_task_line_uses_the_1_4_0_dot_formula() -> None:
    line = task_line("thread_0", "pre_op_assessment_A", "PASSED", 1, 6)
    assert line == "[thread_0] pre_op_assessment_A " + "." * 31 + " PASSED [ 16% ]"
    skipped = task_line("", "perform_surgery_F", "SKIPPED", 6, 6)
    assert skipped == "perform_surgery_F " + "." * 43 + " SKIPPED [100% ]"
    assert task_line("t", "x" * 90, "PASSED", 1, 1).endswith("x  PASSED [100% ]")


def test_passing_suite_prints_lines_and_summary_and_exits_0(invoke: Invoke) -> None:
    result = invoke(example("passing.py"), "--workers", "1")
    assert result.exit_code == 0, result.output
    lines = normalise(result.stdout).splitlines()
    # the tasks do nothing, so which chain took longest (a -> b or c alone) is timing noise
    assert lines.pop(3) in ("critical path: a -> b (D.DDs)", "critical path: c (D.DDs)")
    assert lines == [
        "[thread_0] a ................................................. PASSED [ 33% ]",
        "[thread_0] b ................................................. PASSED [ 66% ]",
        "[thread_0] c ................................................. PASSED [100% ]",
        "parallelism: D.DD (busy D.DDs / wall D.DDs, 1 workers)",
        "==== 3 passed, 0 failed, 0 skipped in D.DDs ====",
    ]
    assert "Traceback" not in result.stderr


def test_failure_line_traceback_skip_reason_and_exit_1(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "--workers", "1")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "[thread_0] fn_c: RuntimeError: boom in c\n" in out
    assert "  Traceback (most recent call last):\n" in out
    assert 'raise RuntimeError("boom in c")' in out
    assert "thread_order/_dispatcher" not in out
    assert "fn_d " in out
    assert " SKIPPED [ 80% ] (upstream fn_c failed)" in out
    assert "SKIPPED fn_d - upstream fn_c failed" in out
    assert normalise(out).endswith("==== 3 passed, 1 failed, 1 skipped in D.DDs ====\n")


def test_no_skip_deps_runs_dependents(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "--no-skip-deps", "--skip-deps", "--no-skip-deps")
    assert result.exit_code == 1, result.output
    assert "4 passed, 1 failed, 0 skipped" in result.stdout


def test_skip_deps_is_accepted(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "--skip-deps")
    assert "3 passed, 1 failed, 1 skipped" in result.stdout, result.output


def test_tb_styles(invoke: Invoke) -> None:
    line = invoke(example("mod_a.py"), "--tb", "line").stdout
    assert "mod_a.py:22: RuntimeError: boom in c" in line
    assert "Traceback" not in line
    none = invoke(example("mod_a.py"), "--tb", "no").stdout
    assert "Traceback" not in none
    assert "fn_c: RuntimeError: boom in c" in none
    long = invoke(example("mod_a.py"), "--tb", "long").stdout
    assert "Traceback (most recent call last):" in long


def test_state_injection_and_setup_state(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite(
        "st.py",
        """
        import logging
        from thread_order import mark, ThreadProxyLogger
        log = ThreadProxyLogger()

        def setup_state(state):
            log.info("setup_state ran")
            state["from_hook"] = 1

        @mark()
        def show(state):
            assert state["env"] == "dev", state["env"]
            assert state["state"] == "prod"
            assert state["from_hook"] == 1
            assert state["n"] == "9"  # values stay strings
        """,
    )
    result = invoke(path, "--env=dev", "--state=prod", "--n=9")
    assert result.exit_code == 0, result.output
    assert "setup_state ran" in result.stderr


def test_state_file_then_injection_overrides(invoke: Invoke, suite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "state.json").write_text(json.dumps({"retries": 3, "flag": True}))
    path = suite(
        "sf.py",
        """
        from thread_order import mark

        @mark()
        def check(state):
            assert state["retries"] == "9"
            assert state["flag"] is True
        """,
    )
    result = invoke(path, "--state-file", "state.json", "--retries=9")
    assert result.exit_code == 0, result.output


def test_single_task_with_mocked_prerequisite(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py") + "::fn_b", "--result-fn_a=mocked", "--env=qa")
    assert result.exit_code == 0, result.output
    assert "fn_b sees result fn_a='mocked'" in result.stderr
    assert "==== 1 passed, 0 failed, 0 skipped" in result.stdout


def test_single_task_pulls_in_its_prerequisites(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py") + "::fn_b")
    assert result.exit_code == 0, result.output
    assert "fn_b sees result fn_a='A'" in result.stderr
    assert "==== 2 passed" in result.stdout


def test_only_runs_just_the_selection(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py") + "::fn_b", "--only")
    assert result.exit_code == 0, result.output
    assert "fn_b sees result fn_a=None" in result.stderr
    assert "==== 1 passed" in result.stdout


def test_tags_are_anded(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "--tags", "smoke,fast")
    assert result.exit_code == 0, result.output
    assert "==== 1 passed, 0 failed, 0 skipped" in result.stdout
    both = invoke(example("mod_a.py"), "--tags=smoke")
    assert "==== 2 passed" in both.stdout, both.output


def test_workers_default_is_capped_by_task_count(invoke: Invoke) -> None:
    result = invoke(example("passing.py") + "::c")
    assert "1 workers" in result.stdout, result.output


def test_graph_text_is_the_1_4_0_block(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "--graph")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Graph: 5 nodes, 4 edges\n")
    assert "Nodes:\n  [0] fn_a\n" in result.stdout
    assert "Longest chains:" in result.stdout
    assert "PASSED" not in result.stdout


def test_graph_formats(invoke: Invoke) -> None:
    dot = invoke(example("mod_a.py"), "--graph", "dot")
    assert dot.stdout.startswith("digraph"), dot.output
    mermaid = invoke(example("mod_a.py"), "--graph=mermaid")
    assert mermaid.stdout.startswith("flowchart LR"), mermaid.output
    data = json.loads(invoke(example("mod_a.py"), "--graph", "json").stdout)
    assert data["nodes"] == ["fn_a", "fn_b", "fn_c", "fn_d", "fn_nostate"]


def test_graph_before_target(invoke: Invoke) -> None:
    result = invoke("--graph", example("mod_a.py"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Graph: 5 nodes")


def test_log_writes_per_thread_files(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(example("passing.py"), "--log", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("*_MainThread.log"))


def test_verbose_shows_debug_logging(invoke: Invoke) -> None:
    result = invoke(example("passing.py"), "--verbose")
    assert result.exit_code == 0, result.output
    assert "INFO" in result.stderr


def test_logging_highlights_hook_is_called(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite(
        "hl.py",
        """
        import re
        from thread_order import mark
        CALLED = []

        def add_logging_highlights():
            CALLED.append(1)
            return [(re.compile("x"), "\\x1b[36m")]

        @mark()
        def t(state):
            assert CALLED
        """,
    )
    result = invoke(path)
    assert result.exit_code == 0, result.output


def test_help_lists_exit_codes_and_options(invoke: Invoke) -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 all tasks passed" in text
    for option in ("--workers", "--tags", "--state-file", "--junitxml", "--no-skip-deps"):
        assert option in result.stdout


def test_version_option(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("tdrun ")
    assert "thread-order-core" in result.stdout
    assert "core implementation: " in result.stdout


def test_engine_failure_record_is_not_repeated_on_stderr(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(example("mod_a.py"), "--workers", "1", "--log")
    assert result.exit_code == 1, result.output
    assert result.stdout.count("fn_c: RuntimeError: boom in c") == 1
    assert "[thread_0] fn_c: RuntimeError: boom in c\n" in result.stdout
    assert "boom in c" not in result.stderr
    assert "fn_a env=" in result.stderr  # the tasks' own records still are
    logged = "".join(p.read_text() for p in tmp_path.glob("*_thread_0.log"))
    assert "fn_c: RuntimeError: boom in c" in logged  # --log files keep the record


def test_printer_batch_writes_plain_lines_once() -> None:
    import io

    from thread_order_cli.output import Printer

    class Counting(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            Counting.writes += 1
            return super().write(s)

    stream = Counting()
    printer = Printer(stream, color=False)
    with printer.batch():
        printer.line("one")
        with printer.batch():  # nested: still one write at the outer end
            printer.line("two")
        assert stream.getvalue() == ""
    assert stream.getvalue() == "one\ntwo\n"
    assert Counting.writes == 1
    printer.line("three")  # outside a batch: written at once
    assert stream.getvalue().endswith("three\n")
