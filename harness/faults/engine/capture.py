"""Optional per-proxy capture: a bounded ring of what crossed the hop, for pcaps later."""

from __future__ import annotations

import base64
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from harness.faults.model import Direction


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One datagram or TCP segment. ``stage`` is ``in`` (received by the hop) or ``out`` (sent)."""

    t: float
    direction: Direction
    stage: str
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "direction": self.direction.value,
            "stage": self.stage,
            "src": f"{self.src[0]}:{self.src[1]}",
            "dst": f"{self.dst[0]}:{self.dst[1]}",
            "data": base64.b64encode(self.data).decode(),
        }


class CaptureRing:
    """Keeps the last ``size`` records (``size`` 0 = capture off, nothing stored)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring: deque[CaptureRecord] = deque(maxlen=max(size, 1))

    def __bool__(self) -> bool:
        return self.size > 0

    def add(
        self,
        direction: Direction,
        stage: str,
        src: tuple[str, int],
        dst: tuple[str, int],
        data: bytes,
    ) -> None:
        self._ring.append(
            CaptureRecord(time.monotonic(), direction, stage, src[:2], dst[:2], bytes(data))
        )

    def records(self) -> list[CaptureRecord]:
        return list(self._ring)

    def clear(self) -> None:
        self._ring.clear()
