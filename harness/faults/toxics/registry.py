"""Toxic type names -> classes, per protocol, and attribute validation.

Validation is stricter than Toxiproxy's (which ignores unknown attributes and
accepts negative times): a typo or a negative delay is a 400 here, so a chaos
test never silently runs without its fault. The status codes are Toxiproxy's.
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


def _check(attr: Attr, type_name: str, value: Any) -> AttributeValue:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.bad_request(
            f"attribute {attr.name!r} of {type_name} must be a number ({attr.unit}), got {value!r}"
        )
    if attr.integer and not float(value).is_integer():
        raise errors.bad_request(f"attribute {attr.name!r} of {type_name} must be an integer")
    if value < attr.minimum or (attr.maximum is not None and value > attr.maximum):
        upper = f" and <= {attr.maximum:g}" if attr.maximum is not None else ""
        raise errors.bad_request(
            f"attribute {attr.name!r} of {type_name} must be >= {attr.minimum:g}{upper} "
            f"({attr.unit}), got {value!r}"
        )
    return int(value) if attr.integer else value


def validate_attributes(
    protocol: Protocol, type_name: str, attributes: Any
) -> dict[str, AttributeValue]:
    """Complete and check ``attributes`` for a toxic type; defaults fill the gaps."""
    cls = toxic_class(protocol, type_name)
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise errors.bad_request("attributes must be a JSON object")
    specs = {attr.name: attr for attr in cls.ATTRIBUTES}
    unknown = sorted(set(attributes) - set(specs) - {SEED_ATTR.name})
    if unknown:
        raise errors.bad_request(
            f"unknown attribute(s) {', '.join(unknown)} for {type_name} "
            f"(known: {', '.join(sorted(specs)) or 'none'}, seed)"
        )
    result: dict[str, AttributeValue] = {}
    for name, attr in specs.items():
        result[name] = _check(attr, type_name, attributes.get(name, attr.default))
    if SEED_ATTR.name in attributes:
        result[SEED_ATTR.name] = _check(SEED_ATTR, type_name, attributes[SEED_ATTR.name])
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
