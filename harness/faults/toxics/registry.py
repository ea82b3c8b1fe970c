"""Toxic type names -> classes, per protocol, and attribute validation.

For Toxiproxy's own toxic types the rules are Toxiproxy's: a value of the wrong
JSON type is a 400, but an unknown attribute is ignored and an out-of-range value
(a negative latency) is taken as Toxiproxy takes it. Both add a *warning* (the
``X-Ullc-Warning`` response header and a log line) so a typo is still visible.
The UDP-only types (loss, loss_burst, ...) are ours, and strict: 400.
"""

from __future__ import annotations

import random
from typing import Any

from harness.faults import errors
from harness.faults.model import AttributeValue, Direction, Protocol, ToxicConfig
from harness.faults.seeding import derive_rng
from harness.faults.toxics.base import SEED_ATTR, Attr, ToxicBase
from harness.faults.toxics.tcp import TCP_TOXICS, TcpToxic
from harness.faults.toxics.udp import UDP_TOXICS, LossBurst, UdpToxic

TCP: dict[str, type[TcpToxic]] = {cls.TYPE: cls for cls in TCP_TOXICS}
UDP: dict[str, type[UdpToxic]] = {cls.TYPE: cls for cls in UDP_TOXICS}
UDP["gilbert_elliott"] = LossBurst  # the model's textbook name, same toxic


def toxic_class(protocol: Protocol, type_name: str) -> type[ToxicBase]:
    """The class for ``type_name`` on ``protocol``; ApiError 400 ``invalid toxic type`` if none."""
    table: dict[str, Any] = TCP if protocol is Protocol.TCP else UDP
    try:
        cls: type[ToxicBase] = table[type_name]
    except KeyError:
        raise errors.invalid_toxic_type() from None
    return cls


def known_types(protocol: Protocol) -> list[str]:
    return sorted(TCP if protocol is Protocol.TCP else UDP)


def _check(attr: Attr, type_name: str, value: Any, strict: bool, warnings: list[str]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.bad_request(
            f"attribute {attr.name!r} of {type_name} must be a number ({attr.unit}), got {value!r}"
        )
    if attr.integer and not float(value).is_integer():
        raise errors.bad_request(f"attribute {attr.name!r} of {type_name} must be an integer")
    if value < attr.minimum or (attr.maximum is not None and value > attr.maximum):
        upper = f" and <= {attr.maximum:g}" if attr.maximum is not None else ""
        message = (
            f"attribute {attr.name!r} of {type_name} should be >= {attr.minimum:g}{upper} "
            f"({attr.unit}), got {value!r}"
        )
        if strict:
            raise errors.bad_request(message.replace("should be", "must be"))
        warnings.append(f"{message}; applied as Toxiproxy does")
    return int(value) if attr.integer else value


def validate_attributes(
    protocol: Protocol, type_name: str, attributes: Any, warnings: list[str] | None = None
) -> dict[str, AttributeValue]:
    """Complete and check ``attributes`` for a toxic type; defaults fill the gaps.

    What Toxiproxy would accept but is suspicious is appended to ``warnings``.
    """
    if warnings is None:
        warnings = []
    cls = toxic_class(protocol, type_name)
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise errors.bad_request("attributes must be a JSON object")
    specs = {attr.name: attr for attr in cls.ATTRIBUTES}
    strict = not cls.TOXIPROXY
    unknown = sorted(set(attributes) - set(specs) - {SEED_ATTR.name})
    if unknown:
        message = (
            f"unknown attribute(s) {', '.join(unknown)} for {type_name} "
            f"(known: {', '.join(sorted(specs)) or 'none'}, seed)"
        )
        if strict:
            raise errors.bad_request(message)
        warnings.append(f"{message}; ignored, as Toxiproxy does")
    result: dict[str, AttributeValue] = {}
    for name, attr in specs.items():
        value = attributes.get(name, attr.default)
        if value is None:  # JSON null leaves a Go struct field at its value
            value = attr.default
        result[name] = _check(attr, type_name, value, strict, warnings)
    if SEED_ATTR.name in attributes:
        result[SEED_ATTR.name] = _check(
            SEED_ATTR, type_name, attributes[SEED_ATTR.name], True, warnings
        )
    return result


def build(
    protocol: Protocol, config: ToxicConfig, direction: Direction, root_seed: int, proxy: str
) -> ToxicBase:
    """A runtime toxic for one direction, with its RNGs derived from the seeds.

    A ``seed`` attribute replaces the hub's root seed for this toxic only.
    """
    cls = toxic_class(protocol, config.type)
    seed = int(config.attributes.get(SEED_ATTR.name, root_seed))
    rng: random.Random = derive_rng(seed, proxy, config.name, direction.value, "draws")
    toxicity_rng = derive_rng(seed, proxy, config.name, direction.value, "toxicity")
    return cls(config, direction, rng, toxicity_rng)
