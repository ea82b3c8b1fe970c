"""Hypothesis settings profiles of the fuzz suites, selectable with ``--hypothesis-profile``.

``ullc-fuzz`` is the suites' default (few examples); ``ullc-deep`` is the deeper run
CI executes under the ``slow`` marker. The pytest plugin imports this module when it
loads, before Hypothesis reads ``--hypothesis-profile``, so both names always resolve.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FUZZ_PROFILE = "ullc-fuzz"
DEEP_PROFILE = "ullc-deep"

# deadline: a call takes a network round trip, timing is the suites' business;
# database: replay comes from the run's seed, not from a local example database.
_BASE = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)
settings.register_profile(FUZZ_PROFILE, _BASE, max_examples=8, stateful_step_count=10)
settings.register_profile(DEEP_PROFILE, _BASE, max_examples=200, stateful_step_count=20)
