"""The control API of specs/control-api.md (CTL-1..3), shared by gateway, edges and DCs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.routing import LatencyMap, LatencyMapError
from harness.stack.request_deadline import DeadlineSite

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MapHolder:
    """The latency map a routing component uses; one reference, swapped atomically (ROUTE-5).

    Readers take ``holder.current`` once per decision, so a swap between two
    decisions never mixes versions.
    """

    def __init__(self, initial: LatencyMap, known_dcs: frozenset[str] | None = None) -> None:
        self.current = initial
        self.known_dcs = known_dcs
        """The DCs this component can reach; None accepts any (a component that never routes)."""

    def unknown_dcs(self, candidate: LatencyMap) -> list[str]:
        """DCs ``candidate`` names that this component does not know (ROUTE-4: invalid)."""
        if self.known_dcs is None:
            return []
        return sorted(candidate.dcs() - self.known_dcs)

    def swap(self, new: LatencyMap) -> None:
        self.current = new


def error_response(message: str, status: int) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


class BadInput(Exception):
    """A request body a handler cannot use: answered 400 with the message (never 500)."""


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's body as a JSON object; raises :class:`BadInput` for anything else."""
    raw = await request.read()
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadInput("body is JSON nested too deeply") from None
    except ValueError as error:
        raise BadInput(f"body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadInput(f"body must be a JSON object, not {type(body).__name__}")
    return body


def text_field(body: dict[str, Any], *path: str) -> str:
    """``body[path[0]][path[1]]...`` as a string; :class:`BadInput` naming the field if not."""
    value: Any = body
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            raise BadInput(f"missing field {'.'.join(path[: depth + 1])}")
        value = value[key]
    if not isinstance(value, str):
        raise BadInput(f"field {'.'.join(path)} must be a string")
    return value


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer of a stack HTTP server is JSON: 400 for bad input, 500 for our own bug."""
    try:
        return await handler(request)
    except BadInput as error:
        return error_response(str(error), 400)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(error.reason, error.status)
    except Exception as error:
        logging.getLogger("http").exception("%s %s failed", request.method, request.path)
        return error_response(f"internal error: {type(error).__name__}", 500)


def control_routes(
    app: web.Application,
    *,
    component: str,
    role: str,
    maps: MapHolder | None,
    log: logging.Logger,
    health_extra: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Add /control/health and, for routing components, /control/latency-map."""

    async def health(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"component": component, "role": role, "status": "ok"}
        if maps is not None:
            body["map_version"] = maps.current.version
        if health_extra is not None:
            body.update(health_extra())
        return web.json_response(body)

    async def get_map(request: web.Request) -> web.Response:
        assert maps is not None
        return web.json_response(maps.current.to_json())

    async def put_map(request: web.Request) -> web.Response:
        assert maps is not None
        try:
            body = json.loads(await request.read())
            new = LatencyMap.from_json(body, source="PUT /control/latency-map")
        except (ValueError, LatencyMapError) as error:
            # ROUTE-4: refuse, keep the previous map, and say so.
            log.warning("refused latency map: %s", getattr(error, "message", error))
            return error_response(f"invalid latency map: {getattr(error, 'message', error)}", 400)
        unknown = maps.unknown_dcs(new)
        if unknown:
            # ROUTE-4: a map naming a DC we cannot reach is invalid, refused like any
            # other, rather than accepted to fail every call routed by it later.
            message = (
                f"invalid latency map {new.version!r}: it names DC(s) {', '.join(unknown)} "
                f"that {component} does not know (known: {', '.join(sorted(maps.known_dcs or ()))})"
            )
            log.warning("refused latency map: %s", message)
            return error_response(message, 400)
        old = maps.current.version
        maps.swap(new)
        log.info("latency map %s -> %s", old, new.version)
        return web.json_response({"map_version": new.version})

    app.router.add_get("/control/health", health)
    if maps is not None:
        app.router.add_get("/control/latency-map", get_map)
        app.router.add_put("/control/latency-map", put_map)


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app``; the caller keeps the runner and cleans it up at stop."""
    # Every stack HTTP server answers JSON (400 for bad input, never a bare 500) and
    # closes requests that stall half-sent (slowloris).
    app.middlewares.append(json_errors)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await DeadlineSite(runner, host, port, reuse_address=True).start()
    return runner
