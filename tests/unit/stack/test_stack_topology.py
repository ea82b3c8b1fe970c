"""Topology files: the default world, and errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.stack.topology import (
    TopologyError,
    default_topology,
    default_topology_path,
    load_topology,
    relocate,
)


def _default_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(default_topology_path().read_text())
    return body


def _write(tmp_path: Path, body: Any) -> Path:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(body) if not isinstance(body, str) else body)
    return path


def test_default_world_has_three_regions_and_a_100_ms_floor() -> None:
    world = default_topology()
    assert len(world.regions) >= 3  # TOPO-5
    assert world.client_dc_rtt_ms() == pytest.approx(100.0)  # TOPO-4 / DESIGN §9
    for region in world.regions:
        edge = world.nearest_edge(region.name)
        assert world.true_route(edge) in region.dcs
        signaling = world.latency.client_gateway + world.latency.gateway_dc[region.dcs[0]]
        media = world.latency.client_edge[edge] + world.latency.edge_dc[edge][region.dcs[0]]
        assert signaling == pytest.approx(media)


def test_round_trip_through_json_is_lossless() -> None:
    world = default_topology()
    from harness.stack.topology import parse_topology

    assert parse_topology(world.to_json()).to_json() == world.to_json()


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda b: b.pop("regions"), "(root)", "'regions' is a required property"),
        (lambda b: b.update(default_dc="dc-mars"), "default_dc", "dc-mars"),
        (lambda b: b.update(client_region="moon"), "client_region", "moon"),
        (
            lambda b: b["latency_ms"]["client_edge"].pop("edge-eu"),
            "latency_ms.client_edge",
            "edge-eu",
        ),
        (
            lambda b: b["latency_ms"]["edge_dc"]["edge-us"].update({"dc-x": 1}),
            "latency_ms.edge_dc.edge-us",
            "dc-x",
        ),
        (lambda b: b["latency_ms"].update(client_gateway=-1), "latency_ms.client_gateway", "-1"),
        (lambda b: b.update(network="10.0.0.0/8"), "network", "does not match"),
        (lambda b: b["regions"].append(b["regions"][0]), "regions", "used twice"),
        (lambda b: b["latency_maps"].update(true={}), "latency_maps.true", "generated"),
        (lambda b: b.update(colour="blue"), "(root)", "colour"),
    ],
)
def test_errors_name_the_file_and_the_field(
    tmp_path: Path, mutate: Any, field: str, words: str
) -> None:
    body = _default_body()
    mutate(body)
    path = _write(tmp_path, body)
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    message = str(caught.value)
    assert str(path) in message
    assert f": {field}: " in message
    assert words in message
    assert "Hint:" in message


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read topology file"):
        load_topology(tmp_path / "missing.json")
    with pytest.raises(TopologyError, match="is not JSON"):
        load_topology(_write(tmp_path, "{nope"))


def test_relocate_only_into_a_loopback_16() -> None:
    world = relocate(default_topology(), "127.99.0.0/16")
    assert world.network == "127.99.0.0/16"
    for bad in ("127.99.0.0/24", "10.1.0.0/16", "nonsense"):
        with pytest.raises((TopologyError, ValueError)):
            relocate(world, bad)
