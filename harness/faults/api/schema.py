"""JSON bodies of the Toxiproxy API -> dataclasses (the only place raw dicts are read).

Checks follow Toxiproxy's order and messages (api.go, toxic_collection.go) so a
client sees the same status for the same mistake.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.faults import errors
from harness.faults.model import (
    Protocol,
    ProxyConfig,
    ProxyProtocolVersion,
    Stream,
    ToxicConfig,
)
from harness.faults.toxics import registry

DEFAULT_LISTEN = "127.0.0.1:0"


def loads(body: bytes) -> Any:
    if not body.strip():
        raise errors.bad_request("EOF")  # Go's decoder says EOF for an empty body
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.bad_request(str(error)) from None


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.bad_request(f"expected a JSON object, got {type(data).__name__}")
    return data


def _string(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise errors.bad_request(f"field {key!r} must be a string, got {value!r}")
    return value


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:  # JSON null leaves Go's field at its default
        return default
    if not isinstance(value, bool):
        raise errors.bad_request(f"field {key!r} must be true or false, got {value!r}")
    return value


def _number(data: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise errors.bad_request(f"field {key!r} must be a number, got {value!r}")
    if not low <= value <= high:
        raise errors.bad_request(f"field {key!r} must be in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _extensions(data: dict[str, Any], base: ProxyConfig) -> ProxyConfig:
    protocol = base.protocol
    if "protocol" in data:
        try:
            protocol = Protocol(_string(data, "protocol", "tcp"))
        except ValueError:
            raise errors.bad_request("field 'protocol' must be 'tcp' or 'udp'") from None
    proxy_protocol = base.proxy_protocol
    if "proxy_protocol" in data:
        raw = data["proxy_protocol"]
        if raw is None:
            proxy_protocol = None
        elif raw == ProxyProtocolVersion.V2.value:
            proxy_protocol = ProxyProtocolVersion.V2
        else:
            raise errors.bad_request("field 'proxy_protocol' must be 'v2' or null")
    if proxy_protocol is not None and protocol is not Protocol.UDP:
        raise errors.bad_request("'proxy_protocol' is only supported on udp proxies")
    capture = int(_number(data, "capture", base.capture, low=0, high=10_000_000))
    idle = _number(data, "flow_idle_timeout", base.flow_idle_timeout, low=0.01, high=86400)
    max_flows = int(_number(data, "max_flows", base.max_flows, low=1, high=1_000_000))
    return replace(
        base,
        protocol=protocol,
        proxy_protocol=proxy_protocol,
        capture=capture,
        flow_idle_timeout=idle,
        max_flows=max_flows,
    )


def proxy_create(data: Any, *, position: int | None = None) -> ProxyConfig:
    """POST /proxies (and one element of /populate, numbered from 1 in messages).

    Only ``name`` and ``upstream`` are checked here, as Toxiproxy does; a listen
    address that does not parse fails when the proxy starts (500, Go's wording).
    """
    data = _object(data)
    where = f" at proxy {position}" if position is not None else ""
    name = _string(data, "name")
    if not name:
        raise errors.missing_field(f"name{where}")
    upstream = _string(data, "upstream")
    if not upstream:
        raise errors.missing_field(f"upstream{where}")
    listen = _string(data, "listen", DEFAULT_LISTEN) or DEFAULT_LISTEN
    base = ProxyConfig(
        name=name, listen=listen, upstream=upstream, enabled=_bool(data, "enabled", True)
    )
    return _extensions(data, base)


def proxy_update(existing: ProxyConfig, data: Any) -> ProxyConfig:
    """POST/PATCH /proxies/{name}: absent fields keep their current values."""
    data = _object(data)
    if "protocol" in data and data["protocol"] != existing.protocol.value:
        raise errors.bad_request("a proxy's protocol cannot change; delete and recreate it")
    listen = _string(data, "listen", existing.listen) or existing.listen
    upstream = _string(data, "upstream", existing.upstream) or existing.upstream
    updated = replace(
        existing, listen=listen, upstream=upstream, enabled=_bool(data, "enabled", existing.enabled)
    )
    return _extensions(data, updated)


def populate(data: Any) -> list[ProxyConfig]:
    """Every element is checked before any proxy is created (Toxiproxy's order)."""
    if not isinstance(data, list):
        raise errors.bad_request("expected a JSON array of proxies")
    return [proxy_create(item, position=index + 1) for index, item in enumerate(data)]


def _toxicity(data: dict[str, Any], default: float, warnings: list[str]) -> float:
    value = data.get("toxicity")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise errors.bad_request(f"field 'toxicity' must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        # Toxiproxy accepts it: above 1 always applies, below 0 never does.
        warnings.append(f"toxicity {value!r} is outside 0..1 (treated as {min(max(value, 0), 1)})")
    return float(value)


def _stream(data: dict[str, Any]) -> tuple[Stream, str]:
    """Toxiproxy parses the stream case-insensitively; an empty string is invalid there."""
    raw = data.get("stream", "downstream")
    if raw is None:
        raw = "downstream"
    if not isinstance(raw, str):
        raise errors.bad_request(f"field 'stream' must be a string, got {raw!r}")
    try:
        return Stream(raw.lower()), raw
    except ValueError:
        raise errors.invalid_stream() from None


def toxic_create(
    data: Any, protocol: Protocol, exists: Callable[[str], bool], warnings: list[str]
) -> ToxicConfig:
    """POST /proxies/{name}/toxics.

    Checked in Toxiproxy's order: body, stream, type, name clash, attributes.
    """
    data = _object(data)
    stream, raw_stream = _stream(data)
    type_name = _string(data, "type")
    name = _string(data, "name") or f"{type_name}_{raw_stream}"
    registry.toxic_class(protocol, type_name)
    if exists(name):
        raise errors.toxic_exists()
    attributes = registry.validate_attributes(protocol, type_name, data.get("attributes"), warnings)
    toxicity = _toxicity(data, 1.0, warnings)
    return ToxicConfig(name, type_name, stream, toxicity, attributes)


def toxic_update(
    existing: ToxicConfig, protocol: Protocol, data: Any, warnings: list[str]
) -> ToxicConfig:
    """POST/PATCH /proxies/{name}/toxics/{toxic}: merge attributes, maybe change toxicity."""
    data = _object(data)
    given = data.get("attributes") or {}
    if not isinstance(given, dict):
        raise errors.bad_request("attributes must be a JSON object")
    merged = {**existing.attributes, **given}
    attributes = registry.validate_attributes(protocol, existing.type, merged, warnings)
    toxicity = _toxicity(data, existing.toxicity, warnings)
    return replace(existing, attributes=attributes, toxicity=toxicity)
