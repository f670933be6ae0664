"""``tdrun SUITE --ui`` serves the dashboard for the suite, like ``tdrun-ui SUITE``."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("thread_order_ui", reason="the dashboard (thread-order[ui]) is not installed")

ROOT = Path(__file__).resolve().parents[2]


def test_ui_option_prints_a_loopback_url_with_a_token_and_serves_it() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "thread_order_cli", str(ROOT / "examples" / "surgery.py"), "--ui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        url = line.split(" at ", 1)[1].strip()
        assert "token=" in url
        # the token is swapped for a cookie and the URL redirected: keep the cookie, as a browser
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(url, timeout=10) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes
