"""The run directory every backend writes before starting a stack (its only input files).

``stack.json`` (session, network, seed, defects...), ``topology.json``,
``hops.json`` (the hop server's proxies), ``maps/`` (latency map versions) and
``target.toml`` (specs/target-file.md). Components read them (the docker
backend mounts the directory into every container) and write ``ready/``
markers and ``logs/`` back.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.stack.defects import Defect
from harness.stack.maps import write_maps
from harness.stack.plan import Plan
from harness.stack.topology import DEFAULT_NETWORK, LOOPBACK

SUBDIRS = ("pids", "logs", "ready", "exited", "killed", "maps", "redis")


def prepare_run_dir(
    run_dir: Path,
    plan: Plan,
    *,
    session: str,
    seed: int,
    backend: str,
    defects: frozenset[Defect],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write every input file of the stack; returns the latency map files by version."""
    for sub in SUBDIRS:
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    topology = plan.topology
    body = topology.to_json()
    if not ipaddress.IPv4Network(topology.network).subnet_of(ipaddress.IPv4Network(LOOPBACK)):
        # The topology file format (TOPO-7) lays worlds out in 127.0.0.0/8; a docker
        # stack's private /16 is stack.json's "network", which readers relocate to.
        body["network"] = DEFAULT_NETWORK
    (run_dir / "topology.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    spec: dict[str, Any] = {
        "session": session,
        "backend": backend,
        "topology": str(run_dir / "topology.json"),
        "network": topology.network,
        "seed": seed,
        "hops": plan.hops,
        "defects": sorted(d.value for d in defects),
        **(extra or {}),
    }
    (run_dir / "stack.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    proxies = [link.proxy_json() for link in plan.links]
    (run_dir / "hops.json").write_text(json.dumps(proxies, indent=2), encoding="utf-8")
    map_files = write_maps(plan, run_dir / "maps")
    from harness.stack.target import build_target, write_stack_target

    target = build_target(
        plan, run_dir=run_dir, session=session, seed=seed, backend=backend, maps=map_files
    )
    write_stack_target(target, run_dir / "target.toml")
    return map_files
