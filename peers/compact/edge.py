"""An edge: receives checks on its client-facing IP, routes by its own map (ROUTE-1), relays.

The relay is in-process: the DC answers through the edge's socket, so the answer
comes from the address the check was sent to (STUN-33) and the bot's
XOR-MAPPED-ADDRESS is the client's address as the edge saw it (SESS-3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from peers.compact import control
from peers.compact.dc import DataCenter
from peers.compact.routing import LatencyMap
from peers.compact.udp import listen


class Edge:
    def __init__(
        self,
        name: str,
        media: tuple[str, int],
        control_addr: tuple[str, int],
        latency_map: LatencyMap,
        dcs: dict[str, DataCenter],
    ) -> None:
        self.name = name
        self.media = media
        self.control_addr = control_addr
        self.maps = control.MapHolder(latency_map, frozenset(dcs))
        self._dcs = dcs
        self._transport: asyncio.DatagramTransport | None = None
        self._runner: web.AppRunner | None = None

    def receive(self, data: bytes, source: tuple[str, int], reply: Callable[[bytes], None]) -> None:
        # ROUTE-1: the edge's own client-facing IP is the routing input, one map per decision.
        dc = self._dcs.get(self.maps.current.route(self.media[0]))
        if dc is not None:  # a map naming a DC this deployment lacks: nowhere to relay
            dc.receive(data, source, reply)

    def health(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "role": "edge",
            "status": "ok",
            "map_version": self.maps.current.version,
        }

    async def start(self) -> None:
        self._transport = await listen(*self.media, self.receive)
        self._runner = await control.serve(
            control.routing_app(self.health, self.maps), *self.control_addr
        )

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._runner is not None:
            await self._runner.cleanup()
