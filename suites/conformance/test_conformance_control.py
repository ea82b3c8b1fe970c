"""The control API and the latency maps it loads (CTL-1..3, CTL-6, ROUTE-2..7).

Maps go to the gateway and to every edge through ``[control]``; each test puts the
originals back. A map that fails validation, or names a DC the component does not know,
is refused with 400 and the old map stays (ROUTE-4); maps with latency ties route to the
smallest DC id on both sides, so the bet still hits (ROUTE-3, ROUTE-7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.fixtures.calls import CallRunner
from harness.fixtures.control import get_map, health, put_map, put_map_status
from harness.fixtures.target_session import RunningTarget
from harness.routing import LatencyMap

pytestmark = [pytest.mark.conformance, pytest.mark.requires_capability("latency_map_control")]

CALLS = 4
UNKNOWN_DC = "dc-ullc-harness-nowhere"


@pytest.fixture
def routing(ullc_target: RunningTarget) -> Iterator[dict[str, str]]:
    """Routing component -> control URL; every map changed through it is restored after."""
    control = ullc_target.declared.control
    if control.gateway is None or not control.edges:
        pytest.skip("declare [control].gateway and [control].edges (CTL-1..3) to run this")
    urls = {"gateway": control.gateway, **dict(control.edges)}
    originals = {name: get_map(url) for name, url in urls.items()}
    yield urls
    for name, url in urls.items():
        put_map(url, originals[name])


def _dcs(target: RunningTarget) -> list[str]:
    dcs = sorted(target.declared.control.dcs)
    if len(dcs) < 2:
        pytest.skip("declare at least two DCs in [control].dcs: ties need two to choose from")
    return dcs


@pytest.mark.requirements("CTL-1", "CTL-2", "CTL-6", "ROUTE-2", "ROUTE-6")
def test_health_and_map_agree_and_a_map_read_is_accepted_back(
    routing: dict[str, str],
) -> None:
    for name, url in routing.items():
        status = health(url)
        assert status.get("status") == "ok", (name, status)
        assert status.get("role") == ("gateway" if name == "gateway" else "edge"), (name, status)
        current = get_map(url)
        LatencyMap.from_json(current, source=f"GET {url}/control/latency-map")  # ROUTE-2
        assert status.get("map_version") == current["version"], (name, status, current)
        # CTL-6: what GET returns, PUT accepts unchanged, and the version stays.
        assert put_map(url, current) == current["version"], name
        assert get_map(url) == current, name


def _invalid_maps(base: dict[str, Any]) -> dict[str, Any]:
    edge = next(iter(base["edges"]), "127.0.0.1")
    some_dc = base["default_dc"]
    return {
        "no-default-dc": {"version": "bad-1", "edges": base["edges"]},
        "edge-key-not-an-ip": {
            "version": "bad-2",
            "default_dc": some_dc,
            "edges": {"edge.example": {some_dc: 1}},
        },
        "latency-not-a-number": {
            "version": "bad-3",
            "default_dc": some_dc,
            "edges": {edge: {some_dc: "fast"}},
        },
        "not-an-object": ["version", "bad-4"],
        "unknown-dc-in-edges": {
            "version": "bad-5",
            "default_dc": some_dc,
            "edges": {edge: {UNKNOWN_DC: 1}},
        },
        "unknown-default-dc": {"version": "bad-6", "default_dc": UNKNOWN_DC, "edges": {}},
    }


@pytest.mark.requirements("ROUTE-4", "CTL-3", "ROUTE-5")
def test_invalid_maps_are_refused_with_400_and_the_old_map_stays(
    routing: dict[str, str], ullc_calls: CallRunner
) -> None:
    for name, url in routing.items():
        before = get_map(url)
        for label, body in _invalid_maps(before).items():
            status, answer = put_map_status(url, body)
            assert status == 400, f"ROUTE-4/CTL-3: {name} answered {status} to {label}: {answer}"
            assert isinstance(answer, dict), answer
            assert answer.get("status") == 400, answer
            assert answer.get("error"), answer
            assert get_map(url) == before, f"ROUTE-4: {name} changed its map after {label}"
    # And the kept maps still route every call to where its session lives.
    batch = ullc_calls.run(CALLS)
    assert batch.stats.failed == 0, dict(batch.stats.failures)
    assert batch.stats.hit_rate == 1.0, [(r.dc, r.edge) for r in batch.results]


def _tie_map(base: dict[str, Any], latencies: dict[str, float], version: str) -> dict[str, Any]:
    # Listed largest DC id first: a tie broken by insertion order picks the wrong one.
    ordered = dict(sorted(latencies.items(), reverse=True))
    return {
        "version": version,
        "default_dc": max(latencies),
        "edges": {edge: dict(ordered) for edge in base["edges"]},
    }


def _tie_cases(dcs: list[str]) -> list[tuple[str, dict[str, float], str]]:
    """(label, per-edge latencies, the DC ROUTE-3 picks)."""
    smallest, *rest = dcs
    cases = [("all-equal", dict.fromkeys(dcs, 40.0), smallest)]
    if len(rest) >= 2:
        # A tie between two DCs that are not the smallest id; the smallest is slower.
        tied = {smallest: 90.0} | dict.fromkeys(rest, 40.0)
        cases.append(("tie-among-the-larger", tied, rest[0]))
    return cases


@pytest.mark.requirements("ROUTE-3", "ROUTE-1", "ROUTE-7", "CTL-3", "ROUTE-6", "CTL-1")
def test_maps_with_latency_ties_route_both_sides_to_the_smallest_dc_id(
    ullc_target: RunningTarget, routing: dict[str, str], ullc_calls: CallRunner
) -> None:
    dcs = _dcs(ullc_target)
    base = get_map(routing["gateway"])
    for label, latencies, expected in _tie_cases(dcs):
        version = f"ullc-harness-ties-{label}"
        for name, url in routing.items():
            assert put_map(url, _tie_map(base, latencies, version)) == version
            # ROUTE-6/CTL-1: health names the map in use, so a diverged pair can be seen.
            reported = health(url).get("map_version")
            assert reported == version, f"ROUTE-6: {name} health says {reported}, uses {version}"

        batch = ullc_calls.run(CALLS, label=f"ties: {label}")

        where = [(r.dc, r.map_version, r.fell_back) for r in batch.results]
        assert batch.stats.failed == 0, (label, dict(batch.stats.failures))
        assert {r.dc for r in batch.results} == {expected}, (label, where)
        assert {r.map_version for r in batch.results} == {version}, (label, where)
        assert batch.stats.hit_rate == 1.0, f"ROUTE-7: {label}: {where}"
