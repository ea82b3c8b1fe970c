"""A pytest plugin that writes every collected suite test's cited requirement IDs as JSON.

Loaded with ``-p harness.spec_coverage.collector`` into a ``--collect-only`` run of the
installed suites (:mod:`harness.spec_coverage.citations`). Collection, not a static read
of the source: the STUN conformance rows build their ``requirements`` marks at import time
from a table, which only the running module knows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OUTPUT_ENV = "ULLC_COVERAGE_CITATIONS"
"""Where the JSON goes: ``{node id: [requirement ID, ...]}``."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: before any -m/-k deselection, so a `slow` test's citations count too.
    output = os.environ.get(OUTPUT_ENV)
    if not output:
        return
    cited = {
        item.nodeid: sorted(
            {str(i) for mark in item.iter_markers("requirements") for i in mark.args}
        )
        for item in items
    }
    Path(output).write_text(json.dumps(cited, indent=1, sort_keys=True), encoding="utf-8")
