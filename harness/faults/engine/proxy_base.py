"""What TCP and UDP proxies share: config, toxic chains per direction, start/stop."""

from __future__ import annotations

import asyncio
import errno
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from harness.faults import errors
from harness.faults.engine.addresses import resolved
from harness.faults.engine.capture import CaptureRing
from harness.faults.engine.scheduler import TimerHeap
from harness.faults.model import Direction, ProxyConfig, ToxicConfig
from harness.faults.toxics import registry
from harness.faults.toxics.base import ToxicBase


def bind_error(protocol: str, listen: str, error: OSError) -> errors.ApiError:
    """Toxiproxy answers a failed listen with 500 and Go's net error text; so do we."""
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    try:
        listen = resolved(listen)  # Go names the address it tried: localhost -> 127.0.0.1
    except errors.ApiError:
        pass
    hint = None
    if error.errno == errno.EADDRINUSE:
        hint = "another process holds that port; use port 0 to get a free one"
    return errors.ApiError(f"listen {protocol} {listen}: bind: {reason}", 500, hint=hint)


class ProxyBase(ABC):
    """A hop on one link. Subclasses move bytes; this class owns the toxics."""

    def __init__(
        self,
        config: ProxyConfig,
        loop: asyncio.AbstractEventLoop,
        timers: TimerHeap,
        seed: Callable[[], int],
    ) -> None:
        self.config = config
        self.loop = loop
        self.timers = timers
        self._seed = seed
        self.toxics: dict[str, ToxicConfig] = {}
        self._runtime: dict[str, list[ToxicBase]] = {}
        # Live lists: connections and flows hold references, so changes apply at once.
        self.chains: dict[Direction, list[Any]] = {d: [] for d in Direction}
        self.capture = CaptureRing(config.capture)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        return self.config.enabled

    # -- lifecycle -------------------------------------------------------------------
    @abstractmethod
    async def _listen(self) -> str:
        """Bind and serve; return the actual listen address (port 0 resolved)."""

    @abstractmethod
    async def _close(self) -> None:
        """Stop listening and drop every connection/flow."""

    async def start(self) -> None:
        listen = await self._listen()
        self.config = _replace(self.config, listen=listen, enabled=True)

    async def stop(self) -> None:
        if self.config.enabled:
            await self._close()
        self.config = _replace(self.config, enabled=False)

    def set_capture(self, size: int) -> None:
        self.capture = CaptureRing(size)
        self.config = _replace(self.config, capture=size)

    # -- toxics ----------------------------------------------------------------------
    def add_toxic(self, config: ToxicConfig) -> None:
        runtimes = [
            registry.build(self.config.protocol, config, direction, self._seed(), self.name)
            for direction in config.stream.directions()
        ]
        self.toxics[config.name] = config
        self._runtime[config.name] = runtimes
        for runtime in runtimes:
            self.chains[runtime.direction].append(runtime)
            self._toxic_added(runtime)

    def remove_toxic(self, name: str) -> ToxicConfig:
        config = self.toxics.pop(name)
        for runtime in self._runtime.pop(name):
            self.chains[runtime.direction].remove(runtime)
            self._toxic_removed(runtime, final=True)
        return config

    def replace_toxic(self, config: ToxicConfig) -> None:
        """Update in place: same position in the chain, fresh state and RNG (like a re-add)."""
        old = self._runtime[config.name]
        new = [
            registry.build(self.config.protocol, config, direction, self._seed(), self.name)
            for direction in config.stream.directions()
        ]
        for before, after in zip(old, new, strict=True):
            chain = self.chains[before.direction]
            chain[chain.index(before)] = after
            self._toxic_removed(before, final=False)
            self._toxic_added(after)
        self.toxics[config.name] = config
        self._runtime[config.name] = new

    def reset_toxics(self) -> None:
        for name in list(self.toxics):
            self.remove_toxic(name)

    def _toxic_added(self, runtime: ToxicBase) -> None:  # noqa: B027 - optional hook
        """Hook: a live connection may need to attach at once (timeout starts now)."""

    def _toxic_removed(  # noqa: B027 - optional hook
        self, runtime: ToxicBase, *, final: bool
    ) -> None:
        """Hook: drop per-connection/flow state and timers of ``runtime``.

        ``final``: removed for good (DELETE, /reset), not replaced by an update.
        """

    def toxics_json(self) -> list[dict[str, Any]]:
        """Toxiproxy's order: the upstream chain, then the downstream chain, each in the
        order added. A ``stream: both`` toxic is listed once, where its upstream half is."""
        seen: set[str] = set()
        result = []
        for direction in (Direction.UPSTREAM, Direction.DOWNSTREAM):
            for runtime in self.chains[direction]:
                if runtime.name not in seen:
                    seen.add(runtime.name)
                    result.append(self.toxics[runtime.name].to_json())
        return result

    def to_json(self) -> dict[str, Any]:
        data = self.config.to_json()
        data["toxics"] = self.toxics_json()
        return data


def _replace(config: ProxyConfig, **changes: Any) -> ProxyConfig:
    from dataclasses import replace

    return replace(config, **changes)
