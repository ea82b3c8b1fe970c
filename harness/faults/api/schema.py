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
    split_host_port,
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
    value = data.get(key, default)
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


def _address(key: str, value: str) -> str:
    try:
        split_host_port(value)
    except ValueError as error:
        raise errors.bad_request(f"field {key!r}: {error}") from None
    return value


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
    return replace(
        base,
        protocol=protocol,
        proxy_protocol=proxy_protocol,
        capture=capture,
        flow_idle_timeout=idle,
    )


def proxy_create(data: Any, *, position: int | None = None) -> ProxyConfig:
    """POST /proxies (and one element of /populate, numbered from 1 in messages)."""
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
        name=name,
        listen=_address("listen", listen),
        upstream=_address("upstream", upstream),
        enabled=_bool(data, "enabled", True),
    )
    return _extensions(data, base)


def proxy_update(existing: ProxyConfig, data: Any) -> ProxyConfig:
    """POST /proxies/{name}: absent fields keep their current values."""
    data = _object(data)
    if "protocol" in data and data["protocol"] != existing.protocol.value:
        raise errors.bad_request("a proxy's protocol cannot change; delete and recreate it")
    listen = _string(data, "listen", existing.listen) or existing.listen
    upstream = _string(data, "upstream", existing.upstream) or existing.upstream
    updated = replace(
        existing,
        listen=_address("listen", listen),
        upstream=_address("upstream", upstream),
        enabled=_bool(data, "enabled", existing.enabled),
    )
    return _extensions(data, updated)


def populate(data: Any) -> list[ProxyConfig]:
    if not isinstance(data, list):
        raise errors.bad_request("expected a JSON array of proxies")
    configs = [proxy_create(item, position=index + 1) for index, item in enumerate(data)]
    names = [config.name for config in configs]
    for name in names:
        if names.count(name) > 1:
            raise errors.bad_request(f"duplicate proxy name {name!r}")
    return configs


def _toxicity(data: dict[str, Any], default: float) -> float:
    return _number(data, "toxicity", default, low=0.0, high=1.0)


def toxic_create(data: Any, protocol: Protocol, exists: Callable[[str], bool]) -> ToxicConfig:
    """POST /proxies/{name}/toxics.

    Checked in Toxiproxy's order: body, stream, type, name clash, attributes.
    """
    data = _object(data)
    stream_name = _string(data, "stream", "downstream") or "downstream"
    try:
        stream = Stream(stream_name)
    except ValueError:
        raise errors.invalid_stream() from None
    type_name = _string(data, "type")
    name = _string(data, "name") or f"{type_name}_{stream.value}"
    registry.toxic_class(protocol, type_name)
    if exists(name):
        raise errors.toxic_exists()
    attributes = registry.validate_attributes(protocol, type_name, data.get("attributes"))
    return ToxicConfig(name, type_name, stream, _toxicity(data, 1.0), attributes)


def toxic_update(existing: ToxicConfig, protocol: Protocol, data: Any) -> ToxicConfig:
    """POST /proxies/{name}/toxics/{toxic}: merge attributes, maybe change toxicity."""
    data = _object(data)
    given = data.get("attributes") or {}
    if not isinstance(given, dict):
        raise errors.bad_request("attributes must be a JSON object")
    merged = {**existing.attributes, **given}
    attributes = registry.validate_attributes(protocol, existing.type, merged)
    return replace(existing, attributes=attributes, toxicity=_toxicity(data, existing.toxicity))
