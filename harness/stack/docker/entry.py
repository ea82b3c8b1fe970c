"""What runs inside each container: ``python -m harness.stack.docker RUN_DIR NAME``.

The run directory is mounted at the same path as on the host, so a component
reads the stack's inputs and writes its ready marker and log exactly as under
the local supervisor. One component per container; Docker is its supervisor
(kill, pause and restart are container operations).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.stack.components import COMPONENT_MODULES
from harness.stack.defects import parse_defects
from harness.stack.plan import Component, Plan, Role
from harness.stack.runtime import (
    ComponentContext,
    log_to_stderr,
    run_component,
    run_hop_server,
)
from harness.stack.topology import load_topology, relocate

PRIVATE = "10.0.0.0/8"
"""Where docker stacks are laid out (their internal networks' subnets)."""


def load_plan(run_dir: Path) -> tuple[dict[str, Any], Plan]:
    spec: dict[str, Any] = json.loads((run_dir / "stack.json").read_text())
    # No schema check: the runner checked this file before writing stack.json, and
    # each of ~18 containers would pay the validator's import for nothing.
    topology = load_topology(Path(spec["topology"]), schema=False)
    topology = relocate(topology, spec["network"], within=PRIVATE)
    return spec, Plan(topology, hops=bool(spec.get("hops", True)))


def hop_addresses(plan: Plan) -> list[str]:
    """Every address of the hop's network namespace: its API first, every link's listen
    IP, and every component's address (the components join this namespace)."""
    found = [plan.hop_api[0]]
    wanted = [link.listen[0] for link in plan.links]
    wanted += [component.ip for component in plan.components()]
    for address in wanted:
        if address not in found:
            found.append(address)
    return found


def _log_to(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def redis_argv(plan: Plan, component: Component, config: Path) -> list[str]:
    """A DC's redis-server command line (the backend runs it as the container's command).

    ``config`` carries the run's password (store_password.py: argv is public).
    """
    host, port = plan.dcs[component.group].redis
    # No persistence: sessions live for their TTL only (SESS-2).
    return [
        "redis-server", str(config), "--bind", host, "--port", str(port), "--save", "",
        "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no", "--logfile", "",
        "--dir", "/tmp", "--databases", "1",
    ]  # fmt: skip


def _run_hop(spec: dict[str, Any], plan: Plan, ctx: ComponentContext) -> None:
    # The namespace holds every link's listen address and every component's (they
    # bind theirs at once: ip_nonlocal_bind); the host reaches them over the bridge
    # (the kernel answers ARP for any address of the namespace).
    # One `ip -batch` for all ~28 addresses: a process each costs seconds on a loaded host.
    commands = "".join(f"addr add {address}/32 dev eth0\n" for address in hop_addresses(plan)[1:])
    subprocess.run(["ip", "-force", "-batch", "-"], input=commands.encode(), check=False)
    # Off the loopback on purpose: the links listen on the run's --internal network,
    # which only this run's containers and the host's bridge reach.
    run_hop_server(ctx, int(spec.get("seed", 0)), allow_remote_listen=True)


def main(argv: list[str]) -> int:
    run_dir, name = Path(argv[0]), argv[1]
    spec, plan = load_plan(run_dir)
    component = plan.component(name)
    _log_to(run_dir / "logs" / f"{name}.log")
    if component.role is Role.REDIS:
        raise SystemExit("redis runs as its container's own command (DockerBackend._command)")
    log_to_stderr()
    ctx = ComponentContext(plan, component, run_dir, parse_defects(spec.get("defects", [])))
    # When the interpreter got here (imports done): the start-up budget's first split.
    ctx.log.info("entry started (%.3f CPU-s)", time.process_time())
    if component.role is Role.HOP:
        importlib.import_module("harness.faults.api.server")
        _collector_back_on()
        _run_hop(spec, plan, ctx)
        return 0
    importlib.import_module(COMPONENT_MODULES[component.role])
    _collector_back_on()
    return run_component(ctx)


def _collector_back_on() -> None:
    """After the imports (see ``__main__``): what they made lives as long as the process,
    so it is frozen out of the collector's way, and the collector runs again."""
    gc.freeze()
    gc.enable()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
