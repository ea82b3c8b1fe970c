"""One Python API over both back ends: a real Toxiproxy server or the built-in hop engine.

TCP links go to a real Toxiproxy when one is reachable (``TOXIPROXY_URL``, or
``toxiproxy-server`` on PATH, which is then started); UDP links, and TCP links
when no Toxiproxy exists, go to the built-in engine in its own process. Both are
driven through toxiproxy-python, which is what proves the built-in server speaks
the same API. Calls are synchronous HTTP to localhost (about a millisecond); from
asyncio code wrap them in ``asyncio.to_thread`` if a millisecond on the loop matters.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from harness.errors import UsageError
from harness.faults.api.launcher import HopServer
from harness.faults.errors import ApiError, HopServerError
from harness.faults.log import FaultLog
from harness.faults.model import (
    AttributeValue,
    Backend,
    Protocol,
    ProxyProtocolVersion,
    Stream,
    ToxicConfig,
    split_host_port,
    split_ms,
)
from harness.faults.vocabulary import KINDS, Fault, FaultKind, PartitionMode

__all__ = ["Backend", "FaultClient", "Link", "ToxiproxyApi", "split_ms"]


# toxiproxy-python keeps host and port as class attributes of APIConsumer; with two
# servers in one process every call sets them under this lock.
_CONSUMER_LOCK = threading.RLock()


def _error_from(exc: Exception, status: int) -> ApiError:
    raw = exc.args[0] if exc.args else b""
    try:
        body = json.loads(raw)
        return ApiError(str(body.get("error", raw)), int(body.get("status", status)))
    except (ValueError, TypeError, AttributeError):
        return ApiError(str(raw), status)


class ToxiproxyApi:
    """One server speaking the Toxiproxy API, called through toxiproxy-python."""

    def __init__(self, url: str, backend: Backend) -> None:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise UsageError(f"not a Toxiproxy URL: {url!r}", hint="use http://host:port")
        self.url = url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port
        self.backend = backend

    @contextlib.contextmanager
    def bound(self) -> Iterator[Any]:
        """Point toxiproxy-python at this server and translate its exceptions to ApiError."""
        import toxiproxy.api
        from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

        with _CONSUMER_LOCK:
            toxiproxy.api.APIConsumer.host = self.host
            toxiproxy.api.APIConsumer.port = self.port
            try:
                yield toxiproxy.api.APIConsumer
            except ProxyExists as exc:
                raise _error_from(exc, 409) from None
            except NotFound as exc:
                raise _error_from(exc, 404) from None
            except InvalidToxic as exc:
                raise _error_from(exc, 400) from None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        with self.bound() as consumer:
            if method == "GET":
                response = consumer.get(path)
            elif method == "DELETE":
                response = consumer.delete(path)
            else:
                response = consumer.post(path, json=body)
        if response.status_code >= 400:  # toxiproxy-python lets 500 through
            try:
                data = response.json()
                raise ApiError(str(data.get("error")), int(data.get("status", 500)))
            except ValueError:
                raise ApiError(response.text, response.status_code) from None
        return response.json() if response.content.strip() else None

    def alive(self) -> bool:
        try:
            self.request("GET", "/version")
        except Exception:
            return False
        return True


@dataclass
class _RealToxiproxy:
    """A ``toxiproxy-server`` binary we started (only when it is on PATH)."""

    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, binary: str) -> _RealToxiproxy:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [binary, "-host", "127.0.0.1", "-port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        api = ToxiproxyApi(url, Backend.TOXIPROXY)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if api.alive():
                return cls(process, url)
            if process.poll() is not None:
                break
            time.sleep(0.05)
        process.kill()
        process.wait()
        raise HopServerError(
            f"{binary} did not answer on {url}",
            hint="unset TOXIPROXY_URL / remove toxiproxy-server from PATH to use the built-in hop",
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Link:
    """One proxied link (a proxy on either back end). Toxic names are unique per link."""

    def __init__(self, client: FaultClient, api: ToxiproxyApi, data: dict[str, Any]) -> None:
        self.client = client
        self.api = api
        self.name = str(data["name"])
        self.upstream = str(data["upstream"])
        self.listen = str(data["listen"])
        self.protocol = Protocol(data.get("protocol", "tcp"))
        self.host, self.port = split_host_port(self.listen)
        self._split: dict[str, list[str]] = {}

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect/send to reach the upstream through the hop."""
        return (self.host, self.port)

    @property
    def backend(self) -> Backend:
        return self.api.backend

    def _proxy(self) -> Any:
        from toxiproxy.proxy import Proxy

        return Proxy(name=self.name, upstream=self.upstream, listen=self.listen, enabled=True)

    def add_toxic(
        self,
        type: str,
        *,
        stream: Stream = Stream.DOWNSTREAM,
        toxicity: float = 1.0,
        name: str | None = None,
        **attributes: AttributeValue,
    ) -> ToxicConfig:
        """Add a toxic; ``stream=Stream.BOTH`` is native on the built-in engine and two
        toxics (``<name>_upstream``, ``<name>_downstream``) on a real Toxiproxy."""
        name = name or f"{type}_{stream.value}"
        if stream is Stream.BOTH and self.backend is Backend.TOXIPROXY:
            parts = []
            for single in (Stream.UPSTREAM, Stream.DOWNSTREAM):
                part = f"{name}_{single.value}"
                self.add_toxic(type, stream=single, toxicity=toxicity, name=part, **attributes)
                parts.append(part)
            self._split[name] = parts
            return ToxicConfig(name, type, stream, toxicity, dict(attributes))
        if self.backend is Backend.TOXIPROXY:
            # Toxiproxy's attributes are integers; ours accept fractions of a millisecond.
            attributes = {k: round(v) for k, v in attributes.items()}
        with self.api.bound():
            self._proxy().add_toxic(
                type=type, stream=stream.value, toxicity=toxicity, name=name, attributes=attributes
            )
        return ToxicConfig(name, type, stream, toxicity, dict(attributes))

    def remove_toxic(self, name: str, *, missing_ok: bool = False) -> None:
        for part in self._split.pop(name, [name]):
            try:
                with self.api.bound():
                    self._proxy().destroy_toxic(part)
            except ApiError as error:
                if not (missing_ok and error.status == 404):
                    raise

    def toxics(self) -> list[ToxicConfig]:
        data = self.api.request("GET", f"/proxies/{self.name}/toxics")
        return [ToxicConfig.from_json(item) for item in data]

    def disable(self) -> None:
        with self.api.bound():
            self._proxy().disable()

    def enable(self) -> None:
        with self.api.bound():
            self._proxy().enable()

    def destroy(self) -> None:
        with self.api.bound():
            self._proxy().destroy()

    def _builtin_only(self, feature: str) -> None:
        if self.backend is not Backend.BUILTIN:
            raise UsageError(
                f"{feature} needs the built-in hop engine; link {self.name!r} is on Toxiproxy",
                hint="create the link with FaultClient.start(toxiproxy=False)",
            )

    def flows(self) -> list[dict[str, Any]]:
        """UDP flows (client address, upstream socket, counters) - built-in engine only."""
        self._builtin_only("flows")
        result: list[dict[str, Any]] = self.api.request("GET", f"/proxies/{self.name}/flows")
        return result

    def capture(self) -> list[dict[str, Any]]:
        """Captured datagrams/segments (needs ``capture=N`` at creation) - built-in only."""
        self._builtin_only("capture")
        data = self.api.request("GET", f"/proxies/{self.name}/capture")
        records: list[dict[str, Any]] = data["records"]
        return records

    # -- the fault vocabulary as methods (the table: harness.faults.vocabulary.KINDS) ------
    def fault(self, kind: FaultKind, *args: Any, **params: Any) -> Fault:
        """A fault of ``kind`` on this link (checked against the kind's protocols)."""
        return KINDS[kind].on_link(self, *args, **params)

    def latency(self, ms: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.LATENCY, ms, **kwargs)

    def rtt(self, ms: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.RTT, ms, **kwargs)

    def jitter(self, ms: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.JITTER, ms, **kwargs)

    def loss(self, probability: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.LOSS, probability, **kwargs)

    def bursty_loss(self, p: float, r: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.BURSTY_LOSS, p, r, **kwargs)

    def bandwidth(self, rate_kbps: float, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.BANDWIDTH, rate_kbps, **kwargs)

    def partition(self, mode: PartitionMode | None = None) -> Fault:
        return self.fault(FaultKind.PARTITION, mode=mode or PartitionMode.BLACKHOLE)

    def reset_peer(self, timeout_ms: float = 0, **kwargs: Any) -> Fault:
        return self.fault(FaultKind.RESET, timeout_ms=timeout_ms, **kwargs)


class FaultClient:
    """Creates links and applies faults; records everything in :attr:`log`.

    Use :meth:`start` (starts what is needed) or :meth:`connect` (an existing hop
    server, e.g. the one a reference stack runs), and :meth:`close` when done.
    """

    def __init__(
        self,
        udp: ToxiproxyApi,
        tcp: ToxiproxyApi | None = None,
        *,
        seed: int | None = None,
        owned: list[HopServer | _RealToxiproxy] | None = None,
    ) -> None:
        self.udp = udp
        self.tcp = tcp or udp
        self.seed = seed
        self.log = FaultLog(seed=seed)
        self._owned = list(owned or [])

    @classmethod
    def start(cls, *, seed: int = 0, toxiproxy: bool | None = None) -> FaultClient:
        """Start the built-in hop (always, UDP needs it); use a real Toxiproxy for TCP when
        ``toxiproxy`` is not False and one is reachable. ``toxiproxy=True`` requires one."""
        hop = HopServer.start(seed=seed)
        owned: list[HopServer | _RealToxiproxy] = [hop]
        builtin = ToxiproxyApi(hop.url, Backend.BUILTIN)
        tcp: ToxiproxyApi | None = None
        try:
            if toxiproxy is not False:
                tcp = cls._find_toxiproxy(owned)
            if toxiproxy and tcp is None:
                raise UsageError(
                    "no Toxiproxy server reachable",
                    hint="set TOXIPROXY_URL or put toxiproxy-server on PATH",
                )
        except BaseException:
            hop.stop()
            raise
        return cls(builtin, tcp, seed=seed, owned=owned)

    @staticmethod
    def _find_toxiproxy(owned: list[HopServer | _RealToxiproxy]) -> ToxiproxyApi | None:
        url = os.environ.get("TOXIPROXY_URL")
        if url:
            api = ToxiproxyApi(url, Backend.TOXIPROXY)
            return api if api.alive() else None
        binary = shutil.which("toxiproxy-server")
        if binary:
            real = _RealToxiproxy.start(binary)
            owned.append(real)
            return ToxiproxyApi(real.url, Backend.TOXIPROXY)
        return None

    @classmethod
    def connect(cls, url: str, *, tcp_url: str | None = None) -> FaultClient:
        """Use a hop server that is already running (its ``/engine`` tells the seed)."""
        api = ToxiproxyApi(url, Backend.BUILTIN)
        try:
            engine = api.request("GET", "/engine")
        except Exception as error:
            raise HopServerError(
                f"no ullc-harness hop server at {url}: {error}",
                hint="start one with `ullc-harness toxiproxy-server --port 0`",
            ) from None
        tcp = ToxiproxyApi(tcp_url, Backend.TOXIPROXY) if tcp_url else None
        return cls(api, tcp, seed=int(engine["seed"]))

    @property
    def tcp_backend(self) -> Backend:
        return self.tcp.backend

    def _api(self, protocol: Protocol) -> ToxiproxyApi:
        return self.udp if protocol is Protocol.UDP else self.tcp

    def create_link(
        self,
        name: str,
        upstream: str,
        *,
        protocol: Protocol = Protocol.TCP,
        listen: str = "127.0.0.1:0",
        proxy_protocol: ProxyProtocolVersion | None = None,
        capture: int = 0,
        flow_idle_timeout: float | None = None,
    ) -> Link:
        api = self._api(protocol)
        extra: dict[str, Any] = {}
        if protocol is Protocol.UDP:
            extra["protocol"] = "udp"
            if proxy_protocol is not None:
                extra["proxy_protocol"] = proxy_protocol.value
            if flow_idle_timeout is not None:
                extra["flow_idle_timeout"] = flow_idle_timeout
        if capture:
            extra["capture"] = capture
        if extra and api.backend is Backend.TOXIPROXY:
            raise UsageError(f"options {sorted(extra)} need the built-in hop engine")
        if not extra:
            from toxiproxy.server import Toxiproxy

            with api.bound():
                proxy = Toxiproxy().create(upstream=upstream, name=name, listen=listen)
            data = {"name": proxy.name, "upstream": proxy.upstream, "listen": proxy.listen}
        else:
            body = {"name": name, "upstream": upstream, "listen": listen, **extra}
            data = api.request("POST", "/proxies", body)
        return Link(self, api, data)

    def link(self, name: str) -> Link:
        for api in dict.fromkeys([self.tcp, self.udp]):
            try:
                return Link(self, api, api.request("GET", f"/proxies/{name}"))
            except ApiError as error:
                if error.status != 404:
                    raise
        raise ApiError("proxy not found", 404, hint=f"no link named {name!r}")

    def links(self) -> dict[str, Link]:
        result: dict[str, Link] = {}
        for api in dict.fromkeys([self.tcp, self.udp]):
            for name, data in api.request("GET", "/proxies").items():
                result[name] = Link(self, api, data)
        return result

    def reset(self) -> None:
        """Toxiproxy's /reset on every back end: all links enabled, no toxics."""
        for api in dict.fromkeys([self.tcp, self.udp]):
            with api.bound():
                from toxiproxy.server import Toxiproxy

                Toxiproxy().reset()

    def set_seed(self, seed: int) -> None:
        """Reseed the built-in engine; toxics added afterwards draw from ``seed``."""
        self.udp.request("POST", "/engine", {"seed": seed})
        self.seed = seed
        self.log.seed = seed

    def close(self) -> None:
        while self._owned:
            self._owned.pop().stop()

    def __enter__(self) -> FaultClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
