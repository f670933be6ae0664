"""Discovery of folders and modules, -k/-m selection with prerequisites, --only and --plan."""

from __future__ import annotations

from thread_order_cli.discovery import collect
from thread_order_cli.selection import select

from .conftest import Invoke, example


def names(result_stdout: str) -> list[str]:
    out = []
    for line in result_stdout.splitlines():
        if " PASSED [" in line or " FAILED [" in line or " SKIPPED [" in line:
            head = line.split(" .", 1)[0]
            out.append(head.split("] ", 1)[-1])
    return sorted(out)


def test_folder_finds_test_files_and_cross_module_dependencies(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"))
    assert result.exit_code == 0, result.output
    assert names(result.stdout) == ["create_cache", "create_db", "create_user", "login"]
    assert "never_collected" not in result.stdout


def test_pattern_option_changes_folder_discovery(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"), "--pattern", "helper.py")
    assert result.exit_code == 1, result.output
    assert names(result.stdout) == ["never_collected"]


def test_several_targets(invoke: Invoke) -> None:
    result = invoke(example("passing.py"), example("suite_dir"), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "==== 7 passed" in result.stdout


def test_duplicate_names_are_qualified_by_module(invoke: Invoke, suite) -> None:  # type: ignore[no-untyped-def]
    one = suite("one/test_x.py", "from thread_order import mark\n@mark()\ndef a(state): pass\n")
    two = suite("two/test_y.py", "from thread_order import mark\n@mark()\ndef a(state): pass\n")
    result = invoke(one, two)
    assert result.exit_code == 0, result.output
    assert names(result.stdout) == ["test_x::a", "test_y::a"]


def test_k_pulls_in_prerequisites(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"), "-k", "login")
    assert result.exit_code == 0, result.output
    assert names(result.stdout) == ["create_cache", "create_db", "create_user", "login"]


def test_k_with_only(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"), "-k", "login", "--only")
    assert result.exit_code == 0, result.output
    assert names(result.stdout) == ["login"]


def test_m_expression_on_tags(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"), "-m", "infra and not api", "--only")
    assert names(result.stdout) == ["create_cache", "create_db"], result.output
    either = invoke(example("mod_a.py"), "-m", "(slow or fast) and not nothing", "--only")
    assert names(either.stdout) == ["fn_a", "fn_c"], either.output


def test_k_expression_with_not(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py"), "-k", "not fn_c and not fn_d", "--only")
    assert names(result.stdout) == ["fn_a", "fn_b", "fn_nostate"], result.output


def test_mocked_prerequisite_is_not_run() -> None:
    tasks = collect([example("suite_dir")]).tasks
    sel = select(tasks, keyword="create_user", mocks={"create_db"})
    assert [t.name for t in sel.run] == ["create_user"]
    assert sel.mocked == ["create_db"]


def test_plan_shows_waves_and_reasons_and_runs_nothing(invoke: Invoke) -> None:
    result = invoke(example("suite_dir"), "-k", "login", "--plan", "--result-create_db=db")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("plan: 3 tasks in 2 waves")
    assert "  wave 1: create_cache, create_user" in lines  # create_db is mocked
    assert "  wave 2: login" in lines
    assert "pulled in as prerequisites: create_cache, create_user" in lines
    assert "mocked, not run: create_db (--result-create_db=db)" in lines
    assert "PASSED" not in result.stdout
    assert "==== " not in result.stdout


def test_plan_with_only_names_what_is_not_run(invoke: Invoke) -> None:
    result = invoke(example("mod_a.py") + "::fn_d", "--plan", "--only", "--no-skip-deps")
    assert result.exit_code == 0, result.output
    assert "not run: fn_c (prerequisite of fn_d not selected (--only)" in result.stdout
    assert "dependents still run (--no-skip-deps)" in result.stdout
