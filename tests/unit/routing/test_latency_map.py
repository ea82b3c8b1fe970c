"""ROUTE-2..4: map validation and the deterministic routing function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.routing import LatencyMap, LatencyMapError

MAP = {
    "version": "v1",
    "default_dc": "dc-us",
    "edges": {
        "127.10.1.1": {"dc-us": 5, "dc-eu": 40},
        "127.10.2.1": {"dc-us": 40, "dc-eu": 5},
        "::1": {"dc-us": 1},
    },
}


def test_route_picks_lowest_latency_dc() -> None:  # ROUTE-3
    latency_map = LatencyMap.from_json(MAP)
    assert latency_map.route("127.10.1.1") == "dc-us"
    assert latency_map.route("127.10.2.1") == "dc-eu"


def test_unknown_or_unparseable_edge_routes_to_default_dc() -> None:  # ROUTE-3 step 1
    latency_map = LatencyMap.from_json(MAP)
    assert latency_map.route("127.99.0.1") == "dc-us"
    assert latency_map.route("not-an-ip") == "dc-us"


def test_remembered_routes_are_per_map_version() -> None:  # ROUTE-5
    first = LatencyMap.from_json(MAP)
    second = LatencyMap.from_json({**MAP, "version": "v2", "edges": {"127.10.1.1": {"dc-eu": 1}}})
    for _ in range(2):  # the second round answers from each map's own memory
        assert first.route("127.10.1.1") == "dc-us"
        assert second.route("127.10.1.1") == "dc-eu"
        assert first.route("0127.10.1.1") == first.default_dc  # not an IP: still the default
    assert first == LatencyMap.from_json(MAP)  # the memory is not part of the value


def test_edge_ip_is_canonicalised() -> None:  # ROUTE-2
    body = {**MAP, "edges": {"0:0:0:0:0:0:0:1": {"dc-eu": 1}}}
    assert LatencyMap.from_json(body).route("::1") == "dc-eu"


@given(
    dcs=st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=2, max_size=6, unique=True)
)
def test_ties_break_to_smallest_dc_whatever_the_order(dcs: list[str]) -> None:  # ROUTE-3 step 3
    forward = LatencyMap.from_json(
        {"version": "t", "default_dc": dcs[0], "edges": {"10.0.0.1": dict.fromkeys(dcs, 7)}}
    )
    backward = LatencyMap.from_json(
        {"version": "t", "default_dc": dcs[0], "edges": {"10.0.0.1": dict.fromkeys(dcs[::-1], 7)}}
    )
    assert forward.route("10.0.0.1") == backward.route("10.0.0.1") == min(dcs)


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ({"version": ""}, "version"),
        ({"default_dc": None}, "default_dc"),
        ({"edges": {"127.0.0.1": {"dc-us": -1}}}, "edges"),
        ({"extra": 1}, "(root)"),
    ],
)
def test_invalid_map_is_refused_naming_the_field(mutation: dict[str, object], field: str) -> None:
    with pytest.raises(LatencyMapError) as caught:  # ROUTE-4
        LatencyMap.from_json({**MAP, **mutation}, source="m.json")
    assert "m.json" in str(caught.value)
    assert field in str(caught.value)


def test_edge_key_must_be_an_ip() -> None:
    with pytest.raises(LatencyMapError, match="edge-us"):
        LatencyMap.from_json({**MAP, "edges": {"edge-us": {"dc-us": 1}}})


def test_load_round_trips_and_reports_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "v1.json"
    good.write_text(json.dumps(LatencyMap.from_json(MAP).to_json()))
    assert LatencyMap.load(good) == LatencyMap.from_json(MAP)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(LatencyMapError, match="not JSON"):
        LatencyMap.load(broken)
    with pytest.raises(LatencyMapError, match="cannot read"):
        LatencyMap.load(tmp_path / "missing.json")
