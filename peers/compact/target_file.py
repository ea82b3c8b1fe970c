"""The target file this implementation writes about itself (specs/target-file.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from peers.compact.world import GLOBAL_NAME, MEDIA_PORT, Plan


@dataclass(frozen=True)
class Limits:
    hold_ms: int
    session_ttl_ms: int
    signaling_timeout_ms: int
    pacing_ms: int = 50
    connect_budget_ms: int = 1000
    fallback_ms: int = 500


def _q(text: str) -> str:
    return json.dumps(text)  # a TOML basic string for the ASCII we write


def render(world: Plan, limits: Limits, name: str) -> str:
    edges = ", ".join(f"{_q(r.edge)} = {_q(f'http://{r.edge_ip}:9000')}" for r in world.regions)
    dcs = ", ".join(f"{_q(r.dc)} = {_q(f'http://{r.dc_ip}:8080')}" for r in world.regions)
    dns_ip, dns_port = world.dns_addr
    return f"""\
# Written by `python -m peers.compact`: an independent ULLC implementation (peers/compact).
[target]
name = {_q(name)}

[endpoints]
gateway = {_q(f"ws://{world.gateway_ip}:8443/v1/signaling")}
dns = {_q(f"{dns_ip}:{dns_port}")}
global_endpoint = {_q(f"{GLOBAL_NAME}:{MEDIA_PORT}")}

[control]
gateway = {_q(f"http://{world.gateway_ip}:9000")}
edges = {{ {edges} }}
dcs = {{ {dcs} }}

[capabilities]
modes = ["ullc", "sequential"]
latency_map_control = true
outage_control = true
session_listing = true

[client]
bind_ip = {_q(world.client_ip)}

[limits]
connect_budget_ms = {limits.connect_budget_ms}
fallback_ms = {limits.fallback_ms}
session_ttl_ms = {limits.session_ttl_ms}
signaling_timeout_ms = {limits.signaling_timeout_ms}
pacing_ms = {limits.pacing_ms}
hold_ms = {limits.hold_ms}
"""


def write(path: Path, text: str) -> None:
    """Atomically, so a reader never sees half a file (it appears once everything listens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
