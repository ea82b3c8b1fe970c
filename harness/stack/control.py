"""The control API of specs/control-api.md (CTL-1..3), shared by gateway, edges and DCs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.routing import LatencyMap, LatencyMapError

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
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    return runner
