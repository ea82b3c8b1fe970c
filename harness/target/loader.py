"""Load a target file (TOML) into :class:`~harness.target.model.Target` (TGT-1..6)."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harness.errors import UsageError
from harness.signaling.messages import Mode
from harness.target.errors import TargetFileError
from harness.target.model import (
    DEFAULT_STUN_PORT,
    STUN_PROFILES,
    Capabilities,
    ClientSettings,
    ControlUrls,
    Endpoints,
    HostPort,
    Limits,
    ReferenceInfo,
    StunSettings,
    Target,
)

PACING_RANGE_MS = (20, 100)
"""STUN-30: Tp stays within 20..100 ms."""
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
_T = TypeVar("_T")


class _Section:
    """One TOML table; remembers which keys were read so the rest can be refused (TGT-2)."""

    def __init__(self, source: Path | str, name: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise TargetFileError(source, name, f"expected a table, got {_kind(body)}")
        self.source = source
        self.name = name
        self.body: dict[str, Any] = body
        self.seen: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def error(self, key: str, problem: str) -> TargetFileError:
        return TargetFileError(self.source, self.key(key), problem)

    def get(self, key: str, kind: type[_T], expected: str) -> _T | None:
        self.seen.add(key)
        if key not in self.body:
            return None
        value = self.body[key]
        # bool is an int subclass: `port = true` must not pass as 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"expected {expected}, got {_kind(value)} {value!r}")
        return value

    def string(self, key: str) -> str | None:
        return self.get(key, str, "a string")

    def required_string(self, key: str) -> str:
        value = self.get(key, str, "a string")
        if value is None:
            raise self.error(key, "required key is missing (expected a string)")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, bool, "true or false")
        return default if value is None else value

    def positive_int(self, key: str, default: int) -> int:
        value = self.get(key, int, "a positive integer (milliseconds)")
        if value is None:
            return default
        if value <= 0:
            raise self.error(key, f"expected a positive integer (milliseconds), got {value}")
        return value

    def non_negative_int(self, key: str, default: int) -> int:
        value = self.get(key, int, "a non-negative integer (milliseconds)")
        if value is None:
            return default
        if value < 0:
            raise self.error(key, f"expected a non-negative integer (milliseconds), got {value}")
        return value

    def string_list(self, key: str) -> list[str] | None:
        value = self.get(key, list, "an array of strings")
        if value is None:
            return None
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"expected an array of strings, found {_kind(item)} {item!r}")
        return list(value)

    def string_table(self, key: str) -> dict[str, str]:
        value = self.get(key, dict, "a table of strings")
        if value is None:
            return {}
        for name, item in value.items():
            if not isinstance(item, str):
                raise TargetFileError(
                    self.source, f"{self.key(key)}.{name}", f"expected a string, got {_kind(item)}"
                )
        return dict(value)

    def refuse_unknown(self) -> None:
        unknown = sorted(set(self.body) - self.seen)
        if unknown:
            raise self.error(
                unknown[0], f"unknown key (expected one of: {', '.join(sorted(self.seen))})"
            )


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def parse_host_port(text: str, *, source: Path | str, key: str) -> HostPort:
    """Parse ``host:port`` or ``[v6]:port``; a bad one is a :class:`TargetFileError` (TGT-2)."""
    expected = "an address 'host:port' (IPv6 as '[addr]:port', port 1..65535)"
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]+):(\d{1,5})", text)
    if match is None:
        raise TargetFileError(source, key, f"expected {expected}, got {text!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 1 <= port <= 65535:
        raise TargetFileError(source, key, f"expected {expected}, got port {port}")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if match.group(1) is not None or _HOSTNAME.match(host) is None:
            raise TargetFileError(source, key, f"expected {expected}, got {text!r}") from None
    return HostPort(host, port)


def _url(section: _Section, key: str, schemes: tuple[str, ...], value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise section.error(key, f"expected a {wanted} URL with a host, got {value!r}")
    try:
        parts.port  # noqa: B018 - evaluating it is the check: a bad port raises
    except ValueError:
        raise section.error(key, f"expected a URL with a port 1..65535, got {value!r}") from None
    return value


def _endpoints(section: _Section) -> Endpoints:
    gateway = section.string("gateway")
    if gateway is not None:
        _url(section, "gateway", ("ws", "wss"), gateway)
    dns_text = section.string("dns")
    dns = None
    if dns_text is not None:
        dns = parse_host_port(dns_text, source=section.source, key=section.key("dns"))
        if not dns.is_ip:
            raise section.error(
                "dns", f"expected the resolver's IP address and port, got {dns_text!r}"
            )
    global_endpoint = section.string("global_endpoint")
    global_port = DEFAULT_STUN_PORT
    if global_endpoint is not None:
        # "name" or "name:port"; the port is where the edges listen (default 3478).
        name, _, port_text = global_endpoint.partition(":")
        if _HOSTNAME.match(name) is None or (port_text and not port_text.isdigit()):
            raise section.error(
                "global_endpoint",
                f"expected a DNS name (optionally ':port'), got {global_endpoint!r}",
            )
        if port_text:
            global_port = int(port_text)
            if not 1 <= global_port <= 65535:
                raise section.error("global_endpoint", f"port {global_port} is out of 1..65535")
        global_endpoint = name
    # An array of addresses, or a table naming each edge (TGT-7 names its hop link).
    edge_names: dict[HostPort, str] = {}
    if isinstance(section.body.get("edges"), dict):
        for name, text in section.string_table("edges").items():
            edge = parse_host_port(
                text, source=section.source, key=f"{section.key('edges')}.{name}"
            )
            edge_names[edge] = name
        edges = tuple(edge_names)
    else:
        edges = tuple(
            parse_host_port(text, source=section.source, key=f"{section.key('edges')}[{index}]")
            for index, text in enumerate(section.string_list("edges") or [])
        )
    stun_text = section.string("stun")
    stun = (
        None
        if stun_text is None
        else parse_host_port(stun_text, source=section.source, key=section.key("stun"))
    )
    section.refuse_unknown()
    if gateway is None and stun is None:
        raise section.error(
            "gateway", "required (TGT-1); only a STUN-only target with `stun` goes without (TGT-5)"
        )
    if (dns is None) != (global_endpoint is None):
        missing = "global_endpoint" if global_endpoint is None else "dns"
        raise section.error(
            missing, "required with the other key of the DNS form (dns + global_endpoint)"
        )
    if dns is None and not edges and stun is None:
        raise section.error(
            "edges", "expected either dns + global_endpoint or edges (TGT-1), found neither"
        )
    return Endpoints(
        gateway=gateway,
        dns=dns,
        global_endpoint=global_endpoint,
        global_port=global_port,
        edges=edges,
        edge_names=MappingProxyType(edge_names),
        stun=stun,
    )


def _control(section: _Section) -> ControlUrls:
    gateway = section.string("gateway")
    if gateway is not None:
        _url(section, "gateway", ("http", "https"), gateway)
    edges = section.string_table("edges")
    dcs = section.string_table("dcs")
    for table_key, table in (("edges", edges), ("dcs", dcs)):
        for name, url in table.items():
            _url(section, f"{table_key}.{name}", ("http", "https"), url)
    section.refuse_unknown()
    return ControlUrls(gateway=gateway, edges=MappingProxyType(edges), dcs=MappingProxyType(dcs))


def _capabilities(section: _Section) -> Capabilities:
    defaults = Capabilities()
    mode_names = section.string_list("modes")
    modes = defaults.modes
    if mode_names is not None:
        try:
            modes = frozenset(Mode(name) for name in mode_names)
        except ValueError:
            wanted = ", ".join(repr(mode.value) for mode in Mode)
            raise section.error(
                "modes", f"expected modes among {wanted}, got {mode_names!r}"
            ) from None
        if not modes:
            raise section.error("modes", "expected at least one mode")
    result = Capabilities(
        modes=modes,
        latency_map_control=section.boolean("latency_map_control", defaults.latency_map_control),
        outage_control=section.boolean("outage_control", defaults.outage_control),
        session_listing=section.boolean("session_listing", defaults.session_listing),
        stun_only=section.boolean("stun_only", defaults.stun_only),
    )
    section.refuse_unknown()
    return result


def _client(section: _Section) -> ClientSettings:
    bind_ip = section.string("bind_ip")
    if bind_ip is not None:
        try:
            bind_ip = str(ipaddress.ip_address(bind_ip))
        except ValueError:
            raise section.error("bind_ip", f"expected an IP address, got {bind_ip!r}") from None
    section.refuse_unknown()
    return ClientSettings(bind_ip=bind_ip)


def _limits(section: _Section) -> Limits:
    defaults = Limits()
    result = Limits(
        connect_budget_ms=section.positive_int("connect_budget_ms", defaults.connect_budget_ms),
        fallback_ms=section.positive_int("fallback_ms", defaults.fallback_ms),
        session_ttl_ms=section.positive_int("session_ttl_ms", defaults.session_ttl_ms),
        signaling_timeout_ms=section.positive_int(
            "signaling_timeout_ms", defaults.signaling_timeout_ms
        ),
        pacing_ms=section.positive_int("pacing_ms", defaults.pacing_ms),
        hold_ms=section.non_negative_int("hold_ms", defaults.hold_ms),
    )
    low, high = PACING_RANGE_MS
    if not low <= result.pacing_ms <= high:
        raise section.error(
            "pacing_ms", f"expected {low}..{high} (STUN-30), got {result.pacing_ms}"
        )
    section.refuse_unknown()
    return result


def _is_path_key(key: str) -> bool:
    return key == "topology" or key.endswith(("_path", "_file", "_dir"))


def _reference(section: _Section, base: Path) -> ReferenceInfo:
    backend = section.string("backend")
    topology = section.string("topology")
    hop_api = section.string("hop_api")
    proxies = section.string_table("proxies")
    if proxies:
        _check_link_names(section, proxies, None if topology is None else base / topology)
    extra: dict[str, Any] = {}
    # Permissive on purpose (TGT-6 belongs to the reference stack): unknown keys
    # are kept, and path-like ones still resolve against the file (TGT-3).
    for key, value in section.body.items():
        if key in section.seen:
            continue
        if _is_path_key(key) and isinstance(value, str):
            extra[key] = base / value
        else:
            extra[key] = value
    return ReferenceInfo(
        backend=backend,
        topology=None if topology is None else base / topology,
        hop_api=hop_api,
        proxies=MappingProxyType(proxies),
        extra=MappingProxyType(extra),
    )


def _known_links(section: _Section, topology: Path | None) -> list[str] | None:
    """The link names the stack has (TOPO-8): from its topology file, else from
    ``[reference.links]``; None when neither is there to tell."""
    if topology is not None and topology.is_file():
        from harness.stack.plan import Plan
        from harness.stack.topology import load_topology

        try:
            return [link.name for link in Plan(load_topology(topology)).links]
        except (UsageError, OSError, ValueError):
            pass  # a broken topology is its own error, reported where it is loaded
    links = section.body.get("links")
    if isinstance(links, dict) and links:
        return sorted(str(name) for name in links)
    return None


def _check_link_names(section: _Section, proxies: dict[str, str], topology: Path | None) -> None:
    """A link name the stack does not have is a typo: its impairment would silently go
    nowhere. Refused, naming the links there are."""
    from harness.stack.plan import LinkKind

    known = _known_links(section, topology)
    for name in proxies:
        if known is not None:
            if name in known:
                continue
            raise TargetFileError(
                section.source,
                f"{section.key('proxies')}.{name}",
                f"unknown link {name!r} (TOPO-8); known links: {', '.join(known)}",
            )
        kinds = [kind.value for kind in LinkKind]
        if name.split(".", 1)[0] not in kinds:
            raise TargetFileError(
                section.source,
                f"{section.key('proxies')}.{name}",
                f"unknown link {name!r}: a link name starts with its kind (TOPO-8), "
                f"one of: {', '.join(kinds)}",
            )


def _stun(section: _Section) -> StunSettings:
    profile = section.string("profile") or StunSettings().profile
    if profile not in STUN_PROFILES:
        raise section.error(
            "profile", f"expected one of {', '.join(STUN_PROFILES)}, got {profile!r}"
        )
    ufrag, pwd = section.string("ufrag"), section.string("pwd")
    client_ufrag = section.string("client_ufrag")
    deviations = section.string_table("known_deviations")
    section.refuse_unknown()
    from harness.conformance.stun_probes import PROBES

    for name in deviations:
        if name not in PROBES:
            raise section.error(
                f"known_deviations.{name}",
                f"no such probe (expected one of: {', '.join(PROBES)})",
            )
    if (ufrag is None) != (pwd is None):
        missing = "pwd" if pwd is None else "ufrag"
        raise section.error(
            missing, "required with the other short-term credential (ufrag + pwd, RFC 8445 §7.2.2)"
        )
    for key, value, bounds in (("ufrag", ufrag, (4, 256)), ("pwd", pwd, (22, 256)),
                               ("client_ufrag", client_ufrag, (4, 256))):  # fmt: skip
        if value is not None and not (bounds[0] <= len(value) <= bounds[1]):
            raise section.error(
                key, f"expected {bounds[0]}..{bounds[1]} ice-chars (RFC 8839 §5.4), got {value!r}"
            )
    if profile == "ice" and ufrag is None:
        raise section.error(
            "ufrag",
            'profile "ice" judges an ICE agent, which requires credentials (RFC 8445 §7.3): '
            "give ufrag, pwd and client_ufrag",
        )
    if ufrag is not None and client_ufrag is None:
        raise section.error(
            "client_ufrag",
            'required with ufrag/pwd: the client half of USERNAME "ufrag:client_ufrag" '
            "(RFC 8445 §7.2.2)",
        )
    return StunSettings(
        profile=profile,
        ufrag=ufrag,
        pwd=pwd,
        client_ufrag=client_ufrag,
        known_deviations=MappingProxyType(deviations),
    )


def _stun_only_consistency(source: Path | str, target: Target, has_stun_section: bool) -> None:
    """TGT-5: a STUN endpoint makes a STUN-only target, and only that has ``[stun]``."""
    stun_only = target.capabilities.stun_only
    if target.endpoints.stun is not None and not stun_only:
        raise TargetFileError(
            source,
            "endpoints.stun",
            "a plain STUN server is a STUN-only target (TGT-5): add `stun_only = true` under "
            "[capabilities] (and a [stun] section with profile/credentials if it is an ICE "
            "agent), or remove `stun` to describe a ULLC implementation",
        )
    if stun_only and target.endpoints.stun is None:
        raise TargetFileError(
            source,
            "capabilities.stun_only",
            'a STUN-only target needs `stun = "host:port"` under [endpoints] (TGT-5)',
        )
    if has_stun_section and not stun_only:
        raise TargetFileError(
            source,
            "[stun]",
            "only a STUN-only target has a [stun] section: add `stun_only = true` under "
            '[capabilities] and `stun = "host:port"` under [endpoints] (TGT-5)',
        )


_SECTIONS = (
    "target",
    "endpoints",
    "control",
    "capabilities",
    "client",
    "limits",
    "stun",
    "reference",
)


def parse_target(body: Mapping[str, Any], *, source: Path | str, base_dir: Path) -> Target:
    """Build a :class:`Target` from parsed TOML; ``base_dir`` anchors relative paths (TGT-3)."""
    for name in body:
        if name not in _SECTIONS:
            raise TargetFileError(
                source, name, f"unknown section (expected one of: {', '.join(_SECTIONS)})"
            )
    for required in ("target", "endpoints"):
        if required not in body:
            raise TargetFileError(source, f"[{required}]", "required section is missing (TGT-1)")

    target_section = _Section(source, "target", body["target"])
    target_name = target_section.required_string("name")
    target_section.refuse_unknown()

    def section(name: str) -> _Section:
        return _Section(source, name, body.get(name, {}))

    target = Target(
        name=target_name,
        endpoints=_endpoints(section("endpoints")),
        control=_control(section("control")),
        capabilities=_capabilities(section("capabilities")),
        client=_client(section("client")),
        limits=_limits(section("limits")),
        stun=_stun(section("stun")) if "stun" in body else None,
        reference=_reference(section("reference"), base_dir) if "reference" in body else None,
        source=Path(source),
    )
    _stun_only_consistency(source, target, "stun" in body)
    return target


def load_target(path: str | Path) -> Target:
    """Read and validate the target file at ``path``; raises :class:`TargetFileError`."""
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as error:
        raise TargetFileError(
            file, "(file)", f"cannot be read: {error.strerror or error}"
        ) from None
    try:
        body = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise TargetFileError(file, "(file)", f"expected UTF-8 text: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise TargetFileError(file, "(file)", f"expected TOML: {error}") from None
    return parse_target(body, source=file, base_dir=file.resolve().parent)
