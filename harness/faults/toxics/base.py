"""What every toxic shares: attribute specs, toxicity, and the item model.

Toxics work in *virtual time*. A chunk (TCP) or datagram (UDP) enters a chain of
toxics with its arrival time ``t``; each toxic maps it to zero or more
``(time, payload)`` items that the next toxic receives. The engine sends the
final items at their times through one timer heap (see
:mod:`harness.faults.engine.scheduler`). Because the whole chain is computed at
arrival, no task or timer exists per toxic, and the delays compose exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from harness.faults.model import AttributeValue, Direction, ToxicConfig


class Action(Enum):
    """Connection events that travel through a TCP chain like data (so they stay in order)."""

    EOF = "eof"  # the sender half-closed; forward a FIN after the data before it
    CLOSE = "close"  # close the whole connection gracefully
    RESET = "reset"  # close the whole connection with RST (SO_LINGER 0)


Payload = bytes | Action
Items = list[tuple[float, Payload]]
Datagrams = list[tuple[float, bytes]]


@dataclass(frozen=True)
class Attr:
    """One attribute of a toxic type: name, default, allowed range, unit (for docs/errors)."""

    name: str
    default: AttributeValue
    unit: str
    minimum: float = 0.0
    maximum: float | None = None
    integer: bool = False


SEED_ATTR = Attr("seed", 0, "integer", minimum=0, integer=True)


class ToxicBase:
    """One toxic on one direction of one proxy.

    ``rng`` draws the toxic's own randomness (loss, jitter, ...); ``toxicity_rng`` only
    decides whether the toxic applies to a new connection/flow, so changing toxicity
    never shifts the drop pattern itself.
    """

    TYPE: ClassVar[str]
    ATTRIBUTES: ClassVar[tuple[Attr, ...]] = ()
    TOXIPROXY: ClassVar[bool] = False
    """A type Toxiproxy has: its attribute rules are Toxiproxy's (warnings, not 400s)."""

    def __init__(
        self,
        config: ToxicConfig,
        direction: Direction,
        rng: random.Random,
        toxicity_rng: random.Random,
    ) -> None:
        self.config = config
        self.direction = direction
        self.rng = rng
        self._toxicity_rng = toxicity_rng
        for attr in self.ATTRIBUTES:
            setattr(self, attr.name, config.attributes.get(attr.name, attr.default))

    @property
    def name(self) -> str:
        return self.config.name

    def applies(self) -> bool:
        """Toxiproxy's toxicity: drawn once per connection (TCP) or flow (UDP)."""
        toxicity = self.config.toxicity
        if toxicity >= 1.0:
            return True
        return self._toxicity_rng.random() < toxicity


class State:
    """Per-connection (or per-flow) state of one toxic; the fields mean what the toxic says."""

    __slots__ = ("count", "flag", "handle", "last")

    def __init__(self) -> None:
        self.last = 0.0
        self.count = 0
        self.flag = False
        self.handle: Any = None


INACTIVE = object()  # marks "toxicity said no" in a per-connection state table
