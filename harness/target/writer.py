"""Write a :class:`~harness.target.model.Target` back to TOML (what ``ullc-harness up`` emits)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomli_w

from harness.signaling.messages import Mode
from harness.target.model import Target


def _plain(value: Any) -> Any:
    """TOML-ready form: paths absolute (the file may move, TGT-3), mappings as dicts."""
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def target_to_dict(target: Target) -> dict[str, Any]:
    """The target file's tables; keys left at None are omitted (TOML has no null)."""
    endpoints: dict[str, Any] = {}
    if target.endpoints.gateway is not None:
        endpoints["gateway"] = target.endpoints.gateway
    if target.endpoints.dns is not None and target.endpoints.global_endpoint is not None:
        endpoints["dns"] = str(target.endpoints.dns)
        endpoints["global_endpoint"] = (
            f"{target.endpoints.global_endpoint}:{target.endpoints.global_port}"
        )
    names = target.endpoints.edge_names
    if target.endpoints.edges and names and all(edge in names for edge in target.endpoints.edges):
        endpoints["edges"] = {names[edge]: str(edge) for edge in target.endpoints.edges}
    elif target.endpoints.edges:
        endpoints["edges"] = [str(edge) for edge in target.endpoints.edges]
    if target.endpoints.stun is not None:
        endpoints["stun"] = str(target.endpoints.stun)

    body: dict[str, Any] = {"target": {"name": target.name}, "endpoints": endpoints}
    control: dict[str, Any] = {}
    if target.control.gateway is not None:
        control["gateway"] = target.control.gateway
    if target.control.edges:
        control["edges"] = dict(target.control.edges)
    if target.control.dcs:
        control["dcs"] = dict(target.control.dcs)
    if control:
        body["control"] = control

    capabilities = target.capabilities
    body["capabilities"] = {
        # Sorted in Mode declaration order so the file is stable run to run.
        "modes": [mode.value for mode in Mode if mode in capabilities.modes],
        "latency_map_control": capabilities.latency_map_control,
        "outage_control": capabilities.outage_control,
        "session_listing": capabilities.session_listing,
        "stun_only": capabilities.stun_only,
    }
    if target.client.bind_ip is not None:
        body["client"] = {"bind_ip": target.client.bind_ip}
    limits = target.limits
    body["limits"] = {
        "connect_budget_ms": limits.connect_budget_ms,
        "fallback_ms": limits.fallback_ms,
        "session_ttl_ms": limits.session_ttl_ms,
        "signaling_timeout_ms": limits.signaling_timeout_ms,
        "pacing_ms": limits.pacing_ms,
        "hold_ms": limits.hold_ms,
    }
    if target.stun is not None:
        stun: dict[str, Any] = {"profile": target.stun.profile}
        for key in ("ufrag", "pwd", "client_ufrag"):
            value = getattr(target.stun, key)
            if value is not None:
                stun[key] = value
        if target.stun.known_deviations:
            stun["known_deviations"] = dict(target.stun.known_deviations)
        body["stun"] = stun
    if target.reference is not None:
        reference: dict[str, Any] = {}
        if target.reference.backend is not None:
            reference["backend"] = target.reference.backend
        if target.reference.topology is not None:
            reference["topology"] = _plain(target.reference.topology)
        if target.reference.hop_api is not None:
            reference["hop_api"] = target.reference.hop_api
        if target.reference.proxies:
            reference["proxies"] = dict(target.reference.proxies)
        reference.update(_plain(dict(target.reference.extra)))
        body["reference"] = reference
    return body


def target_to_toml(target: Target) -> str:
    return tomli_w.dumps(target_to_dict(target))


def write_target(target: Target, path: str | Path) -> Path:
    """Write the target file atomically (a reader never sees half a file); returns the path."""
    destination = Path(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".target-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(target_to_toml(target))
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination
