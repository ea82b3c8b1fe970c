"""Target files load strictly (TGT-1..6) and round-trip through the writer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.signaling import Mode
from harness.target import (
    Capability,
    HostPort,
    TargetFileError,
    load_target,
    write_target,
)
from harness.target.model import DEFAULT_STUN_PORT

FULL = """
[target]
name = "my-ullc"

[endpoints]
gateway = "ws://127.0.0.1:8443/v1/signaling"
dns = "127.0.0.53:53"
global_endpoint = "media.ullc.test"
edges = ["127.10.1.1:3478", "[::1]:3479"]

[control]
gateway = "http://127.0.0.1:9000"
edges = { "edge-us" = "http://127.0.0.1:9001" }
dcs = { "dc-us" = "http://127.0.0.1:9101" }

[capabilities]
modes = ["ullc", "sequential"]
latency_map_control = true
outage_control = false
session_listing = true

[client]
bind_ip = "127.1.1.10"

[limits]
connect_budget_ms = 1000
fallback_ms = 500
session_ttl_ms = 60000
signaling_timeout_ms = 2000
pacing_ms = 50

[reference]
backend = "local"
topology = "world/topology.json"
hop_api = "http://127.0.0.1:8474"
proxies = { "client-gateway" = "cg-us" }
run_dir = "run"
pid = 1234
"""

MINIMAL = """
[target]
name = "plain"
[endpoints]
gateway = "wss://gw.example:443/ullc"
edges = ["192.0.2.1:3478"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_loads_every_section(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, FULL))
    assert target.name == "my-ullc"
    assert target.endpoints.dns == HostPort("127.0.0.53", 53)
    assert target.endpoints.global_endpoint == "media.ullc.test"
    assert target.endpoints.global_port == 3478
    assert target.endpoints.edges == (HostPort("127.10.1.1", 3478), HostPort("::1", 3479))
    assert str(target.endpoints.edges[1]) == "[::1]:3479"
    assert target.control.edges == {"edge-us": "http://127.0.0.1:9001"}
    assert target.capabilities.modes == {Mode.ULLC, Mode.SEQUENTIAL}
    assert target.capabilities.has(Capability.LATENCY_MAP_CONTROL)
    assert target.capabilities.missing("outage_control", "sequential") == [
        Capability.OUTAGE_CONTROL
    ]
    assert target.client.bind_ip == "127.1.1.10"
    assert target.limits.pacing_ms == 50


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, FULL))
    assert target.reference is not None
    # TGT-3: relative to the file, not to the working directory.
    assert target.reference.topology == tmp_path.resolve() / "world" / "topology.json"
    assert target.reference.extra["run_dir"] == tmp_path.resolve() / "run"
    assert target.reference.extra["pid"] == 1234


def test_capabilities_default_to_plain_ullc(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, MINIMAL))
    assert target.capabilities.names == {Capability.ULLC}
    assert target.capabilities.missing("sequential") == [Capability.SEQUENTIAL]
    assert target.client.bind_ip is None
    assert target.reference is None


def test_round_trip_through_the_writer(tmp_path: Path) -> None:
    original = load_target(_write(tmp_path, FULL))
    written = write_target(original, tmp_path / "out" / "again.toml")
    again = load_target(written)
    assert again == original
    assert "ice_pwd" not in original.to_toml()


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (MINIMAL + "colour = 'blue'\n", "endpoints.colour", "unknown key"),
        (MINIMAL + "[limitz]\npacing_ms = 5\n", "limitz", "unknown section"),
        (MINIMAL + "[limits]\npacing_ms = '50'\n", "limits.pacing_ms", "positive integer"),
        (MINIMAL + "[limits]\npacing_ms = 0\n", "limits.pacing_ms", "positive integer"),
        (MINIMAL + "[limits]\npacing_ms = 500\n", "limits.pacing_ms", "20..100"),
        (
            MINIMAL + "[capabilities]\nsession_listing = 1\n",
            "capabilities.session_listing",
            "true or false",
        ),
        (MINIMAL + "[capabilities]\nmodes = ['turbo']\n", "capabilities.modes", "modes among"),
        (MINIMAL + "[client]\nbind_ip = 'here'\n", "client.bind_ip", "IP address"),
        (
            "[target]\nname='x'\n[endpoints]\ngateway='http://a:1/'\nedges=['1.2.3.4:5']\n",
            "endpoints.gateway",
            "ws://",
        ),
        (
            "[target]\nname='x'\n[endpoints]\ngateway='ws://a:1/'\nedges=['1.2.3.4']\n",
            "endpoints.edges[0]",
            "host:port",
        ),
        (
            "[target]\nname='x'\n[endpoints]\ngateway='ws://a:1/'\nedges=['1.2.3.4:99999']\n",
            "endpoints.edges[0]",
            "port 99999",
        ),
        ("[target]\nname='x'\n[endpoints]\ngateway='ws://a:1/'\n", "endpoints.edges", "neither"),
        (
            "[target]\nname='x'\n[endpoints]\ngateway='ws://a:1/'\ndns='1.1.1.1:53'\n",
            "endpoints.global_endpoint",
            "required",
        ),
        (
            "[target]\n[endpoints]\ngateway='ws://a:1/'\nedges=['1.2.3.4:5']\n",
            "target.name",
            "required",
        ),
        ("[endpoints]\ngateway='ws://a:1/'\nedges=['1.2.3.4:5']\n", "[target]", "missing"),
        ("[target]\nname='x'\n[endpoints]\nedges=['1.2.3.4:5']\n", "endpoints.gateway", "TGT-5"),
        ("[target\nname='x'\n", "(file)", "expected TOML"),
    ],
)
def test_broken_files_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TargetFileError) as caught:
        load_target(path)
    assert caught.value.key == key
    assert expected in caught.value.problem
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, UsageError)
    assert caught.value.hint


def test_stun_only_target_needs_no_gateway(tmp_path: Path) -> None:  # TGT-5
    text = "[target]\nname='coturn'\n[endpoints]\nstun='127.0.0.1:3478'\n"
    target = load_target(_write(tmp_path, text + "[capabilities]\nstun_only = true\n"))
    assert target.endpoints.gateway is None
    with pytest.raises(UsageError, match="STUN-only"):
        target.endpoints.require_gateway()
    assert load_target(write_target(target, tmp_path / "again.toml")) == target


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match="cannot be read"):
        load_target(tmp_path / "absent.toml")


def _with_proxies(tmp_path: Path, proxies: str, *, topology: bool) -> Path:
    text = MINIMAL + '\n[reference]\nbackend = "local"\n'
    if topology:
        from harness.stack.topology import default_topology_path

        text += f'topology = "{default_topology_path()}"\n'
    return _write(tmp_path, text + f"proxies = {{ {proxies} }}\n")


@pytest.mark.parametrize("topology", [True, False], ids=["with-topology", "without"])
def test_an_unknown_link_in_reference_proxies_is_an_error_naming_the_known_ones(
    tmp_path: Path, topology: bool
) -> None:
    path = _with_proxies(tmp_path, '"cliet-edge.edge-us" = "x"', topology=topology)
    with pytest.raises(TargetFileError) as caught:
        load_target(path)
    message = str(caught.value)
    assert "reference.proxies.cliet-edge.edge-us" in message
    assert "unknown link 'cliet-edge.edge-us'" in message
    # The known names are listed: every link of the topology, or every link kind.
    assert "client-edge.edge-us" in message if topology else "client-edge" in message
    assert "dc-kv" in message


def test_a_link_of_another_topology_is_unknown_to_this_one(tmp_path: Path) -> None:
    path = _with_proxies(tmp_path, '"edge-dc.edge-mars.dc-us" = "x"', topology=True)
    with pytest.raises(TargetFileError, match=re.escape("edge-dc.edge-mars.dc-us")):
        load_target(path)


def test_known_links_in_reference_proxies_load(tmp_path: Path) -> None:
    proxies = '"client-edge.edge-us" = "a", "dc-kv.dc-eu" = "b"'
    target = load_target(_with_proxies(tmp_path, proxies, topology=True))
    assert target.reference is not None
    assert dict(target.reference.proxies) == {"client-edge.edge-us": "a", "dc-kv.dc-eu": "b"}


def test_edges_written_as_a_table_name_each_edge(tmp_path: Path) -> None:  # TGT-7
    path = _write(
        tmp_path,
        """
        [target]
        name = "named-edges"
        [endpoints]
        gateway = "ws://127.0.0.1:8443/v1/signaling"
        edges = { "edge-us" = "127.10.1.1:3478", "edge-eu" = "127.10.2.1:3478" }
        """,
    )

    target = load_target(path)

    us, eu = HostPort("127.10.1.1", 3478), HostPort("127.10.2.1", 3478)
    assert target.endpoints.edges == (us, eu)
    assert dict(target.endpoints.edge_names) == {us: "edge-us", eu: "edge-eu"}
    again = _write(tmp_path, target.to_toml())
    assert load_target(again).endpoints.edge_names == target.endpoints.edge_names


@pytest.mark.requirements("TGT-9")
def test_global_endpoint_without_a_port_means_the_stun_port(tmp_path: Path) -> None:
    def port(global_endpoint: str) -> int:
        text = FULL.replace('"media.ullc.test"', f'"{global_endpoint}"')
        return load_target(_write(tmp_path, text)).endpoints.global_port

    assert port("media.ullc.test") == port("media.ullc.test:3478") == DEFAULT_STUN_PORT == 3478
    assert port("media.ullc.test:5000") == 5000
