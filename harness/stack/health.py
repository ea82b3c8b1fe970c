"""Is a stack healthy? One probe per component, one wait that explains itself (both backends).

Every component writes a ready marker into the run directory once it has bound
its sockets (the docker backend mounts that directory into each container);
the servers are then asked over the wire, from the runner, at the addresses the
plan gives them, so "healthy" means "reachable from where the tests run".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.stack import store_password
from harness.stack.errors import StackStartError
from harness.stack.local import probes
from harness.stack.plan import Component, Plan, Role

LOG_TAIL_LINES = 15


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log, indented, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "    (no log written)"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (log is empty)"


@dataclass
class Prober:
    """The health probe of each component of one stack."""

    plan: Plan
    run_dir: Path
    hop_probe: Callable[[], str | None]
    """The hop is healthy once the topology's toxics are on (:class:`TopologyToxics`)."""

    def log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def probe(self, component: Component) -> str | None:
        """None when ``component`` is healthy, else what it still lacks."""
        plan = self.plan
        if component.role is Role.REDIS:
            password = store_password.read(self.run_dir)
            return probes.redis_ping(plan.dcs[component.group].redis, password)
        if not (self.run_dir / "ready" / component.name).exists():
            return "its ready marker (it has not bound its sockets yet)"
        if component.role is Role.HOP:
            return self.hop_probe()
        if component.role is Role.GATEWAY:
            return probes.http_health(plan.gateway_control)
        if component.role is Role.EDGE:
            return probes.http_health(plan.edges[component.name].control)
        if component.role is Role.HANDLER:
            return probes.http_health(plan.dcs[component.group].control)
        if component.role is Role.DNS:
            return probes.dns_query(
                plan.dns_public, plan.topology.global_endpoint, plan.client_ip()
            )
        return None

    def wait(
        self,
        components: list[Component],
        timeout: float,
        *,
        session: str,
        check_alive: Callable[[], None],
    ) -> None:
        """Until every component answers; StackStartError names the laggard and its log."""
        deadline = time.monotonic() + timeout
        pending: dict[str, str] = {c.name: "ready marker" for c in components}
        last_problem: dict[str, str] = {}
        while pending:
            check_alive()
            for component in components:
                if component.name not in pending:
                    continue
                problem = self.probe(component)
                if problem is None:
                    del pending[component.name]
                else:
                    last_problem[component.name] = problem
            if not pending:
                return
            if time.monotonic() > deadline:
                name = next(iter(pending))
                raise StackStartError(
                    f"component {name} of stack {session} not healthy after {timeout:g} s: "
                    f"waited for {last_problem.get(name, pending[name])}; also pending: "
                    f"{', '.join(sorted(set(pending) - {name})) or 'nothing'}\n"
                    f"last log lines of {name}:\n{tail(self.log(name))}",
                    hint=f"read {self.log(name)} (all logs: {self.run_dir / 'logs'}); "
                    "on a loaded machine pass a longer timeout to wait_healthy",
                )
            time.sleep(0.01)
