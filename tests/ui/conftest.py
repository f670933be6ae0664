"""Fixtures for the dashboard tests: sessions on example suites, an authenticated TestClient,
a live uvicorn server and a Playwright browser driving Debian's chromium (skipped without it)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from thread_order_cli.options import RunOptions
from thread_order_ui import Session, create_app
from thread_order_ui.security import csrf_value

REPO = Path(__file__).resolve().parents[2]
SUITES = Path(__file__).resolve().parent / "suites"
SURGERY = str(REPO / "examples" / "surgery.py")
SLOW = str(REPO / "examples" / "cli" / "slow.py")
MIXED = str(SUITES / "mixed.py")
TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8000"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TDRUN_UI_ARTIFACTS", str(REPO / "build" / "ui-screenshots")))
DOCS_IMAGES = REPO / "docs" / "images"
XSS = "<img src=x onerror=alert(1)>"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives a real browser (Debian's chromium)")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("TDRUN_HISTORY", "TDRUN_UI_TOKEN", "THREAD_ORDER_NO_EXTENSIONS"):
        monkeypatch.delenv(var, raising=False)
    for name in [m for m, mod in sys.modules.items() if _is_suite(mod)]:
        monkeypatch.delitem(sys.modules, name)


def _is_suite(module: object) -> bool:
    file = getattr(module, "__file__", None) or ""
    return str(SUITES) in file or str(REPO / "examples") in file or "pytest-of" in file


MakeSession = Callable[..., Session]


@pytest.fixture
def make_session(tmp_path: Path) -> MakeSession:
    def make(*targets: str, extras: tuple[str, ...] = (), **options: Any) -> Session:
        options.setdefault("history", str(tmp_path / "history.db"))
        opts = RunOptions(targets=list(targets), extras=list(extras), **options)
        return Session(opts, layout_engine="builtin")

    return make


def authed_client(session: Session) -> TestClient:
    client = TestClient(create_app(session, token=TOKEN, idle_wait=0), base_url=BASE)
    response = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def post_headers() -> dict[str, str]:
    return {"Origin": BASE, "X-Token": csrf_value(TOKEN), "Content-Type": "application/json"}


def read_events(client: TestClient, after: int = 0) -> list[dict[str, Any]]:
    response = client.get(f"/events?after={after}")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = []
    for block in response.text.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events += json.loads("".join(data))
    return events


def run_and_wait(client: TestClient, session: Session, **body: Any) -> list[dict[str, Any]]:
    response = client.post("/api/run", content=json.dumps(body), headers=post_headers())
    assert response.status_code == 202, response.text
    session.wait(30)
    return read_events(client)


# ---- browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser for the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev dependency group)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Session], str]]:
    """``serve(session)`` starts a real uvicorn on 127.0.0.1:0 and returns its base URL."""
    from thread_order_ui.server import start_in_thread

    running = []

    def start(session: Session) -> str:
        server = start_in_thread(create_app(session, token=TOKEN, idle_wait=2))
        running.append(server)
        return server.base_url

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.errors = errors
    yield pg
    context.close()
    assert not errors, errors


def screenshot(page: Any, name: str) -> None:
    """Save ``ui-NAME.png`` as a CI artefact; with TDRUN_UI_UPDATE_DOCS=1 also into docs/images."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"ui-{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("TDRUN_UI_UPDATE_DOCS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOCS_IMAGES / f"ui-{name}.png").write_bytes(path.read_bytes())
