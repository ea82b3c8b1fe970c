"""The latency map and the routing function gateway and edge share (specs/routing.md)."""

from harness.routing.latency_map import LatencyMap, LatencyMapError, route

__all__ = ["LatencyMap", "LatencyMapError", "route"]
