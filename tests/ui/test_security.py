"""Every rule of the security checklist, each refused on its own."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from thread_order_ui import create_app
from thread_order_ui.security import CSP, host_name

from .conftest import BASE, MIXED, TOKEN, MakeSession, authed_client, post_headers, run_and_wait

ROUTES = ["/", "/events", "/api/config", "/api/history", "/api/trace", "/static/app.js"]


@pytest.fixture
def client(make_session: MakeSession) -> TestClient:
    return authed_client(make_session(MIXED))


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", ""])
def test_bad_host_is_refused_on_every_route(client: TestClient, path: str, host: str) -> None:
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:1234", "[::1]:9", "LOCALHOST"])
def test_local_hosts_pass(client: TestClient, host: str) -> None:
    assert client.get("/api/config", headers={"Host": host}).status_code == 200


def test_extra_hosts_are_allowed_only_when_given(make_session: MakeSession) -> None:
    app = create_app(make_session(MIXED), token=TOKEN, hosts=["box.lan"], idle_wait=0)
    client = TestClient(app, base_url="http://box.lan:8000")
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
    assert host_name("[::1]:80") == "[::1]"


@pytest.mark.parametrize("path", ROUTES)
def test_missing_token_is_refused(make_session: MakeSession, path: str) -> None:
    client = TestClient(create_app(make_session(MIXED), token=TOKEN, idle_wait=0), base_url=BASE)
    assert client.get(path).status_code == 401


def test_wrong_token_is_refused(make_session: MakeSession) -> None:
    client = TestClient(create_app(make_session(MIXED), token=TOKEN, idle_wait=0), base_url=BASE)
    assert client.get("/?token=nope", follow_redirects=False).status_code == 403
    client.cookies.set("tdrun_ui", "nope")
    assert client.get("/api/config").status_code == 401


def test_token_becomes_an_httponly_strict_cookie_and_leaves_the_url(
    make_session: MakeSession,
) -> None:
    client = TestClient(create_app(make_session(MIXED), token=TOKEN, idle_wait=0), base_url=BASE)
    response = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert TOKEN not in page.text  # the page gets a derived X-Token, never the cookie's token


def _post(client: TestClient, headers: dict[str, str], body: str = "{}") -> int:
    return client.post("/api/cancel", content=body, headers=headers).status_code


def test_a_proper_post_passes(client: TestClient) -> None:
    assert _post(client, post_headers()) == 200


@pytest.mark.parametrize("origin", [None, "http://evil.example", "null", "http://127.0.0.1:9999"])
def test_foreign_or_missing_origin_is_refused(client: TestClient, origin: str | None) -> None:
    headers = post_headers()
    del headers["Origin"]
    if origin is not None:
        headers["Origin"] = origin
    assert _post(client, headers) == 403


@pytest.mark.parametrize(
    "ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_type_is_refused(client: TestClient, ctype: str | None) -> None:
    headers = post_headers()
    del headers["Content-Type"]
    if ctype is not None:
        headers["Content-Type"] = ctype
    assert _post(client, headers) == 415


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN])
def test_missing_or_wrong_x_token_is_refused(client: TestClient, token: str | None) -> None:
    headers = post_headers()
    del headers["X-Token"]
    if token is not None:
        headers["X-Token"] = token
    assert _post(client, headers) == 403


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
def test_every_unsafe_method_needs_the_same_proof(client: TestClient, method: str) -> None:
    # an allow-list of safe methods: anything but GET/HEAD goes through the CSRF checks first
    assert client.request(method, "/api/cancel").status_code == 403


def test_get_never_acts(client: TestClient) -> None:
    assert client.get("/api/run").status_code == 405
    assert client.get("/api/cancel").status_code == 405


def test_no_cors_headers_and_a_strict_csp(client: TestClient) -> None:
    for path in ROUTES:
        response = client.get(path, headers={"Origin": "http://evil.example"})
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP
    assert "unsafe-eval" not in CSP
    assert "frame-ancestors 'none'" in CSP


def test_page_has_no_inline_script_and_js_uses_no_innerhtml() -> None:
    static = (
        Path(__file__).resolve().parents[2] / "packages/thread-order-ui/src/thread_order_ui/static"
    )
    js = (static / "app.js").read_text()
    assert "innerHTML" not in js
    assert "outerHTML" not in js
    assert "insertAdjacentHTML" not in js
    assert "eval(" not in js
    html = (static / "index.html").read_text()
    assert "<script>" not in html
    assert "style=" not in html


def test_no_path_from_the_browser(client: TestClient) -> None:
    assert client.get("/static/../session.py").status_code == 404
    assert client.get("/static/%2e%2e/session.py").status_code == 404
    assert client.get("/api/history/..%2f..%2fetc").status_code == 404


def test_history_database_is_owner_only(make_session: MakeSession, tmp_path: Path) -> None:
    session = make_session(MIXED)
    run_and_wait(authed_client(session), session)
    mode = stat.S_IMODE(os.stat(tmp_path / "history.db").st_mode)
    assert mode == 0o600


def test_hostile_text_is_escaped_in_the_svg_and_plain_in_json(
    make_session: MakeSession,
) -> None:
    session = make_session(MIXED)
    client = authed_client(session)
    events = run_and_wait(client, session)
    finished = [e for e in events if e["type"] == "finished" and e["error"]]
    assert finished[0]["error"]["message"] == "<img src=x onerror=alert(1)>"
    raw = client.get("/events").text
    assert json.loads(raw.split("data: ", 1)[1].split("\n", 1)[0])  # the stream is JSON
