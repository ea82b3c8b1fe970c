"""Listen addresses as Toxiproxy reads them, and the loopback-only rule of the hop API.

Toxiproxy compares listen addresses *resolved* (``localhost:7070`` is the same proxy
as ``127.0.0.1:7070``) and reports a listen address that does not parse when the
proxy starts, as a 500 with Go's wording. The hop refuses non-loopback listen
addresses unless its server was started with ``--allow-remote-listen``: a hop put
in front of Redis on 0.0.0.0 would expose it to the whole network.
"""

from __future__ import annotations

import ipaddress
import socket

from harness.faults import errors
from harness.faults.model import join_host_port, split_host_port


def parse_listen(protocol: str, listen: str) -> tuple[str, int]:
    """``(host, port)`` of a listen address, or Toxiproxy's 500 for one that does not parse."""
    try:
        return split_host_port(listen)
    except ValueError:
        reason = "missing port in address" if ":" not in listen else "invalid port"
        raise errors.ApiError(
            f"listen {protocol}: address {listen}: {reason}",
            500,
            hint="a listen address is host:port, e.g. 127.0.0.1:0",
        ) from None


def _addresses(host: str, port: int) -> list[str]:
    """IP addresses ``host`` stands for, IPv4 first (Go's ResolveTCPAddr prefers IPv4)."""
    if not host:
        return []
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise errors.ApiError(f"lookup {host}: {error.strerror or error}", 500) from None
    found = [str(info[4][0]) for info in infos]
    found.sort(key=lambda address: ":" in address)
    return list(dict.fromkeys(found))


def resolved(listen: str) -> str:
    """Toxiproxy's ``ResolveTCPAddr(listen).String()``: what "the same listen" means."""
    host, port = parse_listen("tcp", listen)
    found = _addresses(host, port)
    return join_host_port(found[0], port) if found else f":{port}"


def check_loopback(listen: str, *, allow_remote: bool) -> None:
    """Refuse (403) a listen address off the loopback unless the server allows it."""
    if allow_remote:
        return
    try:
        host, port = split_host_port(listen)
    except ValueError:
        return  # reported with Go's wording when the proxy starts
    addresses = _addresses(host, port) if host else ["0.0.0.0"]
    remote = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if remote:
        raise errors.ApiError(
            f"listen address {listen} is not on the loopback ({', '.join(remote)}): the hop "
            "would expose its upstream to other machines",
            403,
            hint="listen on 127.0.0.1 (or another 127.x address), or start the hop server "
            "with --allow-remote-listen if other machines must reach it",
        )
