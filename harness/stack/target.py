"""The target file a running reference stack describes itself with (TGT-1..6)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.signaling import Mode
from harness.stack.plan import INGRESS_HOLD_S, SIGNALING_TIMEOUT_S, Plan
from harness.target.model import (
    Capabilities,
    ClientSettings,
    ControlUrls,
    Endpoints,
    HostPort,
    Limits,
    ReferenceInfo,
    Target,
)
from harness.target.writer import write_target


def _url(address: tuple[str, int]) -> str:
    return f"http://{address[0]}:{address[1]}"


def build_target(
    plan: Plan,
    *,
    run_dir: Path,
    session: str,
    seed: int,
    backend: str,
    maps: dict[str, Path],
) -> Target:
    topology = plan.topology
    dns_host, dns_port = plan.dns_public
    reference_extra: dict[str, Any] = {
        "session": session,
        "run_dir": str(run_dir),
        "logs_dir": str(run_dir / "logs"),
        "maps_dir": str(run_dir / "maps"),
        "network": topology.network,
        "seed": seed,
        "map_versions": sorted(maps),
        "client_subnets": dict(plan.client_subnets),
        "links": {
            link.name: {
                "proxy": link.name,
                "kind": link.kind.value,
                "protocol": link.transport.value,
                "listen": f"{link.listen[0]}:{link.listen[1]}",
                "upstream": f"{link.upstream[0]}:{link.upstream[1]}",
                "latency_ms": link.latency_ms,
            }
            for link in plan.links
        },
        "components": {
            component.name: {
                "role": component.role.value,
                "group": component.group,
                "ip": component.ip,
            }
            for component in plan.components()
        },
    }
    return Target(
        name=f"ullc-reference ({topology.name}, {backend})",
        endpoints=Endpoints(
            gateway=plan.gateway_url,
            dns=HostPort(dns_host, dns_port),
            global_endpoint=topology.global_endpoint,
            global_port=plan.edge_public(topology.edges[0])[1],
        ),
        control=ControlUrls(
            gateway=_url(plan.gateway_control),
            edges=MappingProxyType({name: _url(e.control) for name, e in plan.edges.items()}),
            dcs=MappingProxyType({name: _url(d.control) for name, d in plan.dcs.items()}),
        ),
        capabilities=Capabilities(
            modes=frozenset({Mode.ULLC, Mode.SEQUENTIAL}),
            latency_map_control=True,
            outage_control=False,  # CTL-5 is unnecessary: the backend kills/pauses processes
            session_listing=True,
        ),
        client=ClientSettings(bind_ip=plan.client_ip()),
        limits=Limits(
            session_ttl_ms=topology.session_ttl_ms,
            signaling_timeout_ms=int(SIGNALING_TIMEOUT_S * 1000),
            hold_ms=round(INGRESS_HOLD_S * 1000),
        ),
        reference=ReferenceInfo(
            backend=backend,
            topology=run_dir / "topology.json",
            hop_api=_url(plan.hop_api),
            proxies=MappingProxyType({link.name: link.name for link in plan.links}),
            extra=MappingProxyType(reference_extra),
        ),
    )


def write_stack_target(target: Target, path: Path) -> Path:
    return write_target(target, path)
