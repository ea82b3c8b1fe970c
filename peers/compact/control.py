"""Shared plumbing of the control API (specs/control-api.md): JSON errors, map endpoints, sites."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from peers.compact.routing import InvalidMap, LatencyMap, load_map

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    """CTL errors are {"error": "...", "status": N}."""
    return web.json_response({"error": message, "status": status}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, f"{request.method} {request.path}: {exc.reason}")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; NaN/Infinity are not JSON and are refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not valid JSON")

    text = await request.text()
    try:
        return json.loads(text, parse_constant=refuse)
    except RecursionError as exc:  # nested deeper than the parser goes: a bad body, not a crash
        raise ValueError("the JSON body is nested too deeply") from exc


class MapHolder:
    """The map one routing component uses; replaced whole, never edited (ROUTE-5)."""

    def __init__(self, initial: LatencyMap, known_dcs: frozenset[str]) -> None:
        self.current = initial
        self._known_dcs = known_dcs  # ROUTE-4: a map naming any other DC is refused

    async def get(self, _request: web.Request) -> web.Response:
        return web.json_response(self.current.document)  # CTL-2

    async def put(self, request: web.Request) -> web.Response:
        try:
            # ROUTE-4: validate completely first
            new = load_map(await read_json(request), self._known_dcs)
        except (ValueError, InvalidMap) as exc:
            return error(400, f"latency map refused, the previous one stays in use: {exc}")
        self.current = new  # CTL-3: one assignment, atomic for every later decision
        return web.json_response({"map_version": new.version})


def routing_app(health: Callable[[], dict[str, Any]], maps: MapHolder) -> web.Application:
    """Control API of a routing component (gateway, edge): CTL-1..3."""

    async def get_health(_request: web.Request) -> web.Response:
        return web.json_response(health())

    app = web.Application(middlewares=[json_errors])
    app.router.add_get("/control/health", get_health)
    app.router.add_get("/control/latency-map", maps.get)
    app.router.add_put("/control/latency-map", maps.put)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # SO_REUSEADDR (TCP): bind over the TIME_WAIT of a previous run, never over a live listener.
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    return runner
