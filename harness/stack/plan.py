"""The address plan: where every component binds and every link's hop listens (TOPO-7, TOPO-8).

Pure and deterministic: the runner and the supervisor both compute the same
plan from (topology, network), so nothing but the topology path crosses the
process boundary. Each component owns a loopback IP of its own, so ports can
be constants and `ss -lnp` reads like the architecture diagram.

Layout inside the stack's ``127.A.0.0/16`` (``10.A.0.0/16`` on docker):

- ``127.A.0.1:8474`` hop server API; ``127.A.0.53`` / ``.54`` DNS public / bound;
  ``127.A.0.80`` / ``.81`` gateway public / bound (control API on ``.81:9000``);
- ``127.A.(10+r).0/24`` client subnet of region r (clients bind ``.10`` upwards);
- ``127.A.(20+e).1`` edge e public (hop listen), ``.2`` bound (control ``:9000``);
  port 3478 is the routed port, 3500+d the port pinned to DC d (FB-1);
- ``127.A.(100+d).*`` DC d: ``.1`` request handler (+ control), ``.2`` media ingress,
  ``.3`` redis, ``.10+i`` bot instance i, ``.101`` gateway-dc hop, ``.103`` dc-kv
  hop, ``.110+e`` the hop of edge e towards this DC.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from harness.stack.topology import Topology

Address = tuple[str, int]

HOP_API_PORT = 8474
DNS_PORT = 1053
GATEWAY_PORT = 8443
GATEWAY_PATH = "/v1/signaling"
CONTROL_PORT = 9000
MEDIA_PORT = 3478
PIN_PORT_BASE = 3500
HANDLER_PORT = 8080
BOT_HTTP_PORT = 8081
REDIS_PORT = 6379
SIGNALING_TIMEOUT_S = 2.0  # SIG-13; the target file states it as signaling_timeout_ms
INGRESS_HOLD_S = 0.250  # RACE-3 H; the target file states it as hold_ms


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"


class LinkKind(StrEnum):
    """TOPO-2's link kinds; the proxy name starts with the kind (TOPO-8)."""

    CLIENT_DNS = "client-dns"
    CLIENT_GATEWAY = "client-gateway"
    CLIENT_EDGE = "client-edge"
    EDGE_DC = "edge-dc"
    GATEWAY_DC = "gateway-dc"
    DC_KV = "dc-kv"


class Role(StrEnum):
    HOP = "hop"
    DNS = "dns"
    GATEWAY = "gateway"
    EDGE = "edge"
    HANDLER = "handler"
    BOT = "bot"
    INGRESS = "ingress"
    REDIS = "redis"


@dataclass(frozen=True)
class Link:
    """One link of the world and the hop proxy that carries it.

    ``listen`` is where the sending side addresses its traffic (the hop);
    ``upstream`` is where the receiving component is bound.
    """

    name: str
    kind: LinkKind
    transport: Transport
    listen: Address
    upstream: Address
    latency_ms: float
    proxy_protocol: bool = False

    def proxy_json(self) -> dict[str, object]:
        """The proxy in the hop server's (Toxiproxy-format) config."""
        body: dict[str, object] = {
            "name": self.name,
            "listen": f"{self.listen[0]}:{self.listen[1]}",
            "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
            "enabled": True,
            "protocol": self.transport.value,
        }
        if self.proxy_protocol:
            body["proxy_protocol"] = "v2"
        return body


@dataclass(frozen=True)
class Component:
    """One process of the stack. ``group`` is the DC or edge it belongs to (or its own name)."""

    name: str
    role: Role
    group: str
    ip: str


@dataclass(frozen=True)
class BotPlan:
    name: str
    ip: str

    @property
    def media(self) -> Address:
        return (self.ip, MEDIA_PORT)

    @property
    def http(self) -> Address:
        return (self.ip, BOT_HTTP_PORT)


@dataclass(frozen=True)
class EdgePlan:
    name: str
    index: int
    public_ip: str
    bind_ip: str
    pin_ports: dict[str, int]

    @property
    def control(self) -> Address:
        return (self.bind_ip, CONTROL_PORT)


@dataclass(frozen=True)
class DcPlan:
    name: str
    index: int
    handler: Address
    ingress: Address
    redis: Address
    bots: tuple[BotPlan, ...]

    @property
    def control(self) -> Address:
        return self.handler


class Plan:
    """Everything derived from a topology laid out in its network."""

    def __init__(self, topology: Topology, *, hops: bool = True) -> None:
        self.topology = topology
        self.hops = hops
        net = ipaddress.IPv4Network(topology.network)
        # The /16's first two octets: 127.B on loopback (local), 10.B for docker.
        self.prefix = ".".join(str(net.network_address).split(".")[:2])
        self.hop_api: Address = (self.ip(0, 1), HOP_API_PORT)
        self.dns_bind: Address = (self.ip(0, 54), DNS_PORT)
        self.gateway_bind: Address = (self.ip(0, 81), GATEWAY_PORT)
        self.gateway_control: Address = (self.ip(0, 81), CONTROL_PORT)
        self.client_subnets = {
            region.name: f"{self.ip(10 + index, 0)}/24"
            for index, region in enumerate(topology.regions)
        }
        self.edges: dict[str, EdgePlan] = {}
        for index, edge in enumerate(topology.edges):
            self.edges[edge] = EdgePlan(
                name=edge,
                index=index,
                public_ip=self.ip(20 + index, 1),
                bind_ip=self.ip(20 + index, 2),
                pin_ports={dc: PIN_PORT_BASE + d for d, dc in enumerate(topology.dcs)},
            )
        self.dcs: dict[str, DcPlan] = {}
        for index, dc in enumerate(topology.dcs):
            third = 100 + index
            self.dcs[dc] = DcPlan(
                name=dc,
                index=index,
                handler=(self.ip(third, 1), HANDLER_PORT),
                ingress=(self.ip(third, 2), MEDIA_PORT),
                redis=(self.ip(third, 3), REDIS_PORT),
                bots=tuple(
                    BotPlan(f"{dc}.bot-{i}", self.ip(third, 10 + i))
                    for i in range(topology.bot_instances)
                ),
            )
        self.links = self._links()
        self._by_name = {link.name: link for link in self.links}

    def ip(self, third: int, fourth: int) -> str:
        return f"{self.prefix}.{third}.{fourth}"

    # -- links -------------------------------------------------------------------------
    def _links(self) -> list[Link]:
        lat = self.topology.latency
        links = [
            Link(
                "client-dns",
                LinkKind.CLIENT_DNS,
                Transport.UDP,
                (self.ip(0, 53), DNS_PORT),
                self.dns_bind,
                lat.client_dns,
                proxy_protocol=True,
            ),
            Link(
                "client-gateway",
                LinkKind.CLIENT_GATEWAY,
                Transport.TCP,
                (self.ip(0, 80), GATEWAY_PORT),
                self.gateway_bind,
                lat.client_gateway,
            ),
        ]
        for edge in self.edges.values():
            latency = lat.client_edge[edge.name]
            links.append(
                Link(
                    f"client-edge.{edge.name}",
                    LinkKind.CLIENT_EDGE,
                    Transport.UDP,
                    (edge.public_ip, MEDIA_PORT),
                    (edge.bind_ip, MEDIA_PORT),
                    latency,
                    proxy_protocol=True,
                )
            )
            for dc, port in edge.pin_ports.items():
                links.append(
                    Link(
                        f"client-edge.{edge.name}.pin.{dc}",
                        LinkKind.CLIENT_EDGE,
                        Transport.UDP,
                        (edge.public_ip, port),
                        (edge.bind_ip, port),
                        latency,
                        proxy_protocol=True,
                    )
                )
        for site in self.dcs.values():
            third = 100 + site.index
            for edge in self.edges.values():
                # No proxy_protocol here: the edge writes its own PROXY v2 header with
                # the client's address, which the hop must carry unchanged.
                links.append(
                    Link(
                        f"edge-dc.{edge.name}.{site.name}",
                        LinkKind.EDGE_DC,
                        Transport.UDP,
                        (self.ip(third, 110 + edge.index), MEDIA_PORT),
                        site.ingress,
                        lat.edge_dc[edge.name][site.name],
                    )
                )
            links.append(
                Link(
                    f"gateway-dc.{site.name}",
                    LinkKind.GATEWAY_DC,
                    Transport.TCP,
                    (self.ip(third, 101), HANDLER_PORT),
                    site.handler,
                    lat.gateway_dc[site.name],
                )
            )
            links.append(
                Link(
                    f"dc-kv.{site.name}",
                    LinkKind.DC_KV,
                    Transport.TCP,
                    (self.ip(third, 103), REDIS_PORT),
                    site.redis,
                    lat.dc_kv[site.name],
                )
            )
        return links

    def link(self, name: str) -> Link:
        return self._by_name[name]

    def dial(self, name: str) -> Address:
        """Where the sending side of link ``name`` addresses its traffic.

        The hop's listen address; with ``hops=False`` (component tests only) the
        receiving component itself.
        """
        link = self._by_name[name]
        return link.listen if self.hops else link.upstream

    # -- derived addresses ---------------------------------------------------------------
    @property
    def dns_public(self) -> Address:
        return self.dial("client-dns")

    @property
    def gateway_public(self) -> Address:
        return self.dial("client-gateway")

    @property
    def gateway_url(self) -> str:
        host, port = self.gateway_public
        return f"ws://{host}:{port}{GATEWAY_PATH}"

    def edge_public(self, edge: str) -> Address:
        return self.dial(f"client-edge.{edge}")

    def pin_address(self, edge: str, dc: str) -> Address:
        """FB-1: the edge port that reaches ``dc`` whatever the latency map says."""
        return self.dial(f"client-edge.{edge}.pin.{dc}")

    def edge_by_public_ip(self, ip: str) -> str | None:
        for edge in self.edges:
            if self.edge_public(edge)[0] == ip:
                return edge
        return None

    def proxy_header_senders(self, component: Component) -> frozenset[str]:
        """The source IPs whose PROXY v2 headers ``component`` believes: its own relays.

        The client-edge (and client-dns) hops for an edge (the DNS responder); the
        edge-DC hops of its DC and the edges themselves (without hops) for an ingress;
        the DC's ingress for a bot. Hops send from their listen address (TOPO-8).
        Anyone else on the box could name any client address with a header.
        """
        if component.role is Role.EDGE:
            return frozenset({self.edges[component.name].public_ip})
        if component.role is Role.DNS:
            return frozenset({self.link("client-dns").listen[0]})
        if component.role is Role.INGRESS:
            dc = component.group
            hops = {self.link(f"edge-dc.{edge}.{dc}").listen[0] for edge in self.edges}
            return frozenset(hops | {edge.bind_ip for edge in self.edges.values()})
        if component.role is Role.BOT:
            return frozenset({self.dcs[component.group].ingress[0]})
        return frozenset()

    def client_ip(self, region: str | None = None, host: int = 10) -> str:
        """An address a client of ``region`` binds to (TOPO-1 client subnet)."""
        index = [r.name for r in self.topology.regions].index(region or self.topology.client_region)
        return self.ip(10 + index, host)

    def region_of_client(self, ip: str) -> str | None:
        """The region whose client subnet holds ``ip`` (the DNS responder's question)."""
        address = ipaddress.ip_address(ip)
        for region, subnet in self.client_subnets.items():
            if address in ipaddress.ip_network(subnet):
                return region
        return None

    # -- components ---------------------------------------------------------------------
    def components(self) -> list[Component]:
        """Every process of the stack, in start order (the hop first: all links need it)."""
        found = [
            Component("hop", Role.HOP, "hop", self.hop_api[0]),
            Component("dns", Role.DNS, "dns", self.dns_bind[0]),
            Component("gateway", Role.GATEWAY, "gateway", self.gateway_bind[0]),
        ]
        found += [Component(e.name, Role.EDGE, e.name, e.bind_ip) for e in self.edges.values()]
        for dc in self.dcs.values():
            found.append(Component(f"{dc.name}.redis", Role.REDIS, dc.name, dc.redis[0]))
            found.append(Component(f"{dc.name}.handler", Role.HANDLER, dc.name, dc.handler[0]))
            found.append(Component(f"{dc.name}.ingress", Role.INGRESS, dc.name, dc.ingress[0]))
            found += [Component(bot.name, Role.BOT, dc.name, bot.ip) for bot in dc.bots]
        return found

    def component(self, name: str) -> Component:
        for component in self.components():
            if component.name == name:
                return component
        raise KeyError(name)

    def groups(self) -> dict[str, list[str]]:
        """Group name (DC or edge id, ``hop``, ``dns``, ``gateway``) -> its components."""
        found: dict[str, list[str]] = {}
        for component in self.components():
            found.setdefault(component.group, []).append(component.name)
        return found

    def resolve(self, name: str) -> list[str]:
        """A component's name, or a group's components (``dc-eu``: handler, ingress, bots,
        redis); what ``kill``/``pause``/``resume`` of every backend accept."""
        from harness.stack.errors import UnknownComponentError

        names = [component.name for component in self.components()]
        if name in names:
            return [name]
        groups = self.groups()
        if name in groups:
            return groups[name]
        raise UnknownComponentError(
            f"no component or group {name!r} in this stack",
            hint=f"components: {', '.join(names)}; groups: {', '.join(groups)}",
        )

    def addresses(self) -> dict[str, str]:
        """Component name -> the address it serves on (``up``'s table)."""
        hop_host, hop_port = self.hop_api
        found = {
            "hop": f"http://{hop_host}:{hop_port} (API)",
            "dns": f"{self.dns_public[0]}:{self.dns_public[1]} ({self.topology.global_endpoint})",
            "gateway": self.gateway_url,
        }
        for name in self.edges:
            found[name] = f"{self.edge_public(name)[0]}:{self.edge_public(name)[1]} (udp)"
        for name, dc in self.dcs.items():
            found[f"{name}.handler"] = f"http://{dc.handler[0]}:{dc.handler[1]}"
            found[f"{name}.ingress"] = f"{dc.ingress[0]}:{dc.ingress[1]} (udp)"
            found[f"{name}.redis"] = f"{dc.redis[0]}:{dc.redis[1]}"
            for bot in dc.bots:
                found[bot.name] = f"{bot.media[0]}:{bot.media[1]} (udp)"
        return found

    def binds(self) -> list[tuple[str, Transport, Address]]:
        """Every (component, transport, address) the stack binds: the busy-port pre-check."""
        found: list[tuple[str, Transport, Address]] = [
            ("hop", Transport.TCP, self.hop_api),
            ("dns", Transport.UDP, self.dns_bind),
            ("gateway", Transport.TCP, self.gateway_bind),
            ("gateway", Transport.TCP, self.gateway_control),
        ]
        for link in self.links:
            if self.hops:
                found.append((f"hop ({link.name})", link.transport, link.listen))
        for edge in self.edges.values():
            found.append((edge.name, Transport.UDP, (edge.bind_ip, MEDIA_PORT)))
            found += [
                (edge.name, Transport.UDP, (edge.bind_ip, p)) for p in edge.pin_ports.values()
            ]
            found.append((edge.name, Transport.TCP, edge.control))
        for dc in self.dcs.values():
            found.append((f"{dc.name}.handler", Transport.TCP, dc.handler))
            found.append((f"{dc.name}.ingress", Transport.UDP, dc.ingress))
            found.append((f"{dc.name}.redis", Transport.TCP, dc.redis))
            for bot in dc.bots:
                found.append((bot.name, Transport.UDP, bot.media))
                found.append((bot.name, Transport.TCP, bot.http))
        return found
