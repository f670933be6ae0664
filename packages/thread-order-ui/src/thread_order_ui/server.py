"""Serving the app with uvicorn on a socket we bind ourselves (so port 0 gives a known port)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass
class Running:
    """A server started on a thread (tests and ``--ui``): stop it with ``stop()``."""

    server: uvicorn.Server
    thread: threading.Thread
    app: Starlette
    base_url: str

    def stop(self) -> None:
        self.app.state.dashboard.closing = True
        self.app.state.dashboard.session.close()
        self.server.should_exit = True
        self.thread.join(10)


def make_server(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, access_log=False
    )
    return uvicorn.Server(config)


def start_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Running:
    sock = bind(host, port)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    real_port = sock.getsockname()[1]
    return Running(server, thread, app, f"http://{url_host(host)}:{real_port}")
