"""The control API's map swap (CTL-3) refuses invalid maps, including unknown DCs (ROUTE-4).

Served for real by aiohttp on loopback, as the gateway and edges serve it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from harness.routing import LatencyMap
from harness.stack.control import MapHolder, control_routes, start_site

KNOWN = frozenset({"dc-eu", "dc-us"})
TRUE_MAP = {
    "version": "true",
    "default_dc": "dc-us",
    "edges": {"127.77.20.1": {"dc-us": 30, "dc-eu": 70}},
}


async def _put_then_get(body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    holder = MapHolder(LatencyMap.from_json(TRUE_MAP), known_dcs=KNOWN)
    app = web.Application()
    control_routes(
        app, component="gateway", role="gateway", maps=holder, log=logging.getLogger("t")
    )
    runner = await start_site(app, "127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}/control/latency-map"
        async with aiohttp.ClientSession() as session:
            async with session.put(base, json=body) as put:
                status, answer = put.status, await put.json()
            async with session.get(base) as get:
                current = await get.json()
        return status, answer, current
    finally:
        await runner.cleanup()


@pytest.mark.requirements("ROUTE-4", "CTL-3")
@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("unknown default_dc", {**TRUE_MAP, "version": "v2", "default_dc": "dc-mars"}),
        (
            "unknown DC under an edge",
            {**TRUE_MAP, "version": "v2", "edges": {"127.77.20.1": {"dc-mars": 1, "dc-us": 30}}},
        ),
    ],
)
def test_a_map_naming_an_unknown_dc_is_refused_and_the_old_map_kept(
    name: str, body: dict[str, Any]
) -> None:
    status, answer, current = asyncio.run(_put_then_get(body))
    assert status == 400, name
    assert answer["status"] == 400
    assert "dc-mars" in answer["error"]
    assert current["version"] == "true"


@pytest.mark.requirements("CTL-3", "CTL-6")
def test_a_map_of_known_dcs_is_swapped_in() -> None:
    only_eu = {
        "version": "ullc-harness-all-to-dc-eu",
        "default_dc": "dc-eu",
        "edges": {"127.77.20.1": {"dc-eu": 1}},
    }
    status, answer, current = asyncio.run(_put_then_get(only_eu))
    assert (status, answer) == (200, {"map_version": "ullc-harness-all-to-dc-eu"})
    assert current["version"] == "ullc-harness-all-to-dc-eu"
