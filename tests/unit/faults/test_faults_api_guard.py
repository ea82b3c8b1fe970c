"""What the hop API adds to Toxiproxy's: warnings instead of refusals, loopback-only
listen addresses unless allowed, and partial requests that time out (issues 13, 14)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests
from conftest import Api, TcpEcho

from harness.faults.api.launcher import HopServer


def test_suspicious_but_accepted_input_gets_a_warning_header_and_a_log_line(
    hop: HopServer, api: Api, tcp_echo: TcpEcho
) -> None:
    api.proxy("w", tcp_echo.address)
    response = api.post(
        "/proxies/w/toxics", {"type": "latency", "toxicity": 1.5, "attributes": {"latancy": 5}}
    )
    assert response.status_code == 200
    warnings = response.headers.get("X-Ullc-Warning", "")
    assert "unknown attribute(s) latancy" in warnings
    assert "toxicity 1.5 is outside 0..1" in warnings
    assert "latancy" in hop.stderr_tail(20)
    clean = api.post("/proxies/w/toxics", {"type": "latency", "name": "ok"})
    assert "X-Ullc-Warning" not in clean.headers


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0"])
def test_non_loopback_listen_is_refused_by_default(api: Api, listen: str) -> None:
    response = api.post("/proxies", {"name": "open", "listen": listen, "upstream": "127.0.0.1:9"})
    assert response.status_code == 403
    assert (
        "--allow-remote-listen" in response.json()["error"]
        or "loopback" in response.json()["error"]
    )
    assert api.get("/proxies").json() == {}
    populate = api.post("/populate", [{"name": "p", "listen": listen, "upstream": "127.0.0.1:9"}])
    assert populate.status_code == 403
    assert api.get("/proxies").json() == {}


def test_loopback_listen_addresses_are_fine(api: Api) -> None:
    for name, listen in (("a", "127.0.0.1:0"), ("b", "localhost:0"), ("c", "127.9.8.7:0")):
        response = api.post("/proxies", {"name": name, "listen": listen, "upstream": "x:1"})
        assert response.status_code == 201, response.text
    moved = api.post("/proxies/a", {"listen": "0.0.0.0:0"})
    assert moved.status_code == 403


@pytest.fixture
def open_hop() -> Iterator[HopServer]:
    with HopServer.start(allow_remote_listen=True, read_timeout=1.0) as server:
        yield server


def test_allow_remote_listen_opens_it_and_partial_requests_time_out(
    open_hop: HopServer,
) -> None:
    response = requests.post(
        open_hop.url + "/proxies",
        json={"name": "open", "listen": "0.0.0.0:0", "upstream": "127.0.0.1:9"},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    assert response.json()["listen"].startswith("0.0.0.0:")
    # Slowloris: a request whose headers never end, and one whose body never comes.
    stalled = []
    for partial in (
        b"GET /proxies HTTP/1.1\r\nHost: x\r\n",
        b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        b"",  # connected, nothing sent
    ):
        sock = socket.create_connection((open_hop.host, open_hop.port), timeout=5)
        sock.sendall(partial)
        stalled.append(sock)
    start = time.monotonic()
    for sock in stalled:
        with sock:
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            assert b"200 OK" not in data
    assert time.monotonic() - start < 4.0
    assert requests.get(open_hop.url + "/version", timeout=5).status_code == 200
