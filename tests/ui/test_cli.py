"""``tdrun-ui`` as a user runs it: prints the URL with the token, serves, binds loopback."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from .conftest import SURGERY


@pytest.fixture
def start() -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def run(*args: str) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "thread_order_ui.cli", SURGERY, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        return proc, proc.stdout.readline()

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_prints_a_loopback_url_with_token_and_serves(start: object) -> None:
    _, line = start("--theatre=OR-1")  # type: ignore[operator]
    url = line.split(" at ", 1)[1].strip()
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.query.startswith("token=")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", f"/?{parts.query}")
    response = conn.getresponse()
    assert response.status == 303
    cookie = response.getheader("set-cookie", "").split(";")[0]
    response.read()
    conn.request("GET", "/api/config", headers={"Cookie": cookie})
    config = conn.getresponse()
    assert config.status == 200
    assert b"OR-1" in config.read()
    conn.close()


def test_another_host_prints_a_warning(start: object) -> None:
    proc, line = start("--host", "127.0.0.2")  # type: ignore[operator]
    assert "http://127.0.0.2:" in line
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    assert "WARNING" in err


def test_bad_options_exit_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "thread_order_ui.cli", "missing.py"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert "file or directory not found" in result.stderr
