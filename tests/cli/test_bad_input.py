"""Every bad input: one line on stderr naming the culprit, the documented exit code, no run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Invoke, example

USAGE, COLLECT, NOTHING = 4, 2, 5

CYCLE = """
from thread_order import mark

@mark(after=["c"])
def a(state): pass

@mark(after=["a"])
def b(state): pass

@mark(after=["b"])
def c(state): pass
"""

UNKNOWN_DEP = """
from thread_order import mark

@mark()
def fetch(state): pass

@mark(after=["fecth"])
def use(state): pass
"""


def one_line_error(result, code: int, *needles: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.output
    err = result.stderr
    assert err.startswith("tdrun: error: "), err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert "PASSED" not in result.stdout
    assert not Path(".tdrun").exists()  # nothing ran, nothing recorded
    return err


def test_missing_target(invoke: Invoke) -> None:
    one_line_error(invoke("--workers", "2"), USAGE, "missing target")


def test_no_arguments_prints_help(invoke: Invoke) -> None:
    result = invoke()
    assert result.exit_code == USAGE, result.output
    assert "Usage" in result.output


def test_target_not_found(invoke: Invoke) -> None:
    one_line_error(invoke("nofile.py"), USAGE, "nofile.py")


def test_target_not_python(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    one_line_error(invoke("notes.txt"), USAGE, "notes.txt is not a Python file")


def test_syntax_error_names_file_and_line(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("broken.py", "x = 1\ndef f(:\n    pass\n")
    one_line_error(invoke(path), COLLECT, "broken.py:2: SyntaxError")


def test_import_error_shows_the_suite_traceback(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("imp.py", "import os\nimport no_such_module_xyz\n")
    result = invoke(path)
    assert result.exit_code == COLLECT, result.output
    first, *rest = result.stderr.splitlines()
    assert first.startswith("tdrun: error: ")
    assert "imp.py: error while importing: ModuleNotFoundError" in first
    assert "no_such_module_xyz" in first
    assert any("imp.py" in line and "line 2" in line for line in rest), result.stderr


def test_no_tasks_in_file(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("empty.py", "def helper():\n    pass\n")
    one_line_error(invoke(path), NOTHING, "No @mark functions found")


def test_no_suite_files_in_folder(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    one_line_error(invoke("pkg"), NOTHING, "no suite files")


def test_unknown_task(invoke: Invoke) -> None:
    one_line_error(invoke(example("mod_a.py") + "::fn_bb"), USAGE, "fn_bb", "did you mean 'fn_b'")


@pytest.mark.parametrize(
    ("option", "expr", "needle"),
    [
        ("-k", "fn_a and", "expected a name"),
        ("-k", "(fn_a", "expected ')'"),
        ("-m", "smoke or or fast", "expected a name"),
        ("-m", "smoke fast", "unexpected 'fast'"),
        ("-k", "  ", "empty expression"),
    ],
)
def test_expression_that_does_not_parse(
    invoke: Invoke, option: str, expr: str, needle: str
) -> None:
    one_line_error(invoke(example("mod_a.py"), option, expr), USAGE, option, needle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tags", "nomatch"], "--tags 'nomatch'"),
        (["-k", "nothing_like_this"], "-k 'nothing_like_this'"),
        (["-m", "nomatch"], "-m 'nomatch'"),
    ],
)
def test_selection_that_matches_nothing(invoke: Invoke, args: list[str], needle: str) -> None:
    one_line_error(invoke(example("mod_a.py"), *args), NOTHING, "no task matches", needle)


def test_state_file_missing(invoke: Invoke) -> None:
    one_line_error(
        invoke(example("passing.py"), "--state-file", "nope.json"), USAGE, "'nope.json' not found"
    )


def test_state_file_not_json(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{\n  "a": 1,\n  "b": \n}\n')
    one_line_error(
        invoke(example("passing.py"), "--state-file", "s.json"), USAGE, "line 4 column 1"
    )


def test_state_file_not_an_object(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("[1, 2]")
    one_line_error(invoke(example("passing.py"), "--state-file", "s.json"), USAGE, "not list")


def test_state_file_underscore_keys(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"_state_lock": 1, "ok": 2}))
    one_line_error(
        invoke(example("passing.py"), "--state-file", "s.json"), USAGE, "underscore", "_state_lock"
    )


def test_injected_underscore_key(invoke: Invoke) -> None:
    one_line_error(invoke(example("passing.py"), "--_x=1"), USAGE, "underscore")


@pytest.mark.parametrize(("value", "needle"), [("0", ">= 1"), ("-2", ">= 1"), ("abc", "'abc'")])
def test_bad_workers(invoke: Invoke, value: str, needle: str) -> None:
    one_line_error(invoke(example("passing.py"), "--workers", value), USAGE, "--workers", needle)


@pytest.mark.parametrize(
    "flags",
    [
        ["--progress", "--verbose"],
        ["--viewer", "--verbose"],
        ["--progress", "--viewer"],
        ["--plan", "--graph"],
        ["-x", "--maxfail", "2"],
        ["--lf", "--no-history"],
    ],
)
def test_incompatible_flags(invoke: Invoke, flags: list[str]) -> None:
    result = invoke(example("passing.py"), *flags)
    if "--verbose" in flags:  # --verbose asks for tracebacks, so only the first line is fixed
        assert result.exit_code == USAGE, result.output
        assert result.stderr.splitlines()[0].endswith("cannot be used together")
    else:
        one_line_error(result, USAGE, "cannot be used together")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tb", "medium"], "--tb must be one of"),
        (["--graph=png"], "--graph must be one of"),
        (["--maxfail", "0"], "--maxfail"),
        (["--durations", "x"], "--durations"),
        (["--heartbeat", "-1"], "--heartbeat"),
        (["--cancel-grace", "-1"], "--cancel-grace must be >= 0"),
        (["--cancel-grace", "soon"], "--cancel-grace must be a number of seconds"),
        (["--cancel-grace", "nan"], "--cancel-grace must be a number of seconds"),
        (["--shuffle=abc"], "--shuffle"),
        (["--timeout", "0"], "--timeout must be > 0 seconds"),
        (["--timeout", "-2"], "--timeout must be > 0 seconds"),
        (["--timeout", "soon"], "--timeout must be a number of seconds"),
        (["--timeout", "inf"], "--timeout must be a number of seconds"),
        (["--deadline", "0"], "--deadline must be > 0 seconds"),
        (["--deadline", "x"], "--deadline must be a number of seconds"),
        (["--limit", "api"], "--limit must be NAME=N"),
        (["--limit", "=3"], "--limit must be NAME=N"),
        (["--limit", "api=0"], "--limit 'api=0': N must be >= 1"),
        (["--limit", "api=-1"], "--limit 'api=-1': N must be >= 1"),
        (["--limit", "api=x"], "--limit 'api=x': N must be a whole number"),
        (["--limit", "db=1", "--limit", "api"], "--limit must be NAME=N"),
    ],
)
def test_bad_option_values(invoke: Invoke, args: list[str], needle: str) -> None:
    one_line_error(invoke(example("passing.py"), *args), USAGE, needle)


@pytest.mark.parametrize("option", ["--junitxml", "--json-report", "--history", "--trace"])
def test_unwritable_output_path(invoke: Invoke, tmp_path: Path, option: str) -> None:
    (tmp_path / "afile").write_text("")
    one_line_error(
        invoke(example("passing.py"), option, "afile/report.out"), USAGE, option, "not a directory"
    )


@pytest.mark.parametrize("option", ["--junitxml", "--trace"])
def test_output_path_is_a_directory(invoke: Invoke, tmp_path: Path, option: str) -> None:
    (tmp_path / "out").mkdir()
    one_line_error(invoke(example("passing.py"), option, "out"), USAGE, option, "is a directory")


def test_unknown_dependency(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("dep.py", UNKNOWN_DEP)
    one_line_error(invoke(path), COLLECT, "use depends on unknown ['fecth']", "'fetch'")


def test_cycle_shows_the_path(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("cyc.py", CYCLE)
    one_line_error(invoke(path), COLLECT, "dependency cycle: ", " -> ")


@pytest.mark.parametrize(
    ("token", "needle"),
    [
        ("--skip_deps", "did you mean --skip-deps?"),
        ("--skip_deps=1", "did you mean --skip-deps?"),
        ("--wrokers", "did you mean --workers?"),
        ("--env", "--key=value"),
        ("-z", "no such option: -z"),
    ],
)
def test_unknown_options(invoke: Invoke, token: str, needle: str) -> None:
    one_line_error(invoke(example("passing.py"), token), USAGE, needle)


def test_option_as_state_key_is_refused(invoke: Invoke) -> None:
    # --workers=2 is the option itself, so it runs; --no-history=1 is not a state key
    one_line_error(invoke(example("passing.py"), "--plan=yes"), USAGE)


def test_verbose_adds_the_traceback(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite("cyc.py", CYCLE)
    result = invoke(path, "--verbose")
    assert result.exit_code == COLLECT, result.output
    assert "Traceback" in result.stderr


def test_tdrun_debug_adds_the_traceback(
    invoke: Invoke,
    suite,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("TDRUN_DEBUG", "1")
    result = invoke(suite("cyc.py", CYCLE))
    assert result.exit_code == COLLECT, result.output
    assert "Traceback" in result.stderr


def test_hook_error_names_the_hook(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    path = suite(
        "hk.py",
        "from thread_order import mark\n\ndef setup_state(state):\n    raise KeyError('db')\n\n"
        "@mark()\ndef a(state):\n    pass\n",
    )
    one_line_error(invoke(path), COLLECT, "setup_state() raised KeyError")


def test_history_file_that_is_not_a_database(invoke: Invoke, tmp_path: Path) -> None:
    """Found when the history is read for the dispatch order, after collection and before any
    task runs; the file is left as it was."""
    notes = "these are notes, not a run history\n" * 200
    (tmp_path / "notes.db").write_text(notes)
    result = invoke(example("passing.py"), "--history", "notes.db")
    assert result.exit_code == USAGE, result.output
    assert result.stderr.splitlines()[-1] == (
        "tdrun: error: --history notes.db: not a run history database (file is not a database)"
    )
    assert "passed" not in result.stdout
    assert (tmp_path / "notes.db").read_text() == notes
