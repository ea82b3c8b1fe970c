"""The ``ullc`` pytest plugin (entry point ``pytest11``).

Thin on purpose: options, markers and fixtures that call library code, which
works without pytest too. Disable with ``-p no:ullc``.
"""

from __future__ import annotations

import pytest

MARKERS = {
    "happy_path": "ULLC happy path: connect under budget (specs/ SIG, STUN, ROUTE)",
    "fallback": "wrong-DC calls recover through the signaling response (specs/ FB)",
    "chaos": "faults injected on links and components while calls run",
    "conformance": "strict STUN/SDP/signaling conformance of the target",
    "fuzz": "Hypothesis-driven fuzzing of the target",
    "slow": "long soak or deep runs; deselect with -m 'not slow'",
    "docker": "needs a Docker daemon (docker backend)",
    "requires_capability(name, ...): skip unless the target declares these capabilities": "",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}" if text else name)
