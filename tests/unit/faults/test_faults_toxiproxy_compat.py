"""Toxiproxy's own API cases (its api_test.go), and the differences issue 13 found,
run against our hop server - or against a real Toxiproxy when ``TOXIPROXY_URL`` is set.

Driven by toxiproxy-python where it has a call for it, by raw HTTP otherwise. Only
behaviour a real Toxiproxy shows is asserted here (no extension is used), so the
same module proves both servers agree. Toxiproxy's fixed ports (3310, 7070, ...)
are replaced by free ports picked at run time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from harness.faults.api.launcher import HopServer

UA = {"User-Agent": "ullc-harness-compat"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


class Server:
    """The server under test: raw HTTP plus toxiproxy-python pointed at it."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        host, port = self.url.rsplit("/", 1)[1].rsplit(":", 1)
        self.host, self.port = host, int(port)

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {**UA, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.url + path, json=body, headers=headers, timeout=10, **kwargs
        )

    def clear(self) -> None:
        for name in self.request("GET", "/proxies").json():
            self.request("DELETE", f"/proxies/{name}")

    @contextlib.contextmanager
    def python(self) -> Iterator[Any]:
        from toxiproxy import Toxiproxy
        from toxiproxy.api import APIConsumer

        saved = (APIConsumer.host, APIConsumer.port)
        client = Toxiproxy()
        client.update_api_consumer(self.host, self.port)
        try:
            yield client
        finally:
            client.update_api_consumer(*saved)

    def create(self, name: str, listen: str, upstream: str, **extra: Any) -> dict[str, Any]:
        response = self.request(
            "POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream, **extra}
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def toxic(self, proxy: str, **body: Any) -> requests.Response:
        return self.request("POST", f"/proxies/{proxy}/toxics", body)

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.request("GET", f"/proxies/{proxy}/toxics").json()
        return data


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    url = os.environ.get("TOXIPROXY_URL")
    if not url:
        hop: HopServer = request.getfixturevalue("hop")
        url = hop.url
    target = Server(url)
    target.clear()
    yield target
    target.clear()


# -- api_test.go ------------------------------------------------------------------------------
def test_request_id(server: Server) -> None:
    response = server.request("GET", "/version", headers={"User-Agent": "curl"})
    assert response.headers.get("X-Toxiproxy-Request-Id")


def test_browser_gets_403_and_others_do_not(server: Server) -> None:
    browser = (
        "Mozilla/5.0 (Linux; Android 4.4.2); Nexus 5 Build/KOT49H) AppleWebKit/537.36"
        "(KHTML, like Gecko) Chrome/33.0.1750.117 Mobile Safari/537.36 OPR/20.0.1396.72047"
    )
    assert server.request("GET", "/proxies", headers={"User-Agent": browser}).status_code == 403
    assert server.request("GET", "/proxies", headers={"User-Agent": "Wget/2.1"}).status_code == 200


def test_index_with_no_proxies(server: Server) -> None:
    with server.python() as toxiproxy:
        assert toxiproxy.proxies() == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "", "upstream": ""}, "missing required field: name"),
        ({"name": "test", "upstream": ""}, "missing required field: upstream"),
    ],
)
def test_create_proxy_blank_fields(server: Server, body: dict[str, str], message: str) -> None:
    response = server.request("POST", "/proxies", body)
    assert (response.status_code, response.json()["error"]) == (400, message)


def test_populate_proxies_default_enabled_and_disabled(server: Server) -> None:
    one, two, three = free_port(), free_port(), free_port()
    body = [
        {"name": "one", "listen": f"localhost:{one}", "upstream": "localhost:7171"},
        {
            "name": "two",
            "listen": f"localhost:{two}",
            "upstream": "localhost:7474",
            "enabled": False,
        },
        {
            "name": "three",
            "listen": f"localhost:{three}",
            "upstream": "localhost:7474",
            "enabled": True,
        },
    ]
    response = server.request("POST", "/populate", body)
    assert response.status_code == 201, response.text
    proxies = response.json()["proxies"]
    assert [p["name"] for p in proxies] == ["one", "two", "three"]
    assert [p["enabled"] for p in proxies] == [True, False, True]
    assert listening(f"127.0.0.1:{one}")
    assert not listening(f"127.0.0.1:{two}")
    assert listening(f"127.0.0.1:{three}")


def test_populate_keeps_an_existing_proxy_whose_resolved_listen_matches(server: Server) -> None:
    one, two, moved = free_port(), free_port(), free_port()
    server.create("one", f"localhost:{one}", "localhost:7171")
    server.create("two", f"localhost:{two}", "localhost:7474")
    assert server.toxic("one", type="latency", stream="downstream").status_code == 200
    body = [
        {"name": "one", "listen": f"localhost:{one}", "upstream": "localhost:7171"},
        {"name": "two", "listen": f"127.0.0.1:{moved}", "upstream": "localhost:7676"},
    ]
    response = server.request("POST", "/populate", body)
    assert response.status_code == 201, response.text
    proxies = response.json()["proxies"]
    assert [(p["name"], p["listen"]) for p in proxies] == [
        ("one", f"127.0.0.1:{one}"),
        ("two", f"127.0.0.1:{moved}"),
    ]
    toxics = server.toxics("one")
    assert [t["type"] for t in toxics] == ["latency"], "populate replaced the existing proxy"
    assert listening(f"127.0.0.1:{one}")
    assert listening(f"127.0.0.1:{moved}")
    assert not listening(f"127.0.0.1:{two}")


def test_populate_with_a_bad_name_creates_nothing(server: Server) -> None:
    body = [
        {"name": "one", "listen": f"localhost:{free_port()}", "upstream": "localhost:7171"},
        {"name": "", "listen": "", "enabled": True},
    ]
    response = server.request("POST", "/populate", body)
    assert response.status_code == 400
    assert response.json()["error"] == "missing required field: name at proxy 2"
    assert not response.json().get("proxies")
    assert server.request("GET", "/proxies").json() == {}


def test_populate_that_fails_part_way_keeps_what_came_before(server: Server) -> None:
    body = [
        {"name": "one", "listen": f"localhost:{free_port()}", "upstream": "localhost:7171"},
        {"name": "two", "listen": "local373", "upstream": "localhost:7474"},
        {"name": "three", "listen": f"localhost:{free_port()}", "upstream": "localhost:7676"},
    ]
    response = server.request("POST", "/populate", body)
    assert response.status_code >= 400
    answer = response.json()
    assert answer["error"]
    assert [p["name"] for p in answer["proxies"]] == ["one"]
    assert set(server.request("GET", "/proxies").json()) == {"one"}


def test_populate_then_add_a_toxic(server: Server) -> None:
    body = [{"name": "one", "listen": f"localhost:{free_port()}", "upstream": "localhost:7171"}]
    assert server.request("POST", "/populate", body).status_code == 201
    assert server.toxic("one", type="latency", stream="downstream").status_code == 200


def test_listing_and_getting_proxies(server: Server) -> None:
    port = free_port()
    with server.python() as toxiproxy:
        toxiproxy.create(
            upstream="localhost:20001", name="mysql_master", listen=f"localhost:{port}"
        )
        proxy = toxiproxy.proxies()["mysql_master"]
        assert (proxy.name, proxy.listen, proxy.upstream, proxy.enabled) == (
            "mysql_master",
            f"127.0.0.1:{port}",
            "localhost:20001",
            True,
        )
        assert proxy.toxics() == {}
        assert toxiproxy.get_proxy("mysql_master").listen == f"127.0.0.1:{port}"


def test_create_disabled_proxy_then_enable_and_disable(server: Server) -> None:
    port = free_port()
    data = server.create("mysql_master", f"localhost:{port}", "localhost:20001", enabled=False)
    assert (data["listen"], data["enabled"]) == (f"localhost:{port}", False)
    assert not listening(f"127.0.0.1:{port}")
    with server.python() as toxiproxy:
        proxy = toxiproxy.get_proxy("mysql_master")
        proxy.enable()
        assert listening(f"127.0.0.1:{port}")
        proxy.disable()
        assert not listening(f"127.0.0.1:{port}")


def test_delete_proxy(server: Server) -> None:
    port = free_port()
    server.create("mysql_master", f"localhost:{port}", "localhost:20001")
    assert listening(f"127.0.0.1:{port}")
    assert server.request("DELETE", "/proxies/mysql_master").status_code == 204
    assert not listening(f"127.0.0.1:{port}")
    again = server.request("DELETE", "/proxies/mysql_master")
    assert (again.status_code, again.json()["error"]) == (404, "proxy not found")


def test_port_and_name_conflicts(server: Server) -> None:
    port = free_port()
    server.create("mysql_master", f"localhost:{port}", "localhost:20001")
    clash = server.request(
        "POST", "/proxies", {"name": "test", "listen": f"localhost:{port}", "upstream": "x:1"}
    )
    assert clash.status_code == 500
    assert clash.json()["error"] == (f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    same = server.request(
        "POST",
        "/proxies",
        {"name": "mysql_master", "listen": f"localhost:{free_port()}", "upstream": "x:1"},
    )
    assert (same.status_code, same.json()["error"]) == (409, "proxy already exists")


def test_reset_state_enables_proxies_and_removes_toxics(server: Server) -> None:
    port = free_port()
    server.create("mysql_master", f"localhost:{port}", "localhost:20001")
    response = server.toxic(
        "mysql_master", type="latency", attributes={"latency": 100, "jitter": 10}
    )
    assert response.json()["attributes"] == {"latency": 100, "jitter": 10}
    server.request("POST", "/proxies/mysql_master", {"enabled": False})
    assert server.request("POST", "/reset").status_code == 204
    data = server.request("GET", "/proxies/mysql_master").json()
    assert (data["enabled"], data["toxics"]) == (True, [])
    assert listening(f"127.0.0.1:{port}")


def test_toxics_add_read_back_conflict_and_defaults(server: Server) -> None:
    server.create("mysql_master", f"localhost:{free_port()}", "localhost:20001")
    added = server.toxic(
        "mysql_master",
        name="foobar",
        type="latency",
        stream="downstream",
        attributes={"latency": 100, "jitter": 10},
    )
    assert added.status_code == 200
    clash = server.toxic("mysql_master", name="foobar", type="slow_close", stream="upstream")
    assert (clash.status_code, clash.json()["error"]) == (409, "toxic already exists")
    server.toxic("mysql_master", type="latency", stream="upstream")
    server.toxic("mysql_master", type="latency", stream="downstream", toxicity=0.2)
    toxics = {t["name"]: t for t in server.toxics("mysql_master")}
    assert toxics["foobar"] == {
        "name": "foobar",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
        "attributes": {"latency": 100, "jitter": 10},
    }
    assert toxics["latency_upstream"]["attributes"] == {"latency": 0, "jitter": 0}
    assert toxics["latency_downstream"]["toxicity"] == pytest.approx(0.2)


def test_noop_toxic(server: Server) -> None:
    server.create("mysql_master", f"localhost:{free_port()}", "localhost:20001")
    noop = server.toxic("mysql_master", name="foobar", type="noop")
    assert noop.status_code == 200, noop.text
    body = noop.json()
    assert (body["name"], body["type"], body["stream"], body["toxicity"]) == (
        "foobar",
        "noop",
        "downstream",
        1,
    )


def test_update_toxic_merges_attributes_and_keeps_toxicity(server: Server) -> None:
    server.create("mysql_master", f"localhost:{free_port()}", "localhost:20001")
    server.toxic("mysql_master", type="latency", attributes={"latency": 100, "jitter": 10})
    path = "/proxies/mysql_master/toxics/latency_downstream"
    first = server.request("PATCH", path, {"attributes": {"latency": 1000}, "toxicity": 0.5})
    assert first.json()["attributes"] == {"latency": 1000, "jitter": 10}
    assert first.json()["toxicity"] == pytest.approx(0.5)
    second = server.request("PATCH", path, {"attributes": {"latency": 500}})
    assert second.json()["attributes"] == {"latency": 500, "jitter": 10}
    assert second.json()["toxicity"] == pytest.approx(0.5)


def test_remove_toxic_version_and_invalid_stream(server: Server) -> None:
    server.create("mysql_master", f"localhost:{free_port()}", "localhost:20001")
    server.toxic("mysql_master", type="latency")
    with server.python() as toxiproxy:
        assert toxiproxy.get_proxy("mysql_master").destroy_toxic("latency_downstream")
    assert server.toxics("mysql_master") == []
    version = server.request("GET", "/version")
    assert version.text.startswith('{"version": "')
    assert version.text.endswith('"}\n')
    bad = server.toxic("mysql_master", type="latency", stream="walrustream")
    assert bad.status_code == 400


# -- the differences issue 13 found ------------------------------------------------------------
def test_toxics_are_listed_upstream_first_then_downstream(server: Server) -> None:
    server.create("p", f"localhost:{free_port()}", "localhost:20001")
    for name, stream in (("a", "downstream"), ("b", "upstream"), ("c", "downstream")):
        assert server.toxic("p", name=name, type="latency", stream=stream).status_code == 200
    assert [t["name"] for t in server.toxics("p")] == ["b", "a", "c"]
    listed = server.request("GET", "/proxies").json()["p"]["toxics"]
    assert [t["name"] for t in listed] == ["b", "a", "c"]


def test_what_toxiproxy_accepts_is_accepted(server: Server) -> None:
    """Unknown attributes are ignored, toxicity outside 0..1 and negative values taken."""
    server.create("p", f"localhost:{free_port()}", "localhost:20001")
    typo = server.toxic("p", name="t1", type="latency", attributes={"latancy": 5})
    assert typo.status_code == 200
    assert typo.json()["attributes"] == {"latency": 0, "jitter": 0}
    assert server.toxic("p", name="t2", type="latency", toxicity=2).status_code == 200
    negative = server.toxic("p", name="t3", type="latency", attributes={"latency": -5})
    assert (negative.status_code, negative.json()["attributes"]["latency"]) == (200, -5)


class Recorder:
    """A TCP server that records the size of every recv, echoes nothing."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.reads: list[bytes] = []
        self.closed = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.reads.append(chunk)
        self.closed.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    upstream = Recorder()
    yield upstream
    upstream.close()


def test_slicer_cuts_like_toxiproxys_chunk(server: Server, recorder: Recorder) -> None:
    port = free_port()
    server.create("s", f"127.0.0.1:{port}", recorder.address)
    server.toxic(
        "s",
        type="slicer",
        stream="upstream",
        attributes={"average_size": 100, "size_variation": 0, "delay": 50_000},
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(bytes(1000))
        time.sleep(0.1)
        deadline = time.monotonic() + 5
        while sum(map(len, recorder.reads)) < 1000 and time.monotonic() < deadline:
            time.sleep(0.02)
    sizes = [len(chunk) for chunk in recorder.reads]
    assert sum(sizes) == 1000
    # 16 pieces of 62 or 63 bytes (not 10 of 100). A starved reader may find two
    # pieces in one read, so each read must be made of whole 62/63-byte pieces.
    assert all(size % 62 <= size // 62 for size in sizes), sizes
    assert len(sizes) >= 8, sizes


def test_timeout_restarts_with_every_chunk(server: Server, recorder: Recorder) -> None:
    port = free_port()
    server.create("t", f"127.0.0.1:{port}", recorder.address)
    server.toxic("t", type="timeout", stream="upstream", attributes={"timeout": 800})
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        for _ in range(20):  # data every 100 ms for 2 s: never 800 ms of silence
            client.sendall(b"x")
            time.sleep(0.1)
        client.settimeout(0.05)
        with pytest.raises(TimeoutError):
            client.recv(1)  # still open after 2 s (a fixed deadline closed it at 0.8 s)
        client.settimeout(5)
        start = time.monotonic()
        assert client.recv(1) == b""  # then closed 800 ms after the last chunk
        assert time.monotonic() - start < 2.5
    assert recorder.reads == []  # a timeout toxic passes nothing


def test_removing_a_timeout_closes_the_connection(server: Server, recorder: Recorder) -> None:
    port = free_port()
    server.create("t", f"127.0.0.1:{port}", recorder.address)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"AAAA")
        time.sleep(0.2)
        server.toxic("t", name="hold", type="timeout", stream="upstream")
        client.sendall(b"BBBB")
        time.sleep(0.2)
        assert server.request("DELETE", "/proxies/t/toxics/hold").status_code == 204
        try:
            assert client.recv(1) == b""
        except ConnectionResetError:
            pass
    assert recorder.closed.wait(5)
    assert b"".join(recorder.reads) == b"AAAA"  # never AAAA...CCCC with a hole


def test_json_null_leaves_a_field_at_its_default(server: Server) -> None:
    """Go decodes null into nothing: the default stays (enabled: true, toxicity: 1)."""
    created = server.create("n", f"localhost:{free_port()}", "localhost:20001", enabled=None)
    assert created["enabled"] is True
    toxic = server.toxic("n", type="latency", toxicity=None, attributes={"latency": None})
    assert toxic.status_code == 200, toxic.text
    assert (toxic.json()["toxicity"], toxic.json()["attributes"]["latency"]) == (1, 0)
    body = [{"name": "m", "listen": f"localhost:{free_port()}", "upstream": "x:1", "enabled": None}]
    populated = server.request("POST", "/populate", body)
    assert populated.status_code == 201, populated.text
    assert populated.json()["proxies"][0]["enabled"] is True
