"""The HTTP API answers like Toxiproxy, and toxiproxy-python drives it unmodified."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Api, TcpEcho, UdpEcho, median_rtt, port_of, tcp_rtt, udp_rtt

from harness.faults.api.launcher import HopServer
from harness.faults.proxy_protocol import decode_v2


@pytest.fixture
def toxiproxy_python(hop: HopServer, api: Api) -> Iterator[Any]:
    """toxiproxy-python pointed at our server; its class-level host/port restored after."""
    from toxiproxy import Toxiproxy
    from toxiproxy.api import APIConsumer

    saved = (APIConsumer.host, APIConsumer.port)
    server = Toxiproxy()
    server.update_api_consumer(hop.host, hop.port)
    yield server
    server.update_api_consumer(*saved)


def test_toxiproxy_python_drives_tcp_proxies(toxiproxy_python: Any, tcp_echo: TcpEcho) -> None:
    assert toxiproxy_python.running()
    assert b"version" in toxiproxy_python.version()
    proxy = toxiproxy_python.create(upstream=tcp_echo.address, name="redis_test")
    assert set(toxiproxy_python.proxies()) == {"redis_test"}
    port = int(proxy.listen.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        assert median_rtt(lambda: tcp_rtt(sock)) < 20
        proxy.add_toxic(type="latency", attributes={"latency": 40})
        (toxic,) = proxy.toxics().values()
        assert (toxic.name, toxic.stream, toxic.attributes) == (
            "latency_downstream",
            "downstream",
            {"latency": 40, "jitter": 0},
        )
        assert 39 <= median_rtt(lambda: tcp_rtt(sock), 3) < 80
        assert proxy.destroy_toxic("latency_downstream")
        assert median_rtt(lambda: tcp_rtt(sock)) < 20
    with proxy.down():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        assert median_rtt(lambda: tcp_rtt(sock)) < 20
    assert toxiproxy_python.reset()
    assert proxy.destroy()
    assert toxiproxy_python.proxies() == {}


def test_toxiproxy_python_drives_udp_proxies(
    toxiproxy_python: Any, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    from toxiproxy import Proxy
    from toxiproxy.api import APIConsumer

    body = {"name": "media", "upstream": udp_echo.address, "protocol": "udp"}
    proxy = Proxy(**APIConsumer.post("/proxies", json=body).json())
    port = int(proxy.listen.rsplit(":", 1)[1])
    assert median_rtt(lambda: udp_rtt(udp_client, port)) < 20
    proxy.add_toxic(type="loss", stream="upstream", attributes={"probability": 1.0})
    udp_client.settimeout(0.2)
    with pytest.raises(TimeoutError):
        udp_rtt(udp_client, port)
    proxy.destroy_toxic("loss_upstream")
    udp_client.settimeout(2)
    assert median_rtt(lambda: udp_rtt(udp_client, port)) < 20
    assert toxiproxy_python.get_proxy("media").upstream == udp_echo.address


ERRORS = [
    # (method, path, body, status, error) - Toxiproxy's messages from its api.go
    ("post", "/proxies", b"{not json", 400, "bad request body: "),
    ("post", "/proxies", {"upstream": "127.0.0.1:1"}, 400, "missing required field: name"),
    ("post", "/proxies", {"name": "x"}, 400, "missing required field: upstream"),
    ("post", "/proxies", {"name": "good", "upstream": "127.0.0.1:1"}, 409, "proxy already exists"),
    ("get", "/proxies/nope", None, 404, "proxy not found"),
    ("delete", "/proxies/nope", None, 404, "proxy not found"),
    ("post", "/proxies/nope/toxics", {"type": "latency"}, 404, "proxy not found"),
    ("post", "/proxies/good/toxics", {"type": "nope"}, 400, "invalid toxic type"),
    ("post", "/proxies/good/toxics", {"type": "loss"}, 400, "invalid toxic type"),  # UDP only
    (
        "post",
        "/proxies/good/toxics",
        {"type": "latency", "stream": "sideways"},
        400,
        "stream was invalid, can be either upstream or downstream",
    ),
    (
        "post",
        "/proxies/good/toxics",
        {"type": "latency", "attributes": {"latency": "slow"}},
        400,
        "bad request body: ",
    ),
    (
        "post",
        "/proxies/good/toxics",
        {"type": "loss", "attributes": {"probability": 2}},  # ours: UDP-only types stay strict
        400,
        "invalid toxic type",
    ),
    (
        "post",
        "/proxies/good/toxics",
        {"type": "latency", "name": "lag"},
        409,
        "toxic already exists",
    ),
    ("get", "/proxies/good/toxics/nope", None, 404, "toxic not found"),
    ("delete", "/proxies/good/toxics/nope", None, 404, "toxic not found"),
    ("post", "/proxies/good/toxics/nope", {"attributes": {}}, 404, "toxic not found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "error"), ERRORS)
def test_bad_input_gets_toxiproxys_status_and_disturbs_nothing(
    api: Api,
    tcp_echo: TcpEcho,
    udp_echo: UdpEcho,
    udp_client: socket.socket,
    method: str,
    path: str,
    body: Any,
    status: int,
    error: str,
) -> None:
    good = port_of(api.proxy("good", tcp_echo.address))
    other = port_of(api.proxy("other", udp_echo.address, protocol="udp"))
    api.toxic("good", name="lag", type="latency", attributes={"latency": 1})
    if method == "post":
        raw = body if isinstance(body, bytes) else None
        response = api.post(path, None if raw else body, data=raw)
    else:
        response = getattr(api, method)(path)
    assert response.status_code == status
    answer = response.json()
    assert answer["status"] == status
    assert answer["error"].startswith(error) if error.endswith(": ") else answer["error"] == error
    # Nothing else changed: both proxies still pass traffic, the toxic is still there.
    with socket.create_connection(("127.0.0.1", good), timeout=2) as sock:
        assert tcp_rtt(sock) < 50
    assert udp_rtt(udp_client, other) < 50
    assert [t["name"] for t in api.get("/proxies/good/toxics").json()] == ["lag"]


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_port_in_use_is_a_500_with_gos_message(api: Api, protocol: str) -> None:
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if protocol == "tcp":
            holder.listen()
        listen = f"127.0.0.1:{holder.getsockname()[1]}"
        body = {"name": "clash", "upstream": "127.0.0.1:9", "listen": listen, "protocol": protocol}
        response = api.post("/proxies", body)
    assert response.status_code == 500
    assert response.json() == {
        "error": f"listen {protocol} {listen}: bind: address already in use",
        "status": 500,
    }
    assert api.get("/proxies").json() == {}


def test_proxy_json_shapes_and_update(api: Api, tcp_echo: TcpEcho) -> None:
    created = api.proxy("shape", tcp_echo.address)
    assert {"name", "listen", "upstream", "enabled", "toxics"} <= set(created)
    toxic = api.toxic("shape", type="slicer", attributes={"average_size": 10})
    assert toxic == {
        "name": "slicer_downstream",
        "type": "slicer",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"average_size": 10, "size_variation": 0, "delay": 0},
    }
    updated = api.post("/proxies/shape/toxics/slicer_downstream", {"attributes": {"delay": 5}})
    assert updated.json()["attributes"] == {"average_size": 10, "size_variation": 0, "delay": 5}
    assert api.get("/proxies/shape/toxics/slicer_downstream").json() == updated.json()
    assert api.post("/proxies/shape", {"enabled": False}).json()["enabled"] is False
    populated = api.post("/populate", [{"name": "p2", "upstream": tcp_echo.address}])
    assert populated.status_code == 201
    assert [p["name"] for p in populated.json()["proxies"]] == ["p2"]
    assert api.delete("/proxies/shape").status_code == 204


def test_proxy_protocol_v2_carries_the_client_address(api: Api, udp_client: socket.socket) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(2)
        upstream = f"127.0.0.1:{server.getsockname()[1]}"
        proxy = api.proxy("edge", upstream, protocol="udp", proxy_protocol="v2")
        udp_client.sendto(b"stun", ("127.0.0.1", port_of(proxy)))
        datagram, flow = server.recvfrom(2048)
        header, payload = decode_v2(datagram)
        assert payload == b"stun"
        assert header is not None
        assert header.src == ("127.0.0.1", udp_client.getsockname()[1])
        assert header.dst == ("127.0.0.1", port_of(proxy))
        server.sendto(b"reply", flow)  # replies need no header
        assert udp_client.recvfrom(2048)[0] == b"reply"


def test_udp_flows_are_per_client_and_idle_out(api: Api, udp_echo: UdpEcho) -> None:
    proxy = api.proxy("flows", udp_echo.address, protocol="udp", flow_idle_timeout=0.2)
    port = port_of(proxy)
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for index, sock in enumerate(clients):
            sock.settimeout(2)
            sock.sendto(b"client%d" % index, ("127.0.0.1", port))
        for index, sock in enumerate(clients):
            assert sock.recvfrom(100)[0] == b"client%d" % index
        flows = api.get("/proxies/flows/flows").json()
        assert len(flows) == 2
        assert {f["upstream_datagrams"] for f in flows} == {1}
        deadline = time.monotonic() + 3
        while api.get("/proxies/flows/flows").json() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.get("/proxies/flows/flows").json() == []
    finally:
        for sock in clients:
            sock.close()


def test_capture_records_both_stages(
    api: Api, udp_echo: UdpEcho, udp_client: socket.socket
) -> None:
    port = port_of(api.proxy("cap", udp_echo.address, protocol="udp", capture=8))
    for _ in range(5):
        udp_rtt(udp_client, port, b"x")
    records = api.get("/proxies/cap/capture").json()
    assert records["size"] == 8
    assert len(records["records"]) == 8  # ring: 20 events, the last 8 kept
    last = records["records"][-1]
    assert last["direction"] == "downstream"
    assert last["stage"] == "out"
    assert base64.b64decode(last["data"]) == b"x"
    assert api.delete("/proxies/cap/capture").status_code == 204
    assert api.get("/proxies/cap/capture").json()["records"] == []
