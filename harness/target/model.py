"""The target file as frozen dataclasses (specs/target-file.md, TGT-1..6).

Everything here is already validated: the loader (:mod:`harness.target.loader`)
is the only place that sees raw TOML tables, and the writer
(:mod:`harness.target.writer`) the only place that produces them again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.errors import UsageError
from harness.signaling.messages import Mode

DEFAULT_STUN_PORT = 3478
"""Port of the global media endpoint when ``global_endpoint`` names none (RFC 8489 §6)."""


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HostPort:
    """A ``host:port`` address of the target file; IPv6 hosts are written ``[addr]:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def as_tuple(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


class Capability(StrEnum):
    """Names a suite can require (TGT-4); the skip reason quotes the value."""

    ULLC = "ullc"
    SEQUENTIAL = "sequential"
    LATENCY_MAP_CONTROL = "latency_map_control"
    OUTAGE_CONTROL = "outage_control"
    SESSION_LISTING = "session_listing"
    STUN_ONLY = "stun_only"


@dataclass(frozen=True)
class Capabilities:
    """What the implementation offers; the defaults are a plain ULLC target (TGT-4)."""

    modes: frozenset[Mode] = frozenset({Mode.ULLC})
    latency_map_control: bool = False
    outage_control: bool = False
    session_listing: bool = False
    stun_only: bool = False

    @property
    def names(self) -> frozenset[Capability]:
        """Every capability the target has, modes included; a STUN-only target (TGT-5)
        has no gateway, so none of the call modes."""
        present = set() if self.stun_only else {Capability(mode.value) for mode in self.modes}
        for capability in (
            Capability.LATENCY_MAP_CONTROL,
            Capability.OUTAGE_CONTROL,
            Capability.SESSION_LISTING,
            Capability.STUN_ONLY,
        ):
            if getattr(self, capability.value):
                present.add(capability)
        return frozenset(present)

    def has(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.names

    def missing(self, *wanted: Capability | str) -> list[Capability]:
        """The wanted capabilities the target lacks, in the order asked."""
        return [Capability(name) for name in wanted if not self.has(name)]


@dataclass(frozen=True)
class Endpoints:
    """Where the implementation listens (TGT-1)."""

    gateway: str | None
    """The signaling WebSocket URL; only a STUN-only target (TGT-5) goes without."""
    dns: HostPort | None = None
    global_endpoint: str | None = None
    global_port: int = DEFAULT_STUN_PORT
    edges: tuple[HostPort, ...] = ()
    edge_names: Mapping[HostPort, str] = field(default_factory=lambda: MappingProxyType({}))
    """Edge -> its name, when ``edges`` is written as a table (TGT-7's link names)."""
    stun: HostPort | None = None

    @property
    def uses_dns(self) -> bool:
        return self.dns is not None and self.global_endpoint is not None

    def require_gateway(self) -> str:
        """The gateway URL, for code that places calls; a STUN-only target has none."""
        if self.gateway is None:
            raise UsageError(
                "the target has no [endpoints].gateway: it is a STUN-only target (TGT-5)",
                hint="calls need a ULLC gateway; give [endpoints].gateway in the target file",
            )
        return self.gateway


@dataclass(frozen=True)
class ControlUrls:
    """Base URLs of the optional control API (CTL-1..5), per component."""

    gateway: str | None = None
    edges: Mapping[str, str] = field(default_factory=_empty_mapping)
    dcs: Mapping[str, str] = field(default_factory=_empty_mapping)

    @property
    def present(self) -> bool:
        return self.gateway is not None or bool(self.edges) or bool(self.dcs)


@dataclass(frozen=True)
class ClientSettings:
    """Where the harness's client binds (its "region": the DNS answer depends on it)."""

    bind_ip: str | None = None
    media_hops: Mapping[HostPort, HostPort] = field(default_factory=lambda: MappingProxyType({}))
    """Set by the harness, never read from a file: a ``media`` address of
    ``session.created`` (FB-1) -> the harness hop in front of it (TGT-7)."""


@dataclass(frozen=True)
class Limits:
    """Timing numbers the suites hold the target to, in milliseconds."""

    connect_budget_ms: int = 1000
    fallback_ms: int = 500
    session_ttl_ms: int = 60_000
    signaling_timeout_ms: int = 2000
    pacing_ms: int = 50
    hold_ms: int = 0
    """RACE-3: how long the ingress holds a check whose session is not stored yet;
    0 declares no hold (RACE-3 is a SHOULD), and the hold's own test then skips."""


STUN_PROFILES = ("rfc8489", "ice", "classic", "ullc")
"""Rule sets of ``[stun].profile`` (harness.protocol.stun_checker.Profile)."""


@dataclass(frozen=True)
class StunSettings:
    """The ``[stun]`` section of a STUN-only target (TGT-5): how its responder is judged.

    ``ufrag``/``pwd`` are the responder's short-term credentials (an ICE agent's or an
    ICE-lite responder's ice-ufrag and ice-pwd, RFC 8445 §7.2.2), ``client_ufrag`` the
    client-side ufrag it expects after the colon of USERNAME. With them the suite
    signs its checks; without them only plain STUN rows run.
    """

    profile: str = "rfc8489"
    ufrag: str | None = None
    pwd: str | None = None
    client_ufrag: str | None = None
    known_deviations: Mapping[str, str] = field(default_factory=_empty_mapping)
    """Probe name (harness.conformance.stun_probes) -> why the responder is known to
    answer it otherwise: that row skips with the reason while the deviation is observed,
    and fails once it is not (so the declaration cannot outlive the bug)."""

    @property
    def has_credentials(self) -> bool:
        return self.ufrag is not None and self.pwd is not None


@dataclass(frozen=True)
class ReferenceInfo:
    """The ``[reference]`` section the reference stack writes about itself (TGT-6).

    Known keys are typed; any other key is kept verbatim in ``extra`` so the
    stack can add facts without breaking older loaders. Keys named
    ``topology`` or ending in ``_path``/``_file``/``_dir`` are paths and are
    resolved against the target file (TGT-3).
    """

    backend: str | None = None
    topology: Path | None = None
    hop_api: str | None = None
    proxies: Mapping[str, str] = field(default_factory=_empty_mapping)
    extra: Mapping[str, Any] = field(default_factory=_empty_mapping)


@dataclass(frozen=True)
class Target:
    """One implementation under test, as its target file describes it."""

    name: str
    endpoints: Endpoints
    control: ControlUrls = field(default_factory=ControlUrls)
    capabilities: Capabilities = field(default_factory=Capabilities)
    client: ClientSettings = field(default_factory=ClientSettings)
    limits: Limits = field(default_factory=Limits)
    stun: StunSettings | None = None
    """The ``[stun]`` section (TGT-5); None when the file has none."""
    reference: ReferenceInfo | None = None
    source: Path | None = field(default=None, compare=False)
    """The file this target was loaded from, if any (for messages only)."""

    def to_toml(self) -> str:
        """The target file text for this target (see :mod:`harness.target.writer`)."""
        from harness.target.writer import target_to_toml

        return target_to_toml(self)
