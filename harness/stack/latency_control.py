"""Swap the latency map of the gateway or an edge through its control API (CTL-3)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from harness.stack.errors import StackStartError, UnknownComponentError
from harness.stack.local import probes
from harness.stack.plan import Plan


def set_latency_map(
    plan: Plan, map_files: Mapping[str, Path], component: str, version: str
) -> None:
    """PUT map ``version`` (a key of ``map_files``) on ``gateway`` or an edge."""
    if version not in map_files:
        raise UnknownComponentError(
            f"no latency map version {version!r}",
            hint=f"versions: {', '.join(sorted(map_files))}",
        )
    if component == "gateway":
        address = plan.gateway_control
    elif component in plan.edges:
        address = plan.edges[component].control
    else:
        raise UnknownComponentError(
            f"{component!r} does not route (only the gateway and edges hold a map)",
            hint=f"routing components: gateway, {', '.join(plan.edges)}",
        )
    body = json.loads(map_files[version].read_text(encoding="utf-8"))
    client = probes.Http(address, timeout=2.0)
    try:
        status, reply = client.request("PUT", "/control/latency-map", body)
    finally:
        client.close()
    if status != 200:
        raise StackStartError(f"{component} refused map {version}: {status} {reply}")
