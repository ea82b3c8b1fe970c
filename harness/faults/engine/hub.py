"""The hub: the set of proxies of one hop process, its seed and its timer heap.

All methods run on the hub's event loop. Mutations are serialised by one lock
because starting a proxy awaits (binding) and two API calls must not interleave.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from harness.faults import errors
from harness.faults.engine.addresses import check_loopback, resolved
from harness.faults.engine.flow_table import FdBudget
from harness.faults.engine.proxy_base import ProxyBase
from harness.faults.engine.scheduler import TimerHeap
from harness.faults.engine.tcp_proxy import TcpProxy
from harness.faults.engine.udp_proxy import UdpProxy
from harness.faults.model import Protocol, ProxyConfig, ToxicConfig


class Hub:
    """Proxies by name. ``seed`` is the root of every toxic's RNG (see :mod:`..seeding`)."""

    def __init__(self, seed: int = 0, *, allow_remote_listen: bool = False) -> None:
        self.seed = seed
        self.allow_remote_listen = allow_remote_listen
        self.loop = asyncio.get_running_loop()
        self.timers = TimerHeap(self.loop)
        self.proxies: dict[str, ProxyBase] = {}
        self.lock = asyncio.Lock()
        self.fd_budget = FdBudget()  # shared by every UDP proxy of this process

    def get(self, name: str) -> ProxyBase:
        try:
            return self.proxies[name]
        except KeyError:
            raise errors.proxy_not_found() from None

    def _build(self, config: ProxyConfig) -> ProxyBase:
        config = replace(config, enabled=False)
        if config.protocol is Protocol.UDP:
            return UdpProxy(config, self.loop, self.timers, self._seed, budget=self.fd_budget)
        return TcpProxy(config, self.loop, self.timers, self._seed)

    def _seed(self) -> int:
        return self.seed

    async def create(self, config: ProxyConfig) -> ProxyBase:
        if config.name in self.proxies:
            raise errors.proxy_exists()
        check_loopback(config.listen, allow_remote=self.allow_remote_listen)
        proxy = self._build(config)
        if config.enabled:
            await proxy.start()  # a bind error leaves the collection untouched
        self.proxies[config.name] = proxy
        return proxy

    async def update(self, name: str, config: ProxyConfig) -> ProxyBase:
        """Toxiproxy's ProxyUpdate: a new listen/upstream restarts; ``enabled`` starts/stops."""
        proxy = self.get(name)
        old = proxy.config
        check_loopback(config.listen, allow_remote=self.allow_remote_listen)
        if config.capture != old.capture:
            proxy.set_capture(config.capture)
        if _differs(old, config):
            await proxy.stop()
            proxy.config = replace(config, enabled=False)
        if config.enabled and not proxy.running:
            await proxy.start()
        elif not config.enabled and proxy.running:
            await proxy.stop()
        return proxy

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]

    def add_toxic(self, name: str, toxic: ToxicConfig) -> None:
        proxy = self.get(name)
        if toxic.name in proxy.toxics:
            raise errors.toxic_exists()
        proxy.add_toxic(toxic)

    def remove_toxic(self, name: str, toxic: str) -> None:
        proxy = self.get(name)
        if toxic not in proxy.toxics:
            raise errors.toxic_not_found()
        proxy.remove_toxic(toxic)

    async def reset(self) -> None:
        """Toxiproxy's /reset: enable every proxy and remove every toxic."""
        for proxy in self.proxies.values():
            if not proxy.running:
                await proxy.start()
            proxy.reset_toxics()

    async def populate(
        self, configs: list[ProxyConfig]
    ) -> tuple[list[ProxyBase], Exception | None]:
        """Toxiproxy's AddOrReplace, in order: a proxy whose resolved listen and upstream
        (and, ours, protocol) match is kept with its toxics; one that differs is stopped
        and replaced. The first failure stops the run; what was done before it stays,
        and is returned with the error."""
        result: list[ProxyBase] = []
        for config in configs:
            try:
                check_loopback(config.listen, allow_remote=self.allow_remote_listen)
                existing = self.proxies.get(config.name)
                if existing is not None:
                    if not _differs(existing.config, config):
                        result.append(existing)
                        continue
                    await existing.stop()
                proxy = self._build(config)
                if config.enabled:
                    await proxy.start()
                self.proxies[config.name] = proxy
                result.append(proxy)
            except Exception as error:  # reported to the client with what was done
                return result, error
        return result, None

    async def close(self) -> None:
        for proxy in list(self.proxies.values()):
            await proxy.stop()
        self.proxies.clear()
        self.timers.close()


def _differs(old: ProxyConfig, new: ProxyConfig) -> bool:
    """Toxiproxy's Proxy.Differs (listen compared resolved), plus our extensions."""
    if old.protocol is not new.protocol or old.proxy_protocol != new.proxy_protocol:
        return True
    if old.flow_idle_timeout != new.flow_idle_timeout or old.max_flows != new.max_flows:
        return True
    return old.upstream != new.upstream or old.listen != resolved(new.listen)
