"""The Starlette application: the page, the event stream and the JSON actions.

GET routes only read; POST routes act and are guarded by ``security.Guard``. The event stream
(``/events``) replays the current run from the id the browser last saw, follows it live, and
ends once the run is over and nothing new came for ``idle_wait`` seconds (the browser's
EventSource then reconnects by itself with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from thread_order_cli.exitcodes import TdrunError

from . import history
from .layout import layout, render_svg
from .security import Guard, csrf_value
from .session import Busy, RunRequest, Session

STATIC = Path(str(files("thread_order_ui") / "static"))
POLL = 0.05


class Dashboard:
    """Routes bound to one ``Session``; ``closing`` ends open event streams on shutdown."""

    def __init__(self, session: Session, *, token: str, idle_wait: float) -> None:
        self.session = session
        self.token = token
        self.idle_wait = idle_wait
        self.closing = False

    async def index(self, request: Request) -> Response:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        page = page.replace("{{X_TOKEN}}", html.escape(csrf_value(self.token), quote=True))
        return HTMLResponse(page)

    async def config(self, request: Request) -> Response:
        return _guarded(self.session.config)

    async def events(self, request: Request) -> Response:
        raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        after = int(raw) if raw.isdigit() else 0
        return StreamingResponse(
            self._stream(request, after),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request, after: int) -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while not self.closing:
            batch, more = self.session.log.since(after)
            if batch:
                after = batch[-1]["id"]
                idle_since = loop.time()
                yield f"id: {after}\ndata: {json.dumps(batch, separators=(',', ':'))}\n\n"
                continue
            if not more and loop.time() - idle_since >= self.idle_wait:
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL)

    async def run(self, request: Request) -> Response:
        try:
            req = RunRequest.from_json(await request.json())
            await asyncio.to_thread(self.session.start, req)
        except json.JSONDecodeError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        except Busy as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except TdrunError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True}, status_code=202)

    async def cancel(self, request: Request) -> Response:
        return JSONResponse({"cancelled": self.session.cancel()})

    async def history_list(self, request: Request) -> Response:
        return _guarded(lambda: {"runs": history.runs(self.session.base.history)})

    async def history_run(self, request: Request) -> Response:
        run_id = int(request.path_params["run_id"])

        def load() -> dict[str, Any]:
            events = history.run_events(self.session.base.history, run_id, self._suite_graph())
            first = events[0]
            first["svg"] = render_svg(
                layout(first["names"], first["preds"], engine=self.session.layout_engine)
            )
            return {"events": events}

        return await asyncio.to_thread(_guarded, load)

    def _suite_graph(self) -> dict[str, list[str]] | None:
        try:
            _, prep = self.session.prepare(RunRequest())
        except TdrunError:
            return None
        return {t.name: prep.selection.after_of(t) for t in prep.selection.run}

    async def trace(self, request: Request) -> Response:
        import thread_order

        export = getattr(thread_order, "chrome_trace", None)
        if export is None:
            return JSONResponse(
                {"error": "this thread_order has no chrome_trace()"}, status_code=501
            )
        result = self.session.last_result
        if result is None:
            return JSONResponse({"error": "no run finished yet"}, status_code=404)
        return JSONResponse(
            export(result),
            headers={"Content-Disposition": 'attachment; filename="thread-order-trace.json"'},
        )


def _guarded(action: Any) -> Response:
    try:
        return JSONResponse(action())
    except TdrunError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


def create_app(
    session: Session,
    *,
    token: str,
    hosts: Iterable[str] = (),
    idle_wait: float = 15.0,
) -> Starlette:
    """The ASGI app for ``session``, wrapped in ``Guard``. ``app.state.dashboard`` is the
    ``Dashboard`` (set ``closing`` before stopping the server)."""
    d = Dashboard(session, token=token, idle_wait=idle_wait)
    routes = [
        Route("/", d.index),
        Route("/events", d.events),
        Route("/api/config", d.config),
        Route("/api/run", d.run, methods=["POST"]),
        Route("/api/cancel", d.cancel, methods=["POST"]),
        Route("/api/history", d.history_list),
        Route("/api/history/{run_id:int}", d.history_run),
        Route("/api/trace", d.trace),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.dashboard = d
    app.add_middleware(Guard, token=token, hosts=hosts)
    return app
