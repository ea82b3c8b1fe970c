"""Run statistics: :class:`CallStats` and :func:`run_calls` (defined in :mod:`harness.client`).

A stable import path for the pytest plugin and the benchmark.
"""

from harness.client.runner import Progress, run_calls
from harness.client.stats import CallStats, nearest_rank

__all__ = ["CallStats", "Progress", "nearest_rank", "run_calls"]
